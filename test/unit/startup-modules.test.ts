import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

  it('the bundle (dist/gateway.bundle.js) leaves them outside, required only when needed', () => {
    const bundle = readFileSync(resolve(__dirname, '../../gateway.bundle.js'), 'utf8');
    assert.match(bundle, /\/\/ dist\/apps\/gateway\/src\/main\.js\n/, 'the gateway is in the bundle');
    for (const sdk of ['@anthropic-ai/sdk', '@google/genai']) {
      assert.ok(bundle.includes(`require("${sdk}")`), `${sdk} is required at run time`);
      assert.ok(!bundle.includes(`// node_modules/${sdk}/`), `${sdk} is not bundled`);
    }
  });
});
