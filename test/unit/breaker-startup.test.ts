import 'reflect-metadata';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { parseConfig } from '@gateway/config';
import { MetricsService } from '../../libs/metrics/src/metrics.service';
import { RedisService } from '../../libs/redis/src/redis.service';
import { BreakerRegistry } from '../../libs/router/src/breaker-registry';
import { Clock } from '../../libs/router/src/clock';
import { deploymentFingerprint } from '../../libs/router/src/deployment-fingerprint';

const REDIS_URL = process.env.TEST_REDIS_URL;

describe('breakers shared before start-up', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const model = `startup-${process.pid}`;
  const config = parseConfig(
    { providers: [{ name: 'mock', type: 'mock' }], models: [{ name: model, deployments: [{ provider: 'mock', model }] }] },
    { REDIS_URL: REDIS_URL! },
  );
  const id = `${model}/0`;
  const key = `{gateway:breakers}:${deploymentFingerprint(config.providers[0], model)}`;
  const other = new Redis(REDIS_URL!);
  const redis = new RedisService(config);
  const registry = new BreakerRegistry(config, redis, new MetricsService(), new Clock());
  after(async () => {
    await other.del(key);
    other.disconnect();
    await registry.onApplicationShutdown();
    await redis.onApplicationShutdown();
  });

  // A busy CI machine timed out the one MGET that loads open breakers; the replica
  // then ignored a breaker another replica had opened for as long as it lived.
  it('loads an open breaker even when the first load fails', async () => {
    await other.set(key, String(Date.now() + 60_000), 'PX', 60_000);
    const client = redis.client!;
    if (client.status !== 'ready') await once(client, 'ready');
    const mget = client.mget.bind(client) as (...keys: string[]) => Promise<(string | null)[]>;
    let calls = 0;
    client.mget = ((...keys: string[]) =>
      ++calls === 1 ? Promise.reject(new Error('Command timed out')) : mget(...keys)) as typeof client.mget;
    await registry.onModuleInit();
    for (let waited = 0; registry.get(id).state !== 'open' && waited < 10_000; waited += 100) await sleep(100);
    assert.equal(registry.get(id).state, 'open');
    assert.ok(calls >= 2, `MGET ran ${calls} time(s)`);
  });
});
