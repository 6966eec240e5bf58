import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import AjvCompiler from '@fastify/ajv-compiler';
import fc from 'fast-check';
import { AJV_OPTIONS, precompiledValidators, REQUEST_SCHEMAS } from '../../apps/gateway/src/http/request-validation';

/**
 * The validators `npm run build` compiles (request-validators.js) against what Fastify
 * compiled at start before: its own Ajv compiler with the same options. Same verdict and
 * the same first error (which becomes the 400's message and `param`) on valid bodies and
 * on random mutations of them.
 */
type Name = keyof typeof REQUEST_SCHEMAS;
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
const precompiled = require('../../apps/gateway/src/http/request-validators') as Record<Name, Validate>;
const fastifyCompile = AjvCompiler()({}, { customOptions: { ...AJV_OPTIONS } });

const user = { role: 'user', content: 'hi' };
const VALID: Record<Name, object[]> = {
  chatCompletion: [
    { model: 'm', messages: [user] },
    {
      model: 'm',
      messages: [
        { role: 'system', content: null },
        { role: 'user', content: [{ type: 'text', text: 'a' }] },
        { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c', content: 'r' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 1,
      max_tokens: 5,
      stop: ['x'],
      seed: -3,
      logit_bias: { '50256': -100 },
      tools: [{ type: 'function', function: { name: 'f_1', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f_1' } },
      response_format: { type: 'json_schema', json_schema: { name: 'x' } },
    },
  ],
  embeddings: [
    { model: 'e', input: 'text' },
    { model: 'e', input: [[1, 2, 3]], encoding_format: 'base64', dimensions: 8 },
  ],
  messages: [
    { model: 'c', max_tokens: 10, messages: [user] },
    {
      model: 'c',
      max_tokens: 10,
      system: [{ type: 'text', text: 's' }],
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'r' }] }] },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: 'f' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      metadata: { user_id: null },
    },
    {
      model: 'c',
      max_tokens: 10,
      messages: [
        user,
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 's', name: 'web_search', input: { query: 'q' } },
            { type: 'web_search_tool_result', tool_use_id: 's', content: [] },
          ],
        },
        user,
      ],
      // Anthropic's own tools: fixed names and no input_schema; a toolset has no name at all.
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }, { type: 'computer_toolset_20260801' }],
    },
  ],
  countTokens: [{ model: 'c', messages: [user] }],
  createResponse: [
    { model: 'r', input: 'hi' },
    {
      model: 'r',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'a' }] },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', output: 'r' },
        { type: 'reasoning', summary: [{ text: 's' }] },
      ],
      tools: [{ type: 'namespace', name: 'n', tools: [{ type: 'function', name: 'g' }] }],
      tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'g' }] },
      text: { format: { type: 'json_schema', name: 'o', schema: {} }, verbosity: 'low' },
      reasoning: { effort: 'high', summary: null },
      metadata: { k: 'v' },
    },
  ],
};

/** Values that sit on the schemas' edges: wrong types, bounds, enum neighbours, block shapes. */
const edgy = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(
    ...[null, true, '', 'x', '0.5', 0, -1, 1, 0.5, 2, 2.5, 20, 21, 128, 1024, 1_048_577, 2 ** 31, -(2 ** 63), 1e300, []],
    ...['user', 'tool', 'assistant', 'system', 'auto', 'any', 'none', 'required', 'tool', 'enabled', 'function'],
    ...['text', 'image', 'tool_use', 'tool_result', 'thinking', 'message', 'function_call', 'json_schema', 'namespace'],
    { type: 'text' },
    { type: 'text', text: 'x' },
    { type: 'tool' },
    { type: 'function' },
    { type: 'function', name: 'bad name!' },
    { role: 'tool' },
    { type: 'object' },
    {},
  ),
);

/** Keys a mutation may add: ones the schemas constrain, and one they do not. */
const NEW_KEYS = [
  'type',
  'role',
  'content',
  'name',
  'text',
  'temperature',
  'max_tokens',
  'n',
  'stop',
  'seed',
  'tool_choice',
  'input',
  'stream',
  'metadata',
  'x',
];

/** Sets (or deletes) the value at a random path of a copy of `body`. */
function mutate(body: unknown, picks: number[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (let i = 0; ; i++) {
    const keys = Object.keys(node);
    const pick = picks[i] ?? 0;
    // A new key now and then, else an existing one.
    const key = keys.length === 0 || pick % 3 === 2 ? NEW_KEYS[pick % NEW_KEYS.length] : keys[pick % keys.length];
    const child = node[key];
    if (i + 1 >= picks.length || child === null || typeof child !== 'object') {
      if (remove) delete node[key];
      else node[key] = value;
      return copy;
    }
    node = child as Record<string, unknown>;
  }
}

const mutation = fc.record({
  picks: fc.array(fc.nat(50), { minLength: 1, maxLength: 6 }),
  value: edgy,
  remove: fc.boolean(),
});

describe('request validators compiled at build time', () => {
  it('uses the Ajv compiler Fastify itself depends on', () => {
    const fastifyDir = dirname(require.resolve('fastify'));
    assert.equal(require.resolve('@fastify/ajv-compiler'), require.resolve('@fastify/ajv-compiler', { paths: [fastifyDir] }));
  });

  for (const name of Object.keys(REQUEST_SCHEMAS) as Name[]) {
    it(`${name}: same verdict and first error as Fastify's runtime compile (fixed seed)`, () => {
      const runtime = fastifyCompile({ schema: REQUEST_SCHEMAS[name], method: 'POST', url: '/', httpPart: 'body' });
      const build = precompiled[name];
      const verdicts = { valid: 0, invalid: 0 };
      const check = (body: unknown) => {
        // A copy each: a validator that coerced would change what the other one sees.
        const ok = build(structuredClone(body));
        assert.equal(ok, runtime(structuredClone(body)), JSON.stringify(body));
        assert.deepEqual(build.errors ?? null, runtime.errors ?? null, JSON.stringify(body));
        verdicts[ok ? 'valid' : 'invalid']++;
      };
      for (const body of VALID[name]) {
        check(body);
        assert.ok(build(body), `${JSON.stringify(body)} is a valid ${name} body`);
      }
      fc.assert(
        fc.property(fc.constantFrom(...VALID[name]), fc.array(mutation, { minLength: 1, maxLength: 3 }), (base, steps) => {
          check(steps.reduce<unknown>((body, s) => mutate(body, s.picks, s.value, s.remove), base));
        }),
        { seed: 20261202, numRuns: 1500 },
      );
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), check), { seed: 20261202, numRuns: 300 });
      // Both outcomes were exercised, not just one.
      assert.ok(verdicts.valid > 50 && verdicts.invalid > 50, JSON.stringify(verdicts));
    });
  }

  it('a route schema without a precompiled validator, or a response schema, stops the start', () => {
    const { buildValidator, buildSerializer } = precompiledValidators().compilersFactory!;
    assert.throws(
      () => buildSerializer!({}, {})({ schema: {}, method: 'GET', url: '/v1/x', httpStatus: '200' }),
      /GET \/v1\/x has a response schema/,
    );
    const compile = buildValidator!({}, {});
    assert.equal(
      compile({ schema: REQUEST_SCHEMAS.chatCompletion, method: 'POST', url: '/v1/chat/completions', httpPart: 'body' }),
      precompiled.chatCompletion,
    );
    assert.throws(
      () => compile({ schema: { ...REQUEST_SCHEMAS.chatCompletion }, method: 'POST', url: '/v1/x', httpPart: 'body' }),
      /no precompiled validator for the body of POST \/v1\/x/,
    );
  });
});
