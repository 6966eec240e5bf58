import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { BREAKER_KEY_PREFIX, RedisService, type RedisClient, type Subscription } from '@gateway/redis';
import { Clock } from './clock';
import { type AccountTrouble, type BreakerState, DeploymentHealth, type HealthChange, type ServedReport } from './deployment-health';
import { fingerprintedDeployments } from './deployment-fingerprint';

const CHANNEL = 'gateway:breakers';
/** One hash tag for every breaker key, so loading them all is one MGET on Redis Cluster too. Then a deployment's fingerprint. */
const KEY_PREFIX = BREAKER_KEY_PREFIX;

/** How often a replica reports what it saw of each deployment it used (a timer's, off the request path). */
const REPORT_EVERY_MS = 1_000;
/**
 * How long a replica about to open a breaker waits for the others' reports: they answer within
 * a round trip; a replica of an older version never does (it ignores the question), and then this bounds the wait.
 */
const ASK_MS = 250;

/**
 * What a replica saw of a deployment (DeploymentHealth's ServedReport; `startedAt` null: nothing served yet), every
 * REPORT_EVERY_MS or when asked (`to`, `ask`: the question it answers).
 */
interface Served {
  state: 'served';
  startedAt: number | null;
  answered: number;
  failed: number;
  to?: string;
  ask?: number;
}

/** A replica about to open the deployment's breaker asks the others for their reports (Served) first. */
interface Asked {
  state: 'asked';
  ask: number;
}

/**
 * By fingerprint, not by `id` as replicas before it announced: each side ignores the other's, so during a
 * rolling upgrade from them the two kinds of replica do not share breakers (README, Routing). Replicas from before
 * `served` and `asked` ignore those messages, as they ignore any state they do not know.
 */
type Announcement = (HealthChange | Served | Asked) & { fingerprint: string; from: string };

/**
 * The health of every deployment. Counting happens in process; breaker changes and
 * new cool-downs are shared through Redis when it is configured (pub/sub for live
 * replicas, a key with a TTL for open breakers so replicas that start later see
 * them), so when one replica opens a breaker or hits a rate limit the others stop
 * sending to that deployment too. What each replica saw of a deployment (answers, failures, the latest answer's
 * start) is reported once a second, and on request by a replica about to open its breaker:
 * so another replica's answer excuses a timeout or 5xx here as this replica's own would, and the failure rate counts
 * every replica's outcomes (DeploymentHealth). No Redis call sits on the request path.
 */
