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
  it('a map field (z.record, Dict[str, X]): the schema as sent, the declared order kept', () => {
    assert.deepEqual(toGeminiSchema(RECORD_SCHEMA, 'p'), { json: { ...RECORD_SCHEMA, propertyOrdering: ['name', 'scores'] } });
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

  it('keeps what the subset expressed before in the subset: function parameters that are an object without properties', () => {
    for (const parameters of [{ type: 'object' }, { type: 'object', properties: {} }, { anyOf: [{ type: 'object' }, { type: 'null' }] }])
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
      ],
    } as unknown as ChatCompletionCreateParams;
    const { config } = toGenerateRequest(request, 'gemini-x', deployment);
    assert.equal(config?.responseMimeType, 'application/json');
    assert.ok(config?.responseJsonSchema);
    assert.equal(config?.responseSchema, undefined);
    const [rate, ping] = (config!.tools![0] as { functionDeclarations: FunctionDeclaration[] }).functionDeclarations;
    assert.equal(rate.parameters, undefined);
    assert.deepEqual(rate.parametersJsonSchema, { type: 'object', properties: { scores: RECORD_SCHEMA.properties.scores } });
    assert.deepEqual(ping, { name: 'ping' });
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
