import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { RedisService, type RedisClient } from '@gateway/redis';
import { type BreakerState, CircuitBreaker } from './circuit-breaker';
import { deploymentId } from './model-catalog';

const CHANNEL = 'gateway:breakers';
const KEY_PREFIX = 'gateway:breaker:';

interface Announcement {
  id: string;
  state: BreakerState;
  until: number;
  from: string;
}

/**
 * The breakers of every deployment. Counting happens in process; state changes
 * are shared through Redis when it is configured (pub/sub for live replicas, a
 * key with a TTL for replicas that start later), so when one replica opens a
 * breaker the others stop sending to that deployment too. No Redis call sits on
 * the request path.
 */
@Injectable()
export class BreakerRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly logger = new Logger('Breakers');
  private readonly replica = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private subscriber: RedisClient | undefined;

  constructor(
    private readonly config: GatewayConfig,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  get(id: string): CircuitBreaker {
    let breaker = this.breakers.get(id);
    if (!breaker) {
      breaker = new CircuitBreaker(this.config.router.breaker, (state, until) => this.changed(id, state, until));
      this.breakers.set(id, breaker);
    }
    return breaker;
  }

  async onModuleInit(): Promise<void> {
    const client = this.redis.client;
    if (!client) return;
    // Start-up does not wait for Redis: the gateway serves without it and catches up.
    this.subscriber = this.redis.subscribe(CHANNEL, (message) => this.receive(message));
    this.redis.whenReady(client, () => this.loadShared(client));
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscriber?.disconnect();
  }

  private changed(id: string, state: BreakerState, until: number): void {
    this.metrics.setBreakerState(id, state);
    if (state !== 'half-open')
      this.logger.log(`deployment ${id}: breaker ${state}${until ? ` until ${new Date(until).toISOString()}` : ''}`);
    const client = this.redis.client;
    if (!client || client.status !== 'ready' || state === 'half-open') return;
    const announcement: Announcement = { id, state, until, from: this.replica };
    const key = KEY_PREFIX + id;
    const ttl = Math.max(1, until - Date.now());
    const write = state === 'open' ? client.set(key, String(until), 'PX', ttl) : client.del(key);
    Promise.all([write, client.publish(CHANNEL, JSON.stringify(announcement))]).catch(() => undefined);
  }

  private receive(message: string): void {
    let a: Announcement;
    try {
      a = JSON.parse(message);
    } catch {
      return;
    }
    if (a.from === this.replica || typeof a.id !== 'string') return;
    this.applyRemote(a.id, a.state, a.until);
  }

  private applyRemote(id: string, state: BreakerState, until: number): void {
    this.get(id).apply(state, until);
    this.metrics.setBreakerState(id, state);
  }

  /** Breakers opened by other replicas before this one started. */
  private async loadShared(client: RedisClient): Promise<void> {
    const ids = this.config.models.flatMap((m) => m.deployments.map((_, i) => deploymentId(m.name, i)));
    if (!ids.length) return;
    const values = await client.mget(ids.map((id) => KEY_PREFIX + id));
    values.forEach((value, i) => {
      const until = Number(value);
      if (value && until > Date.now()) this.applyRemote(ids[i], 'open', until);
    });
  }
}
