import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { RedisService, type RedisClient, type Subscription } from '@gateway/redis';
import { Clock } from './clock';
import { type AccountTrouble, type BreakerState, DeploymentHealth, type HealthChange } from './deployment-health';
import { fingerprintedDeployments } from './deployment-fingerprint';

const CHANNEL = 'gateway:breakers';
/** One hash tag for every breaker key, so loading them all is one MGET on Redis Cluster too. Then a deployment's fingerprint. */
const KEY_PREFIX = '{gateway:breakers}:';

/**
 * By fingerprint, not by `id` as replicas before it announced: each side ignores the other's, so during a
 * rolling upgrade from them the two kinds of replica do not share breakers (README, Routing).
 */
type Announcement = HealthChange & { fingerprint: string; from: string };

/**
 * The health of every deployment. Counting happens in process; breaker changes and
 * new cool-downs are shared through Redis when it is configured (pub/sub for live
 * replicas, a key with a TTL for open breakers so replicas that start later see
 * them), so when one replica opens a breaker or hits a rate limit the others stop
 * sending to that deployment too. No Redis call sits on the request path.
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
      health = new DeploymentHealth(this.config.router.breaker, (change) => this.changed(id, change));
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
  }

  async onApplicationShutdown(): Promise<void> {
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
    Promise.all([write, client.publish(CHANNEL, JSON.stringify(announcement))]).catch(() => undefined);
  }

  private receive(message: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(message);
    } catch {
      return;
    }
    // A fingerprint this config does not have: none of its deployments (and no gauge series for it).
    const ids = a.from === this.replica || typeof a.until !== 'number' ? undefined : this.idsOf.get(a.fingerprint);
    let change: HealthChange | undefined;
    if (a.state === 'cooling') change = { state: a.state, until: a.until, limited: a.limited !== false, trouble: troubleIn(a.trouble) };
    else if (a.state === 'open' || a.state === 'closed') change = { state: a.state, until: a.until };
    if (change) for (const id of ids ?? []) this.applyRemote(id, change);
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
