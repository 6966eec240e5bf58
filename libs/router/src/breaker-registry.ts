import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { RedisService, type RedisClient, type Subscription } from '@gateway/redis';
import { Clock } from './clock';
import { type AccountTrouble, type BreakerState, DeploymentHealth, type HealthChange } from './deployment-health';
import { deploymentId } from './model-catalog';

const CHANNEL = 'gateway:breakers';
/** One hash tag for every breaker key, so loading them all is one MGET on Redis Cluster too. */
const KEY_PREFIX = '{gateway:breakers}:';

type Announcement = HealthChange & { id: string; from: string };

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
    this.get(id).applyRemote(change);
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
    const client = this.redis.client;
    // Not connected yet: a breaker still open when it connects is shared then (loadShared).
    if (client?.status === 'ready') this.share(client, id, change);
  }

  private share(client: RedisClient, id: string, change: HealthChange): void {
    const { state, until } = change;
    const announcement: Announcement = { ...change, id, from: this.replica };
    const key = KEY_PREFIX + id;
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
    if (a.from === this.replica || typeof a.id !== 'string' || typeof a.until !== 'number') return;
    if (a.state === 'cooling')
      this.applyRemote(a.id, { state: a.state, until: a.until, limited: a.limited !== false, trouble: troubleIn(a.trouble) });
    else if (a.state === 'open' || a.state === 'closed') this.applyRemote(a.id, { state: a.state, until: a.until });
  }

  /** On connecting: breakers this replica opened before Redis answered go out, those other replicas opened come in. */
  private async loadShared(client: RedisClient): Promise<void> {
    const now = Date.now();
    for (const [id, health] of this.breakers) {
      if (health.state === 'open' && health.openUntil > now) this.share(client, id, { state: 'open', until: health.openUntil });
    }
    const ids = this.config.models.flatMap((m) => m.deployments.map((_, i) => deploymentId(m.name, i)));
    if (!ids.length) return;
    const values = await client.mget(ids.map((id) => KEY_PREFIX + id));
    values.forEach((value, i) => {
      const until = Number(value);
      if (value && until > Date.now()) this.applyRemote(ids[i], { state: 'open', until });
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
