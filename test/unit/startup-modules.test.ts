import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

/**
 * What every start loads. The vendor SDKs are hundreds of modules each (~150 ms of a start,
 * BENCHMARKS.md "Start-up") and are loaded only when such a provider is enabled; an
 * import of a value from a vendor adapter's SDK-importing file anywhere in the app's
 * graph (a table for a codec, say) would load them at every start.
 */
describe('modules loaded at start-up', () => {
  it('the app loads no vendor SDK until a provider of that vendor is configured', () => {
    require('../../apps/gateway/src/app.module');
    const loaded = Object.keys(require.cache);
    assert.ok(
      loaded.some((f) => f.includes('/node_modules/fastify/')),
      'the app graph was loaded',
    );
    for (const sdk of ['@anthropic-ai/sdk', '@google/genai']) {
      assert.deepEqual(
        loaded.filter((f) => f.includes(`/node_modules/${sdk}/`)),
        [],
        `${sdk} is not loaded`,
      );
    }
  });
});
