import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { FailOpen } from '../../libs/cache/src/fail-open';
import { CacheMetrics } from '../../libs/cache/src/metrics';

// Found by an independent check: one warning slot for every backend, so during a Redis outage the
// next warning logged named the embedder, with the Redis failures counted as its own.
describe('cache fail-open warnings', () => {
  it('are rate-limited per backend: each names its own failures', async () => {
    const warnings: string[] = [];
    const logger = Object.assign(new Logger('test'), { warn: (message: string) => void warnings.push(message) });
    const failOpen = new FailOpen(logger, new CacheMetrics(new Registry()), 1_000);
    const fail = (backend: string, message: string) =>
      failOpen.run(backend, 'op', undefined, () => Promise.reject(new Error(message)), 'fallback');
    assert.equal(await fail('embedder', 'embedder down'), 'fallback');
    for (let i = 0; i < 5; i++) await fail('redis', `redis down ${i}`);
    await fail('embedder', 'embedder still down');
    assert.deepEqual(warnings, [
      'cache embedder op failed, going on without it: embedder down',
      'cache redis op failed, going on without it: redis down 0',
    ]);
  });

  // Found by an independent check: a hung Redis cost every request its budget twice (lookup and store), each call
  // waiting out the budget again.
  it('a call that ran out of its budget pauses its backend, for budgeted calls only, then it is tried again', async () => {
    const registry = new Registry();
    const metrics = new CacheMetrics(registry);
    const logger = Object.assign(new Logger('test'), { warn: () => {} });
    const counted = async (reason: string) =>
      (await registry.getSingleMetric('gateway_cache_backend_errors_total')!.get()).values
        .filter((v) => v.labels.reason === reason)
        .reduce((sum, v) => sum + v.value, 0);
    const hung = (failOpen: FailOpen) => {
      let calls = 0;
      const call = (operation: string) => failOpen.run('redis', operation, 5, () => (calls++, new Promise<string>(() => {})), 'fallback');
      return { call, calls: () => calls };
    };

    const paused = new FailOpen(logger, metrics, 600_000);
    const redis = hung(paused);
    assert.equal(await redis.call('lookup'), 'fallback');
    for (let i = 0; i < 5; i++) assert.equal(await redis.call(i % 2 ? 'lookup' : 'store'), 'fallback');
    assert.equal(redis.calls(), 1, 'Redis asked once: the later calls were not made');
    assert.deepEqual([await counted('timeout'), await counted('paused')], [1, 5]);
    // Another backend, and calls without a budget (the embedder's), are not paused.
    let embedded = 0;
    assert.equal(await paused.run('redis', 'embed', undefined, async () => `asked ${++embedded}`, 'fallback'), 'asked 1');
    assert.equal(await paused.run('other', 'lookup', 5, async () => 'answered', 'fallback'), 'answered');

    const never = hung(new FailOpen(logger, metrics, 0));
    for (let i = 0; i < 3; i++) await never.call('lookup');
    assert.equal(never.calls(), 3, 'pauseAfterTimeoutMs 0: every call made');
    const brief = new FailOpen(logger, metrics, 20);
    const again = hung(brief);
    await again.call('lookup');
    await new Promise((resolve) => setTimeout(resolve, 40));
    await again.call('lookup');
    assert.equal(again.calls(), 2, 'tried again once the pause is over');
  });
});
