import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { toGeminiSchema } from '../../libs/providers/src/gemini/schema';
import { embed } from '../../libs/providers/src/mock/embeddings';
import { valueFor } from '../../libs/providers/src/mock/schema-value';

/** JSON Schemas from the subset valueFor supports: the answer must validate against each. */
const supported = fc
  .letrec<{ schema: Record<string, unknown> }>((tie) => ({
    schema: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(
        { type: 'string' },
        { type: 'string', minLength: 3, maxLength: 6 },
        { type: 'string', format: 'date-time' },
        { type: 'string', format: 'email' },
        { type: 'string', format: 'uuid' },
        { type: 'integer', minimum: 5, maximum: 9 },
        { type: 'integer', exclusiveMinimum: 0, multipleOf: 3 },
        { type: 'number', minimum: -2.5, maximum: -1 },
        { type: 'boolean' },
        { type: 'null' },
        { type: ['string', 'null'] },
        { enum: ['a', 1, null] },
        { const: { fixed: true } },
        { $ref: '#/$defs/Leaf' },
      ),
      fc.record({ type: fc.constant('array'), items: tie('schema'), minItems: fc.nat(3) }),
      fc.record({
        type: fc.constant('object'),
        properties: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), tie('schema'), { maxKeys: 4 }),
        additionalProperties: fc.constant(false),
      }),
      fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
      fc.record({
        allOf: fc.constant([{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { $ref: '#/$defs/Leaf' }]),
      }),
    ),
  }))
  .schema.map((schema) => ({
    ...schema,
    $defs: { Leaf: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } },
  }));

describe('mock structured output (valueFor)', () => {
  const ajv = addFormats(new Ajv2020({ strict: false }));

  it('produces a value every generated schema validates (600 schemas, fixed seed)', () => {
    fc.assert(
      fc.property(supported, fc.string({ maxLength: 30 }), (schema, text) => {
        const value = valueFor(schema, text);
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
    assert.ok(ajv.compile(tree)(valueFor(tree, 'x')));
    // 40 definitions, each holding the next one twice: 2^40 nodes if inlined naively.
    const $defs = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [
        `d${i}`,
        i === 39
          ? { type: 'string' }
          : { type: 'object', properties: { l: { $ref: `#/$defs/d${i + 1}` }, r: { $ref: `#/$defs/d${i + 1}` } } },
      ]),
    );
    const value = valueFor({ $ref: '#/$defs/d0', $defs }, 'x');
    assert.ok(JSON.stringify(value).length < 5_000_000, 'bounded');
  });
});

describe('Gemini schema translation is bounded', () => {
  it('refuses a schema whose $refs expand past the node limit with a 400 naming the parameter', () => {
    const $defs = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [
        `d${i}`,
        i === 29
          ? { type: 'string' }
          : { type: 'object', properties: { l: { $ref: `#/$defs/d${i + 1}` }, r: { $ref: `#/$defs/d${i + 1}` } } },
      ]),
    );
    let error: unknown;
    try {
      toGeminiSchema({ $ref: '#/$defs/d0', $defs }, 'tools[0].function.parameters');
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof GatewayError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.param, 'tools[0].function.parameters');
    assert.match(error.message, /expands to more than/);
  });

  it('still translates a schema that inlines to a moderate size', () => {
    const $defs = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [
        `d${i}`,
        i === 7
          ? { type: 'string' }
          : { type: 'object', properties: { l: { $ref: `#/$defs/d${i + 1}` }, r: { $ref: `#/$defs/d${i + 1}` } } },
      ]),
    );
    const out = toGeminiSchema({ $ref: '#/$defs/d0', $defs }, 'p');
    assert.equal(out.type, 'OBJECT');
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
