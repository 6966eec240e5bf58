import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '@gateway/metrics';
import { type Eviction, evictionRisk, RedisService } from '@gateway/redis';

/** How often Redis' eviction policy and evicted keys are read (one INFO call per master). */
const CHECK_EVERY_MS = 10_000;
const CHECK_TIMEOUT_MS = 1_000;

/**
 * Watches what Redis evicts (redis33 D2). At maxmemory a policy other than `noeviction` makes room by removing keys,
 * and no command the gateway sends fails: rate windows, holds and spend (and under `allkeys-*` admin-created keys and
 * the data marker) went silently, a key's RPM lifted with no counter or log. So a node with a maxmemory and such a
 * policy is warned of (at start-up, and again whenever its policy changes or a maxmemory is set), its evicted_keys is the gauge
 * gateway_redis_evicted_keys, and each rise is warned of.
 */
@Injectable()
export class RedisEvictionWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** Each node's state last read, by address. */
  private readonly seen = new Map<string, Eviction>();
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.redis.client) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const states = await this.redis.evictions(CHECK_TIMEOUT_MS);
      for (const [node, state] of states) this.compare(node, state);
      if (states.length) this.metrics.setRedisEvictedKeys([...this.seen.values()].reduce((sum, s) => sum + s.evictedKeys, 0));
    } finally {
      this.checking = false;
    }
  }

  private compare(node: string, now: Eviction): void {
    const before = this.seen.get(node);
    this.seen.set(node, now);
    const risk = now.maxmemory > 0 ? evictionRisk(now.policy) : undefined;
    // Warned of when the risk appears: the policy changed, or a maxmemory set on a Redis that had none (recheck33b D2).
    const known = before && before.maxmemory > 0 && before.policy === now.policy;
    if (risk && !known) {
      this.logger.warn(
        `Redis ${node} has maxmemory-policy ${now.policy}: at maxmemory it evicts ${risk}. Use noeviction (README: Redis memory and eviction).`,
      );
    }
    // Counted again from zero when Redis restarted.
    const evicted = before && now.evictedKeys >= before.evictedKeys ? now.evictedKeys - before.evictedKeys : now.evictedKeys;
    if (evicted > 0) {
      const which = evictionRisk(now.policy);
      this.logger.warn(
        `Redis ${node} evicted ${evicted} keys ${before ? 'since the last check' : 'since it started'} under maxmemory-policy ` +
          `${now.policy}${which ? `, which evicts ${which}` : ''}.`,
      );
    }
  }
}
