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
    const failOpen = new FailOpen(logger, new CacheMetrics(new Registry()));
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
});
