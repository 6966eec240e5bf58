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
    // esbuild names each module it wraps by its path.
    assert.ok(bundle.includes('"dist/apps/gateway/src/app.module.js"'), 'the gateway is in the bundle');
    assert.ok(bundle.includes('"node_modules/fastify/'), 'a bundled package is named as the SDKs would be');
    for (const sdk of ['@anthropic-ai/sdk', '@google/genai']) {
      assert.ok(bundle.includes(`require("${sdk}")`), `${sdk} is required at run time`);
      assert.ok(!bundle.includes(`"node_modules/${sdk}/`), `${sdk} is not bundled`);
    }
  });

  // keepNames' helper (apps/gateway/scripts/bundle.ts, cheaperNames), run as the bundle defines it.
  it('the bundle names classes and functions made once, not each closure a request makes', () => {
    const bundle = readFileSync(resolve(__dirname, '../../gateway.bundle.js'), 'latin1');
    const helper = /var __namedTimes=.*?return __defProp\(target,"name",\{value,configurable:!0\}\)\};/.exec(bundle);
    assert.ok(helper, "the bundle defines keepNames' helper as cheaperNames writes it");
    const name = new Function('__defProp', `${helper[0]} return __name;`)(Object.defineProperty) as <T>(target: T, value: string) => T;
    const names = (make: () => { name: string }, value: string) => Array.from({ length: 40 }, () => name(make(), value).name);
    // Classes and functions with a prototype: Nest goes by class names, whatever esbuild renamed.
    assert.deepEqual(new Set(names(() => class {}, 'RouterModule')), new Set(['RouterModule']));
    assert.deepEqual(new Set(names(() => function () {}, 'get')), new Set(['get']));
    // Arrows, async functions and methods: named the first 16 times (module level), then left as made.
    const arrows = names(() => [() => 0][0], 'getRequest');
    assert.deepEqual(arrows.slice(0, 16), Array(16).fill('getRequest'));
    assert.deepEqual(new Set(arrows.slice(16)), new Set(['']));
    const asyncs = names(() => [async () => 0][0], 'handler');
    assert.equal(asyncs.filter((n) => n === 'handler').length, 16);
  });

  // V8 holds the bundle's source for the life of the process, as one string: a single
  // character beyond Latin-1 would make it two bytes a character (17 MB of heap, not 5.8).
  it('the bundle is ASCII only', () => {
    const bundle = readFileSync(resolve(__dirname, '../../gateway.bundle.js'), 'latin1');
    const at = bundle.search(/[^\x00-\x7f]/);
    assert.equal(at, -1, `non-ASCII byte at ${at}: ${JSON.stringify(bundle.slice(at - 40, at + 20))}`);
  });
});
