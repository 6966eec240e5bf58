import assert from 'node:assert/strict';
import type { FunctionDeclaration, Tool } from '@google/genai';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import { toGenerateRequest } from '../../libs/providers/src/gemini/request';
import { toGeminiSchema } from '../../libs/providers/src/gemini/schema';
import { embed } from '../../libs/providers/src/mock/embeddings';
import { valueFor } from '../../libs/providers/src/mock/schema-value';
import { thrown } from '../support/chat';
import { doublingSchema, jsonSchemas, misshapenSchemas } from '../support/json-schemas';

describe('mock structured output (valueFor)', () => {
  const ajv = addFormats(new Ajv2020({ strict: false }));

  it('produces a value every generated schema validates (600 schemas, fixed seed)', () => {
    fc.assert(
      fc.property(jsonSchemas(), fc.string({ maxLength: 30 }), (schema, text) => {
        const value = valueFor(schema, text, 'p');
        const validate = ajv.compile(schema);
        assert.ok(validate(value), `${JSON.stringify(value)} fails ${JSON.stringify(validate.errors)} for ${JSON.stringify(schema)}`);
      }),
      { seed: 20261201, numRuns: 600 },
    );
  });

  it('ends a recursive schema and bounds the work of one that doubles with each $ref', () => {
    const tree = {
      $ref: '#/$defs/Node',
      $defs: { Node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
    };
    assert.ok(ajv.compile(tree)(valueFor(tree, 'x', 'p')));
    const value = valueFor(doublingSchema(40), 'x', 'p');
    assert.ok(JSON.stringify(value).length < 5_000_000, 'bounded');
  });

  // Found by an independent check: a $ref to itself overflowed the stack (a 500).
  it('refuses a schema with no finite value with a 400 naming the parameter', () => {
    const endless = [
      { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } },
      { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } } },
      { allOf: [{ $ref: '#' }] },
      { anyOf: [{ $ref: '#' }] },
      { type: 'object', required: ['self'], properties: { self: { $ref: '#' } } },
    ];
    for (const schema of endless) {
      assert.throws(
        () => valueFor(schema, 'x', 'response_format.json_schema.schema'),
        (err) =>
          err instanceof GatewayError &&
          err.status === 400 &&
          err.param === 'response_format.json_schema.schema' &&
          /recurses without end/.test(err.message),
        JSON.stringify(schema),
      );
    }
  });
});

// Found by auditing after a fuzzing check: a misshapen keyword threw a TypeError or URIError in the
// mock (a bare 500). The mock reads such a keyword as absent, as it already did for a non-list `required`.
describe('mock structured output from a schema that is not JSON Schema', () => {
  it('a required that is no list inside allOf, a $ref with a malformed escape, a format named like an Object method', () => {
    assert.deepEqual(valueFor({ type: 'object', allOf: [{ required: 5 }] }, 'x', 'p'), {});
    assert.equal(valueFor({ $ref: '#/$defs/%E0' }, 'x', 'p'), 'x');
    assert.equal(valueFor({ type: 'string', format: 'toString', minLength: 3 }, 'x', 'p'), 'x..');
    assert.equal(valueFor({ type: 'string', format: 'constructor' }, 'x', 'p'), 'x');
  });

  it('any JSON value in any keyword gives a value or a 400, never another error (fast-check)', () => {
    fc.assert(
      fc.property(misshapenSchemas(), (schema) => {
        try {
          valueFor(schema, 'x', 'p');
        } catch (e) {
          assert.ok(e instanceof GatewayError && e.status === 400 && e.param === 'p', `threw ${String(e)} for ${JSON.stringify(schema)}`);
        }
      }),
      { seed: 20261206, numRuns: 20_000 },
    );
  });
});

