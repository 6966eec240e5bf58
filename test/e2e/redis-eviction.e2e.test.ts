import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess, gatewayOnOwnRedis } from '../support/gateway';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
/** Redis' maxmemory above what it uses at start: filled by the test's own writes. */
const ROOM_BYTES = 4 * 1024 * 1024;

const evictedKeys = async (redis: Redis) => Number(/^evicted_keys:(\d+)/m.exec(await redis.info('stats'))?.[1]);

/** gateway_redis_evicted_keys as /metrics shows it now. */
async function gauge(gateway: GatewayProcess): Promise<number> {
  const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  return Number(/^gateway_redis_evicted_keys (\S+)$/m.exec(text)?.[1]);
}

// Found by an independent check (redis33): under the chart's default volatile-lru a busy cache made Redis evict a
// key's RPM window (and under allkeys-lru admin-created keys and the data marker), and nothing said so: no metric,
// no log line; the metric the chart README told operators to watch cannot move while eviction makes room.
describe("Redis' evictions are seen", { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  const own = gatewayOnOwnRedis(REDIS_SERVER!, configWith(), {}, async (redis) => {
    const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1]);
    await redis.config('SET', 'maxmemory', String(used + ROOM_BYTES));
    await redis.config('SET', 'maxmemory-policy', 'volatile-lru');
  });

  it('a policy that evicts is warned of at start-up and when it changes; evictions are the gauge and a warning', async () => {
    const [volatile] = await own.gateway.logged(/has maxmemory-policy volatile-lru/);
    assert.match(String(volatile?.msg), /rate windows, budget holds and spend/);

    // Writes with a TTL, as a busy cache makes them, until Redis has evicted some.
    const value = 'x'.repeat(10_000);
    for (let batch = 0; (await evictedKeys(own.redis)) === 0; batch++) {
      const pipeline = own.redis.pipeline();
      for (let i = 0; i < 100; i++) pipeline.set(`junk:${batch}:${i}`, value, 'EX', 3600);
      await pipeline.exec();
    }
    const [evicted] = await own.gateway.logged(/evicted \d+ keys/);
    assert.match(
      String(evicted?.msg),
      /under maxmemory-policy volatile-lru, which evicts keys with a TTL: rate windows, budget holds and spend/,
    );
    assert.ok((await gauge(own.gateway)) > 0, 'gateway_redis_evicted_keys counts them');

    await own.redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const [allkeys] = await own.gateway.logged(/has maxmemory-policy allkeys-lru/);
    assert.match(String(allkeys?.msg), /admin-created keys .* data marker/);
  });
});

// Found by an independent re-check (recheck33b D2): a maxmemory set on a running Redis whose policy evicts (an
// operator's CONFIG SET, a managed Redis resized) was not warned of: only a change of the policy was.
describe('a maxmemory set later, under a policy that evicts', { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  const own = gatewayOnOwnRedis(REDIS_SERVER!, configWith(), {}, (redis) => redis.config('SET', 'maxmemory-policy', 'allkeys-lru'));

  it('is warned of once the gateway reads it', async () => {
    // The first check reads Redis at start-up, without a maxmemory: nothing to warn of. (Were it to run after the
    // CONFIG SET below, it would warn with or without the fix: the wait only lets the test see the fault.)
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await own.gateway.logged(/has maxmemory-policy/, { timeoutMs: 0 })).length, 0);
    await own.redis.config('SET', 'maxmemory', '200mb');
    const [warned] = await own.gateway.logged(/has maxmemory-policy allkeys-lru/);
    assert.match(String(warned?.msg), /admin-created keys .* data marker/);
  });
});
