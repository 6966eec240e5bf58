import 'reflect-metadata';
import { once } from 'node:events';
import { parseConfig } from '@gateway/config';
import { MetricsService } from '../../libs/metrics/src/metrics.service';
import { RedisService } from '../../libs/redis/src/redis.service';
import { KeyStore } from '../../libs/security/src/key-store.service';

/** A KeyStore on the Redis at `url`, as a replica runs it (`security`: that section of its config); start() before use. */
export function keyStoreOn(url: string, security: Record<string, unknown> = {}) {
  const config = parseConfig(
    { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }], security },
    { REDIS_URL: url },
  );
  const redis = new RedisService(config);
  const store = new KeyStore(config, redis, new MetricsService());
  return {
    redis,
    store,
    /** Connected, and subscribed to key changes. */
    async start(): Promise<void> {
      if (redis.client!.status !== 'ready') await once(redis.client!, 'ready');
      store.onModuleInit();
    },
    async stop(): Promise<void> {
      store.onApplicationShutdown();
      await redis.onApplicationShutdown();
    },
  };
}