describe('Gemini schema translation is bounded', () => {
  it('refuses a schema whose $refs expand past the node limit with a 400 naming the parameter', () => {
    let error: unknown;
    try {
      toGeminiSchema(doublingSchema(30), 'tools[0].function.parameters');
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof GatewayError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.param, 'tools[0].function.parameters');
    assert.match(error.message, /expands to more than/);
  });

  it('still translates a schema that inlines to a moderate size', () => {
    const out = toGeminiSchema(doublingSchema(8), 'p');
    assert.equal(out.subset?.type, 'OBJECT');
  });
});

/** The function declarations of a chat request with `count` tools, tool i's parameters `parameters(i)`, translated for Gemini. */
function toolsToGemini(count: number, parameters: (i: number) => Record<string, unknown>): FunctionDeclaration[] {
  const tools = Array.from({ length: count }, (_, i) => ({
    type: 'function' as const,
    function: { name: `t${i}`, parameters: parameters(i) },
  }));
  const { config } = toGenerateRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools }, 'up', new DeploymentConfig());
  return (config?.tools?.[0] as Tool).functionDeclarations ?? [];
}

// Found by an independent check (fair31): each schema was bounded, their total was not: a 230 KB request of 200 such
// tools was inlined into 36 MB on the event loop (seconds of it), sent upstream.
describe('Gemini schema translation is bounded for the whole request', () => {
  // 8,191 nodes counted once its $refs are inlined: under the 10,000 of one schema; the 4,095 of its output alone put
  // the 13th such tool past the request's 50,000.
  const fanOut = () => doublingSchema(12);

  it('refuses all tools together past 50,000 nodes with a 400 naming the bound, at the first tool past it', () => {
    assert.ok(toGeminiSchema(fanOut(), 'p').subset, 'one such schema alone is translated');
    const err = thrown(() => toolsToGemini(200, fanOut));
    assert.equal(err.status, 400);
    assert.match(err.message, /more than 50000 schema nodes in all/);
    const at = Number(/^tools\[(\d+)\]\.function\.parameters$/.exec(err.param ?? '')?.[1]);
    // Stopped where the count passed the bound, not after translating the 200: at most 50,000 / 4,095 tools were made.
    assert.ok(at >= 1 && at <= 13, `refused at ${err.param}`);
  });

  it('refuses inlining past 4 MiB of definitions in all, though few nodes (one long description at every $ref)', () => {
    const described = (refs: number) => ({
      type: 'object',
      $defs: { long: { type: 'string', description: 'x'.repeat(100_000) } },
      properties: Object.fromEntries(Array.from({ length: refs }, (_, i) => [`p${i}`, { $ref: '#/$defs/long' }])),
    });
    // 40 × 100,034 bytes inlined is under 4,194,304; two tools of 25 pass it in the second, in 51 nodes each.
    assert.equal(Object.keys(toolsToGemini(1, () => described(40))[0].parameters?.properties ?? {}).length, 40);
    const err = thrown(() => toolsToGemini(2, () => described(25)));
    assert.equal(err.status, 400);
    assert.equal(err.param, 'tools[1].function.parameters');
    assert.match(err.message, /more than 4194304 bytes of \$ref definitions in all/);
  });

  it('gives each request its own budget, and a thousand ordinary tools stay within it', () => {
    for (let round = 0; round < 2; round++) assert.equal(toolsToGemini(6, fanOut).length, 6);
    const ordinary = () => ({
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`p${i}`, { type: 'string', description: 'd' }])),
    });
    assert.equal(toolsToGemini(1_000, ordinary).length, 1_000);
  });
});

describe('mock embeddings', () => {
  it('are unit vectors, the same for a text and for its words as token ids hashed alike', async () => {
    const vector = await embed('the quick brown fox', 64);
    const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
    assert.ok(Math.abs(norm - 1) < 1e-6);
    assert.deepEqual(await embed('the quick brown fox', 64), vector, 'deterministic');
    assert.deepEqual([...(await embed([1, 2, 3], 16))], [...(await embed('1 2 3', 16))]);
  });
});
