import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as acorn from 'acorn';

/**
 * The files every streamed answer passes through, from the upstream body to the SSE writer.
 * Generators there (async or not) made most of each streamed request's objects reach V8's
 * old space (BENCHMARKS.md, "Changes, each measured": no generators on the streaming path),
 * so they are built from plain iterators (`mapStream`). The vendor stream translations and
 * the mock provider are not listed: their SDK streams are async generators anyway.
 */
const STREAMING_PATH = [
  'libs/providers/src/map-stream.ts',
  'libs/providers/src/openai/dispatch.ts',
  'libs/providers/src/openai/stream.ts',
  'libs/router/src/prime-stream.ts',
  'libs/cache/src/cache.service.ts',
  'libs/cache/src/sse.ts',
  'apps/gateway/src/pipeline/chat-chunks.ts',
  'apps/gateway/src/pipeline/chat-pipeline.ts',
  'apps/gateway/src/http/sse.ts',
  'apps/gateway/src/messages/codec.ts',
  'apps/gateway/src/messages/stream.ts',
  'apps/gateway/src/responses/stream.ts',
  'apps/gateway/src/responses/responses.controller.ts',
];

/** The compiled output (ES2023: generators are kept as written), next to this test's own. */
const DIST = join(__dirname, '..', '..');

/** `name:line` of every generator function or method in a JavaScript source. */
function generatorsIn(name: string, source: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as acorn.Node & { generator?: boolean; loc?: acorn.SourceLocation };
    if (n.generator) found.push(`${name}:${n.loc!.start.line}`);
    for (const [key, value] of Object.entries(n)) if (key !== 'loc') visit(value);
  };
  visit(acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', locations: true }));
  return found;
}

describe('the streaming path', () => {
  it('has no generator functions', () => {
    const found = STREAMING_PATH.map((path) => path.replace(/\.ts$/, '.js')).flatMap((path) =>
      generatorsIn(path, readFileSync(join(DIST, path), 'utf8')),
    );
    assert.deepEqual(found, []);
  });

  it('the check finds generators in every form they are written', () => {
    const forms = [
      'async function* a() {}',
      'function* b() {}',
      'const c = async function* () {};',
      'const d = { async *[Symbol.asyncIterator]() {} };',
      'class E { *f() {} async *g() {} }',
    ];
    assert.equal(generatorsIn('forms.js', forms.join('\n')).length, 6);
    assert.deepEqual(generatorsIn('plain.js', 'async function a() { return [1].map((x) => x * 2); }'), []);
  });
});
