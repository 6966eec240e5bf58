import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as acorn from 'acorn';

/**
 * The files every streamed answer passes through, from the upstream body to the SSE writer.
 * Two constructs there made most of each streamed request's objects reach V8's old space
 * (BENCHMARKS.md, "Changes, each measured"): generators, async or not (the path is built
 * from plain iterators, `mapStream`), and accessors in object literals (`{ get usage() {} }`:
 * what they close over was promoted instead of dying young; classes' accessors are fine). The
 * vendor stream translations and the mock provider are not listed: their SDK streams are
 * async generators anyway.
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

/** `name:line what` of every generator function or method, and every object-literal accessor, in a JavaScript source. */
function heapTrapsIn(name: string, source: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown, parent?: acorn.Node): void => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((child) => visit(child, parent));
    const n = node as acorn.Node & { generator?: boolean; kind?: string; loc?: acorn.SourceLocation };
    if (n.generator) found.push(`${name}:${n.loc!.start.line} generator`);
    if (n.type === 'Property' && parent?.type === 'ObjectExpression' && (n.kind === 'get' || n.kind === 'set'))
      found.push(`${name}:${n.loc!.start.line} ${n.kind}ter in an object literal`);
    for (const [key, value] of Object.entries(n)) if (key !== 'loc') visit(value, n);
  };
  visit(acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', locations: true }));
  return found;
}

describe('the streaming path', () => {
  it('has no generator functions and no accessors in object literals', () => {
    const found = STREAMING_PATH.map((path) => path.replace(/\.ts$/, '.js')).flatMap((path) =>
      heapTrapsIn(path, readFileSync(join(DIST, path), 'utf8')),
    );
    assert.deepEqual(found, []);
  });

  it('the check finds generators and object-literal accessors in every form they are written', () => {
    const forms = [
      'async function* a() {}',
      'function* b() {}',
      'const c = async function* () {};',
      'const d = { async *[Symbol.asyncIterator]() {} };',
      'class E { *f() {} async *g() {} }',
    ];
    assert.equal(heapTrapsIn('forms.js', forms.join('\n')).length, 6);
    const accessors = ['const f = { get usage() { return 1; } };', 'const g = { set usage(v) {}, h: { get i() { return 2; } } };'];
    assert.deepEqual(heapTrapsIn('accessors.js', accessors.join('\n')), [
      'accessors.js:1 getter in an object literal',
      'accessors.js:2 setter in an object literal',
      'accessors.js:2 getter in an object literal',
    ]);
    const plain = [
      'async function a() { return [1].map((x) => x * 2); }',
      'class B { get usage() { return 1; } set usage(v) {} }',
      'const c = { get: 1, set() {}, [Symbol.asyncIterator]() { return this; } };',
    ];
    assert.deepEqual(heapTrapsIn('plain.js', plain.join('\n')), []);
  });
});
