import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@gateway/config';
import { CacheService } from '../../libs/cache/src/cache.service';
import { MetricsService } from '../../libs/metrics/src/metrics.service';
import { RedisService } from '../../libs/redis/src/redis.service';

// Found by an independent check (defect 6): `store` runs unawaited after the answer went out, and an answer of a
// shape no check foresaw (`"choices":[null]`) made it reject: an unhandled rejection, and the process exited.
describe('the cache storing an answer after the reply', () => {
  const config = parseConfig(
    {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
      cache: { enabled: true, semantic: { enabled: false } },
    },
    {},
  );
  const metrics = new MetricsService();
  const cache = new CacheService(config, new RedisService(config), metrics, undefined as never, undefined as never);

  it('never rejects: an answer it cannot read is not stored, its waiters are freed, and the failure is counted', async () => {
    const settled: unknown[] = [];
    const lookup = {
      status: 'miss' as const,
      header: 'miss',
      pending: { keys: { exact: 'k', namespace: 'n' }, ttlSeconds: 60, settle: (outcome: unknown) => settled.push(outcome) },
    };
    const answer = JSON.stringify({ id: 'c', object: 'chat.completion', model: 'm', choices: [null] });
    await cache.store(lookup as never, answer);
    assert.deepEqual(settled, ['unshareable']);
    assert.match(await metrics.text(), /^gateway_cache_stores_total\{result="failed"\} 1$/m);
  });
});
