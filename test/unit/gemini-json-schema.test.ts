import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FunctionDeclaration } from '@google/genai';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { toGenerateRequest } from '../../libs/providers/src/gemini/request';
import { toGeminiSchema } from '../../libs/providers/src/gemini/schema';
import type { ChatCompletionCreateParams } from '../../libs/providers/src/wire';

/** What zod 4's z.toJSONSchema writes for z.object({ name: z.string(), scores: z.record(z.string(), z.number()) }). */
const RECORD_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    name: { type: 'string' },
    scores: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'number' } },
  },
  required: ['name', 'scores'],
  additionalProperties: false,
};

/** What zod 4 writes for a tree: z.object({ name: z.string(), get children() { return z.array(Node).optional() } }). */
const TREE_SCHEMA = {
  type: 'object',
  properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#' } } },
  required: ['name'],
  additionalProperties: false,
};

describe('JSON Schema the OpenAPI subset cannot express goes to Gemini as JSON Schema', () => {
  it('a map field (z.record, Dict[str, X]): the schema as sent, the declared order kept, without $schema (not in Google`s list)', () => {
    const { $schema: _dropped, ...sent } = RECORD_SCHEMA;
    assert.deepEqual(toGeminiSchema(RECORD_SCHEMA, 'p'), { json: { ...sent, propertyOrdering: ['name', 'scores'] } });
  });

  it('an object without properties anywhere (an item, a variant, the top of a response format)', () => {
    const schemas = [
      { type: 'array', items: { type: 'object' } },
      { type: 'object', properties: { a: { anyOf: [{ type: 'object', properties: {} }, { type: 'string' }] } } },
      { type: 'object', properties: { a: { type: ['object', 'null'], additionalProperties: false } } },
      { type: 'object' },
    ];
    for (const schema of schemas) assert.deepEqual(toGeminiSchema(schema, 'p'), { json: schema }, JSON.stringify(schema));
  });

  it('a recursive schema: its references kept, a top-level reference made the object itself', () => {
    assert.deepEqual(toGeminiSchema(TREE_SCHEMA, 'p'), { json: { ...TREE_SCHEMA, propertyOrdering: ['name', 'children'] } });
    const linked = {
      $ref: '#/$defs/node',
      description: 'a list',
      $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, next: { $ref: '#/$defs/node' } } } },
    };
    assert.deepEqual(toGeminiSchema(linked, 'tools[0].function.parameters', true), {
      json: {
        type: 'object',
        properties: { v: { type: 'integer' }, next: { $ref: '#/$defs/node' } },
        propertyOrdering: ['v', 'next'],
        description: 'a list',
        $defs: {
          node: { type: 'object', properties: { v: { type: 'integer' }, next: { $ref: '#/$defs/node' } }, propertyOrdering: ['v', 'next'] },
        },
      },
    });
  });

  it('sanitised as Gemini documents its JSON Schema: definitions join $defs, a $ref alone, allOf merged, const as enum', () => {
    const schema = {
      type: 'object',
      properties: {
        // pydantic v1: a described reference, and a reference wrapped in allOf.
        next: { $ref: '#/definitions/Node', description: 'the next one' },
        prev: { allOf: [{ $ref: '#/definitions/Node' }], description: 'the previous one' },
        both: { allOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { properties: { b: { const: 2 } } }] },
        kind: { const: 'tree', enum: ['tree', 'bush'] },
      },
      definitions: { Node: { type: 'object', properties: { up: { $ref: '#/definitions/Node' } } } },
    };
    assert.deepEqual(toGeminiSchema(schema, 'p'), {
      json: {
        type: 'object',
        properties: {
          next: { $ref: '#/$defs/Node' },
          prev: { $ref: '#/$defs/Node' },
          both: { type: 'object', properties: { a: { type: 'string' }, b: { enum: [2] } }, propertyOrdering: ['a', 'b'] },
          kind: { enum: ['tree'] },
        },
        propertyOrdering: ['next', 'prev', 'both', 'kind'],
        $defs: { Node: { type: 'object', properties: { up: { $ref: '#/$defs/Node' } } } },
      },
    });
  });

  it('a recursive reference wrapped in allOf (pydantic v1`s described field) is recursion as a bare $ref is, not a 400', () => {
    // pydantic 1.10: class Node(BaseModel): value: int; child: Optional['Node'] = Field(None, description='the next node')
    const node = {
      title: 'Node',
      type: 'object',
      properties: {
        value: { title: 'Value', type: 'integer' },
        child: { title: 'Child', description: 'the next node', allOf: [{ $ref: '#/definitions/Node' }] },
      },
      required: ['value'],
    };
    const sentNode = { ...node, properties: { ...node.properties, child: { $ref: '#/$defs/Node' } }, propertyOrdering: ['value', 'child'] };
    for (const parameters of [false, true])
      assert.deepEqual(toGeminiSchema({ $ref: '#/definitions/Node', definitions: { Node: node } }, 'p', parameters), {
        json: { ...sentNode, $defs: { Node: sentNode } },
      });
    // The recursive member beside others: inlined once, then a reference (inlining it again would not end).
    const extended = {
      type: 'object',
      properties: { next: { allOf: [{ $ref: '#/$defs/Item' }, { description: 'the next item' }] } },
      $defs: { Item: { type: 'object', properties: { next: { allOf: [{ $ref: '#/$defs/Item' }, { description: 'the next item' }] } } } },
    };
    const item = { type: 'object', properties: { next: { $ref: '#/$defs/Item' } } };
    assert.deepEqual(toGeminiSchema(extended, 'p'), {
      json: {
        type: 'object',
        properties: { next: { description: 'the next item', ...item } },
        $defs: { Item: { type: 'object', properties: { next: { description: 'the next item', ...item } } } },
      },
    });
    // The same definition twice in one allOf is no cycle (it was a 400 "made of itself"): the subset says it.
    const a = { type: 'object', properties: { x: { type: 'string' } } };
    const twice = { type: 'object', properties: { a: { allOf: [{ $ref: '#/$defs/A' }, { $ref: '#/$defs/A' }] } }, $defs: { A: a } };
    assert.deepEqual(toGeminiSchema(twice, 'p'), {
      subset: { type: 'OBJECT', properties: { a: { type: 'OBJECT', properties: { x: { type: 'STRING' } } } } },
    });
  });

  it('checks and rewrites $refs under every keyword whose value is a schema', () => {
    const map = { type: 'object', additionalProperties: { type: 'string' } };
    const under = (where: Record<string, unknown>) => ({ type: 'object', properties: { m: map, x: { type: 'string', ...where } } });
    const places = (ref: string) => [
      { not: { $ref: ref } },
      { patternProperties: { '^a': { $ref: ref } } },
      { type: 'array', items: [{ $ref: ref }, { type: 'integer' }] },
      { if: { $ref: ref }, then: { $ref: ref }, else: { $ref: ref } },
      { type: 'array', contains: { $ref: ref }, additionalItems: { $ref: ref }, unevaluatedItems: { $ref: ref } },
      { dependentSchemas: { a: { $ref: ref } }, dependencies: { b: { $ref: ref }, c: ['a'] }, propertyNames: { $ref: ref } },
      { unevaluatedProperties: { $ref: ref }, contentSchema: { $ref: ref } },
    ];
    for (const ref of ['https://example.com/evil.json', '#/$defs/Nope'])
      for (const where of places(ref))
        assert.throws(
          () => toGeminiSchema(under(where), 'p'),
          (e: GatewayError) => e.status === 400 && e.message.includes(`'${ref}' cannot be resolved`),
          JSON.stringify(where),
        );
    // pydantic v1's Tuple[Address, int] beside a Dict[str, str]: the reference follows `definitions` into `$defs`.
    const tuple = {
      type: 'object',
      properties: { m: map, pair: { type: 'array', items: [{ $ref: '#/definitions/Address' }, { type: 'integer' }] } },
      definitions: { Address: { type: 'object', properties: { city: { type: 'string' } } } },
    };
    assert.deepEqual(toGeminiSchema(tuple, 'p'), {
      json: {
        type: 'object',
        properties: { m: map, pair: { type: 'array', items: [{ $ref: '#/$defs/Address' }, { type: 'integer' }] } },
        propertyOrdering: ['m', 'pair'],
        $defs: tuple.definitions,
      },
    });
    for (const where of places('#/definitions/Address')) {
      const sent = JSON.stringify(toGeminiSchema({ ...under(where), definitions: tuple.definitions }, 'p').json);
      assert.ok(sent.includes('#/$defs/Address') && !sent.includes('#/definitions/'), sent);
    }
  });

  it('refuses a definition made of itself through $ref and allOf alone, however written', () => {
    const defs = [
      { A: { allOf: [{ $ref: '#/$defs/A' }] } },
      { A: { $ref: '#/$defs/A' } },
      { A: { $ref: '#/$defs/B' }, B: { allOf: [{ $ref: '#/$defs/A' }, { description: 'b' }] } },
    ];
    for (const $defs of defs) {
      const schema = { type: 'object', properties: { m: { type: 'object' }, a: { $ref: '#/$defs/A' } }, $defs };
      assert.throws(
        () => toGeminiSchema(schema, 'p'),
        (e: GatewayError) => e.status === 400 && e.param === 'p' && /'#\/\$defs\/[AB]' is made of itself/.test(e.message),
        JSON.stringify($defs),
      );
    }
    // A chain of 10,000 references that ends: no stack to run out of.
    const chain = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`d${i}`, { $ref: `#/$defs/d${i + 1}` }]));
    const long = { type: 'object', properties: { m: { type: 'object' } }, $defs: { ...chain, d10000: { type: 'string' } } };
    assert.throws(
      () => toGeminiSchema(long, 'p'),
      (e: GatewayError) => e.status === 400 && /has more than 10000 nodes/.test(e.message),
    );
  });

  it('keeps what the subset expressed before in the subset: function parameters that are an object without properties', () => {
    const parameterless = [
      { type: 'object' },
      { type: 'object', properties: {} },
      { anyOf: [{ type: 'object' }, { type: 'null' }] },
      // zod 3's z.object({}).passthrough() writes `true`, zod 4's z.looseObject({}) the empty schema: the same.
      { type: 'object', properties: {}, additionalProperties: true },
      { type: 'object', properties: {}, additionalProperties: {} },
    ];
    for (const parameters of parameterless)
      assert.deepEqual(toGeminiSchema(parameters, 'p', true).json, undefined, JSON.stringify(parameters));
    // A map of parameters is what the subset cannot declare.
    const map = { type: 'object', additionalProperties: { type: 'string' } };
    assert.deepEqual(toGeminiSchema(map, 'p', true), { json: map });
    // An object with properties and a schema for others was accepted in the subset (without the others): it stays.
    const open = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'number' } };
    assert.deepEqual(toGeminiSchema(open, 'p'), { subset: { type: 'OBJECT', properties: { a: { type: 'STRING' } } } });
  });

  it('checks shapes and bounds the size as the subset does: a 400 naming the parameter and the place', () => {
    const misshapen = { type: 'object', properties: { m: { type: 'object', additionalProperties: { type: 5 } } } };
    assert.throws(
      () => toGeminiSchema(misshapen, 'response_format.json_schema.schema'),
      (e: GatewayError) =>
        e.status === 400 &&
        e.param === 'response_format.json_schema.schema' &&
        /'type' at properties\.m\.additionalProperties must be/.test(e.message),
    );
    const wide = {
      type: 'object',
      properties: {
        m: { type: 'object', additionalProperties: { type: 'number' } },
        ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: 'string' }])),
      },
    };
    assert.throws(
      () => toGeminiSchema(wide, 'p'),
      (e: GatewayError) => e.status === 400 && /has more than 10000 nodes/.test(e.message),
    );
    // At the bound (the top, the map and its values, 9,997 more): sent.
    const under = { ...wide, properties: Object.fromEntries(Object.entries(wide.properties).slice(0, 9_998)) };
    assert.ok(toGeminiSchema(under, 'p').json);
  });

  it('puts a response format in responseJsonSchema, never beside responseSchema, and a tool`s in parametersJsonSchema', () => {
    const deployment = new DeploymentConfig();
    const request = {
      model: 'g',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'r', schema: RECORD_SCHEMA } },
      tools: [
        {
          type: 'function',
          function: { name: 'rate', parameters: { type: 'object', properties: { scores: RECORD_SCHEMA.properties.scores } } },
        },
        { type: 'function', function: { name: 'ping', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'pong', parameters: { type: 'object', properties: {}, additionalProperties: {} } } },
      ],
    } as unknown as ChatCompletionCreateParams;
    const { config } = toGenerateRequest(request, 'gemini-x', deployment);
    assert.equal(config?.responseMimeType, 'application/json');
    assert.ok(config?.responseJsonSchema);
    assert.equal(config?.responseSchema, undefined);
    const [rate, ping, pong] = (config!.tools![0] as { functionDeclarations: FunctionDeclaration[] }).functionDeclarations;
    assert.equal(rate.parameters, undefined);
    assert.deepEqual(rate.parametersJsonSchema, { type: 'object', properties: { scores: RECORD_SCHEMA.properties.scores } });
    assert.deepEqual(ping, { name: 'ping' });
    assert.deepEqual(pong, { name: 'pong' });
  });

  it('refuses parameters that are no object in either form, naming the tool', () => {
    const deployment = new DeploymentConfig();
    const choice = { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'string' }] };
    const request = {
      model: 'g',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'pick', parameters: choice } }],
    } as unknown as ChatCompletionCreateParams;
    assert.throws(
      () => toGenerateRequest(request, 'gemini-x', deployment),
      (e: GatewayError) => e.status === 400 && e.param === 'tools[0].function.parameters' && /tool 'pick'/.test(e.message),
    );
  });
});