@Injectable()
export class BreakerRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly breakers = new Map<string, DeploymentHealth>();
  /** Deployment id -> its fingerprint (deployment-fingerprint.ts), the key of its health in Redis. */
  private readonly fingerprints = new Map<string, string>();
  /** Fingerprint -> the ids of this config's deployments that share it (and so share their health). */
  private readonly idsOf = new Map<string, string[]>();
  private readonly logger = new Logger('Breakers');
  private readonly replica = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private subscriber: Subscription | undefined;
  private reporter: NodeJS.Timeout | undefined;
  /** This replica's questions (Asked) awaiting answers, by number: each is told who answered. */
  private readonly asking = new Map<number, (from: string) => void>();
  private asks = 0;
  /** Questions answered lately (`from:ask`): on a Redis Cluster a question arrives once per node. */
  private readonly answered = new Set<string>();
  /**
   * Other replicas subscribed, as this replica's latest PUBLISH on a single Redis counted them (unknown at first, and
   * on a cluster, whose nodes count only their own): with none, a breaker opens with no question asked.
   */
  private others = Infinity;
  /**
   * Counts every change of a deployment's health that can take it out of a plan (a breaker opening, a
   * cool-down starting, here or announced by another replica): a plan made at one count still holds
   * for a healthy group until the next (RouterService reuses it).
   */
  private changes = 0;

  constructor(
    private readonly config: GatewayConfig,
    private readonly redis: RedisService,
    metrics: MetricsService,
    private readonly clock: Clock,
  ) {
    metrics.readBreakerStates(() => this.states());
    for (const { id, fingerprint } of fingerprintedDeployments(config)) {
      this.fingerprints.set(id, fingerprint);
      this.idsOf.set(fingerprint, [...(this.idsOf.get(fingerprint) ?? []), id]);
    }
  }

  get(id: string): DeploymentHealth {
    let health = this.breakers.get(id);
    if (!health) {
      health = new DeploymentHealth(
        this.config.router.breaker,
        (change) => this.changed(id, change),
        (heard) => this.ask(id, heard),
      );
      this.breakers.set(id, health);
    }
    return health;
  }

  /** The count of health changes so far (see `changes`). */
  get generation(): number {
    return this.changes;
  }

  /**
   * Whether every one of `deployments` is closed and not cooling down as of `now`: it stays so, as
   * time passes, until a change of its health (which moves `generation` on).
   */
  allHealthy(deployments: readonly { id: string }[], now: number): boolean {
    return deployments.every((d) => {
      const health = this.get(d.id);
      return health.state === 'closed' && health.readyAt(now) === now;
    });
  }

  /** How long a request may wait for a cooling deployment rather than fail. */
  get waitCapMs(): number {
    return this.config.router.retry.retryAfterCapMs;
  }

  /** Every deployment's breaker state now, read at scrape time: a cool-down ends with no event to report it. */
  private *states(): Iterable<[string, BreakerState]> {
    const now = this.clock.now();
    for (const [id, health] of this.breakers) yield [id, health.stateAt(now)];
  }

  /** A change announced by another replica (public for tests that play one). */
  applyRemote(id: string, change: HealthChange): void {
    this.changes++;
    this.get(id).applyRemote(change, this.clock.now());
  }

  async onModuleInit(): Promise<void> {
    const client = this.redis.client;
    if (!client) return;
    // Start-up does not wait for Redis: the gateway serves without it and catches up, on subscribing and again
    // on each re-subscription (breakers opened while the subscriber was away were not heard of; cool-downs
    // announced then stay unknown here, as they are not stored).
    this.subscriber = this.redis.subscribe(CHANNEL, {
      onMessage: (message) => this.receive(message),
      onSubscribed: () => this.redis.whenReady(client, () => this.loadShared(client)),
    });
    // Read at start too, not only on subscribing: a Redis whose ACL refuses SUBSCRIBE still shares its breakers.
    this.redis.whenReady(client, () => this.loadShared(client));
    this.reporter = setInterval(() => this.report(client), REPORT_EVERY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reporter);
    this.subscriber?.close();
  }

  private changed(id: string, change: HealthChange): void {
    this.changes++;
    const { state, until } = change;
    if (state !== 'cooling') this.logger.log(`deployment ${id}: breaker ${state}${until ? ` until ${new Date(until).toISOString()}` : ''}`);
    const fingerprint = this.fingerprints.get(id);
    if (!fingerprint) return;
    // The same upstream model on the same account elsewhere in the config: the same health here too.
    for (const other of this.idsOf.get(fingerprint)!) if (other !== id) this.get(other).applyRemote(change, this.clock.now());
    const client = this.redis.client;
    // Not connected yet: a breaker still open when it connects is shared then (loadShared).
    if (client?.status === 'ready') this.share(client, fingerprint, change);
  }

  private share(client: RedisClient, fingerprint: string, change: HealthChange): void {
    const { state, until } = change;
    const announcement: Announcement = { ...change, fingerprint, from: this.replica };
    const key = KEY_PREFIX + fingerprint;
    const ttl = Math.max(1, until - Date.now());
    const write = state === 'open' ? client.set(key, String(until), 'PX', ttl) : state === 'closed' ? client.del(key) : undefined;
    Promise.all([write, this.publishCounted(client, JSON.stringify(announcement))]).catch(() => undefined);
  }

  /** Every deployment's outcomes seen here since the last report go to the other replicas (lost while Redis is away). */
  private report(client: RedisClient): void {
    for (const fingerprint of this.idsOf.keys()) {
      const report = this.reportOf(fingerprint);
      if (report && client.status === 'ready') this.publish(client, fingerprint, report);
    }
  }

  /** What this replica saw of the deployment since it last reported (its ids together); undefined when nothing. */
  private reportOf(fingerprint: string): ServedReport | undefined {
    let merged: ServedReport | undefined;
    for (const id of this.idsOf.get(fingerprint)!) {
      const report = this.breakers.get(id)?.takeReport();
      if (!report) continue;
      merged = {
        servedStartedAt: Math.max(merged?.servedStartedAt ?? -Infinity, report.servedStartedAt),
        answered: (merged?.answered ?? 0) + report.answered,
        failed: (merged?.failed ?? 0) + report.failed,
      };
    }
    return merged;
  }

  private publish(client: RedisClient, fingerprint: string, report: ServedReport, answering?: Asked & { from: string }): void {
    const { servedStartedAt, answered, failed } = report;
    const startedAt = servedStartedAt > -Infinity ? servedStartedAt : null;
    const served: Served = { state: 'served', startedAt, answered, failed, ...(answering && { to: answering.from, ask: answering.ask }) };
    this.publishCounted(client, JSON.stringify({ ...served, fingerprint, from: this.replica })).catch(() => undefined);
  }

  /** PUBLISH on the channel, counting the other replicas it reached (`others`). */
  private async publishCounted(client: RedisClient, message: string): Promise<void> {
    const receivers = await client.publish(CHANNEL, message);
    if (this.redis.nodeCount() === 1) this.others = Math.max(0, receivers - (this.subscriber?.live ? 1 : 0));
  }

  /**
   * Before the deployment's breaker opens (DeploymentHealth's AskOthers): asks every replica for
   * its report, and calls `heard` once each has answered (PUBLISH counts the subscribers it reached), or ASK_MS on.
   * False when there is no one to ask or no way to hear them (no Redis, or this replica's subscriber down).
   */
  private ask(id: string, heard: (now: number) => void): boolean {
    const fingerprint = this.fingerprints.get(id);
    const client = this.redis.client;
    if (!fingerprint || client?.status !== 'ready' || !this.subscriber?.live || this.others === 0) return false;
    const ask = ++this.asks;
    const repliers = new Set<string>();
    let expected = Infinity;
    const done = () => {
      if (!this.asking.delete(ask)) return;
      cancel();
      heard(this.clock.now());
    };
    const cancel = this.clock.after(ASK_MS, done);
    this.asking.set(ask, (from) => {
      repliers.add(from);
      if (repliers.size >= expected) done();
    });
    const question: Asked = { state: 'asked', ask };
    this.redis.publishToAll(CHANNEL, JSON.stringify({ ...question, fingerprint, from: this.replica })).then(({ receivers }) => {
      // This replica's own subscriber is one of them.
      expected = receivers - 1;
      if (repliers.size >= expected) done();
    }, done);
    return true;
  }

  /** Another replica asks before opening a breaker: this replica's report, even an empty one (it counts who answered). */
  private answer(question: Asked & { from: string; fingerprint: string }): void {
    const client = this.redis.client;
    const seen = `${question.from}:${question.ask}`;
    if (this.answered.has(seen) || client?.status !== 'ready') return;
    this.answered.add(seen);
    setTimeout(() => this.answered.delete(seen), ASK_MS * 4).unref();
    // A deployment this config does not have (a rolling change of config): an empty report, so the asker waits for no one.
    const ids = this.idsOf.get(question.fingerprint) ?? [];
    const report = (ids.length ? this.reportOf(question.fingerprint) : undefined) ?? { servedStartedAt: -Infinity, answered: 0, failed: 0 };
    const health = ids.map((id) => this.breakers.get(id));
    report.servedStartedAt = Math.max(report.servedStartedAt, ...health.map((h) => h?.servedStartedAt ?? -Infinity));
    this.publish(client, question.fingerprint, report, question);
  }

  private receive(message: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(message);
    } catch {
      return;
    }
    if (a?.from === this.replica) return;
    if (a?.state === 'asked') return typeof a.ask === 'number' ? this.answer(a) : undefined;
    if (a?.state === 'served') return this.heard(a);
    // A fingerprint this config does not have: none of its deployments (and no gauge series for it).
    const ids = typeof a.until !== 'number' ? undefined : this.idsOf.get(a.fingerprint);
    let change: HealthChange | undefined;
    if (a.state === 'cooling') change = { state: a.state, until: a.until, limited: a.limited !== false, trouble: troubleIn(a.trouble) };
    else if (a.state === 'open' || a.state === 'closed') change = { state: a.state, until: a.until };
    if (change) for (const id of ids ?? []) this.applyRemote(id, change);
  }

  /** Another replica's report: into this replica's health of the deployment, then to the question it answers, if ours. */
  private heard(served: Served & { fingerprint: string; from: string }): void {
    const report = reportIn(served);
    if (!report) return;
    for (const id of this.idsOf.get(served.fingerprint) ?? []) this.get(id).heard(report, this.clock.now());
    if (served.to === this.replica && typeof served.ask === 'number') this.asking.get(served.ask)?.(served.from);
  }

  /** On connecting: breakers this replica opened before Redis answered go out, those other replicas opened come in. */
  private async loadShared(client: RedisClient): Promise<void> {
    const now = Date.now();
    for (const [id, health] of this.breakers) {
      const fingerprint = this.fingerprints.get(id);
      if (fingerprint && health.state === 'open' && health.openUntil > now)
        this.share(client, fingerprint, { state: 'open', until: health.openUntil });
    }
    const fingerprints = [...this.idsOf.keys()];
    if (!fingerprints.length) return;
    const values = await client.mget(fingerprints.map((f) => KEY_PREFIX + f));
    values.forEach((value, i) => {
      const until = Number(value);
      if (value && until > Date.now()) for (const id of this.idsOf.get(fingerprints[i])!) this.applyRemote(id, { state: 'open', until });
    });
  }
}

/** A report as this replica would have written it, else none. */
function reportIn(served: Partial<Served>): ServedReport | undefined {
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const startedAt = served.startedAt === null ? -Infinity : served.startedAt;
  // NaN and Infinity are no time: Infinity would excuse every failure to come.
  if (!(typeof startedAt === 'number' && startedAt < Infinity) || !count(served.answered) || !count(served.failed)) return undefined;
  return { servedStartedAt: startedAt, answered: served.answered!, failed: served.failed! };
}

/** An announcement's account trouble, when it is one as this replica would have written it (else none: the cool-down alone). */
function troubleIn(value: unknown): AccountTrouble | undefined {
  const t = value as Partial<AccountTrouble> | null | undefined;
  const fine =
    typeof t === 'object' &&
    t !== null &&
    typeof t.status === 'number' &&
    typeof t.message === 'string' &&
    typeof t.type === 'string' &&
    (t.code === null || typeof t.code === 'string') &&
    typeof t.upstreamStatus === 'number';
  return fine ? { status: t.status!, message: t.message!, type: t.type!, code: t.code!, upstreamStatus: t.upstreamStatus! } : undefined;
}
