import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { apiError } from '../support/chat';
import { FakeGemini, RECORD } from '../support/fake-gemini';
import { model, useVendorGateway } from '../support/vendor-contract';

/**
 * JSON schemas Gemini's OpenAPI-subset `responseSchema` cannot express (a map field, a recursive schema), through
 * the real SDKs on every ingress, to a fake Gemini that refuses what Gemini refuses (an OBJECT without properties
 * in `responseSchema` or `parameters`, a schema in both fields). Found by an independent check (sdk29): a
 * `z.record` / `Dict[str, X]` field went as an empty OBJECT, and Gemini's 400 reached the client.
 */
const KEY = 'AIza-upstream-secret-29';

const Scores = z.object({ name: z.string(), scores: z.record(z.string(), z.number()) });
const Tree: z.ZodType<{ name: string; children?: { name: string }[] }> = z.object({
  name: z.string(),
  get children() {
    return z.array(Tree).optional();
  },
});
/** As zod writes them for the clients that send them (the AI SDK, LangChain, `z.toJSONSchema`). */
const SCORES_SCHEMA = z.toJSONSchema(Scores) as Record<string, unknown>;
const TREE_SCHEMA = z.toJSONSchema(Tree) as Record<string, unknown>;
const RATE_PARAMETERS = z.toJSONSchema(Scores.pick({ scores: true })) as Record<string, unknown>;

type Config = { responseSchema?: unknown; responseJsonSchema?: unknown; responseMimeType?: string };
type Declaration = { name: string; parameters?: unknown; parametersJsonSchema?: unknown };

describe('JSON schemas beyond Gemini`s OpenAPI subset, to a Gemini deployment (real SDKs, fake Gemini API)', () => {
  const upstream = new FakeGemini(KEY);
  const client = useVendorGateway('gemini', upstream, KEY, 'gemini', [model('gemini-record')]);
  const anthropic = () => new Anthropic({ baseURL: client().baseURL.replace(/\/v1$/, ''), apiKey: 'test-client-key', maxRetries: 0 });
  const sentConfig = () => upstream.last().body.generationConfig as Config;
  const assertSentAsJsonSchema = (schema: Record<string, unknown>) => {
    const config = sentConfig();
    assert.equal(config.responseSchema, undefined);
    assert.equal(config.responseMimeType, 'application/json');
    assert.deepEqual((config.responseJsonSchema as { properties: unknown }).properties, schema.properties);
  };

  it('chat: a json_schema with a map field (z.record) is answered, parsed per the schema', async () => {
    const completion = await client().chat.completions.parse({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'Score Ada.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'scores', schema: SCORES_SCHEMA } },
    });
    assert.deepEqual(Scores.parse(completion.choices[0].message.parsed), { name: RECORD.name, scores: RECORD.scores });
    assertSentAsJsonSchema(SCORES_SCHEMA);
  });

  it('chat: a recursive json_schema (zod`s $ref to the root) is answered, parsed per the schema', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'A family tree.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'tree', schema: TREE_SCHEMA } },
    });
    assert.deepEqual(Tree.parse(JSON.parse(res.choices[0].message.content!)), { name: 'Ada', children: [{ name: 'Bo', children: [] }] });
    assertSentAsJsonSchema(TREE_SCHEMA);
  });

  it('Responses: text.format json_schema with a map field, parsed per the schema', async () => {
    const response = await client().responses.parse({
      model: 'gemini-record',
      input: 'Score Ada.',
      text: { format: { type: 'json_schema', name: 'scores', schema: SCORES_SCHEMA } },
    });
    assert.deepEqual(Scores.parse(response.output_parsed), { name: RECORD.name, scores: RECORD.scores });
    assertSentAsJsonSchema(SCORES_SCHEMA);
  });

  it('Messages: output_config.format json_schema with a map field, parsed per the schema', async () => {
    const message = await anthropic().messages.create({
      model: 'gemini-record',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Score Ada.' }],
      output_config: { format: { type: 'json_schema', schema: SCORES_SCHEMA } },
    });
    const text = message.content.find((block) => block.type === 'text');
    assert.ok(text?.type === 'text', JSON.stringify(message.content));
    assert.deepEqual(Scores.parse(JSON.parse(text.text)), { name: RECORD.name, scores: RECORD.scores });
    assertSentAsJsonSchema(SCORES_SCHEMA);
  });

  it('chat: a tool with a record parameter is declared and called, its arguments parsed per the schema', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'Rate these.' }],
      tools: [{ type: 'function', function: { name: 'rate', parameters: RATE_PARAMETERS } }],
    });
    const call = res.choices[0].message.tool_calls?.[0];
    assert.ok(call?.type === 'function', JSON.stringify(res.choices[0].message));
    assert.equal(call.function.name, 'rate');
    assert.deepEqual(Scores.pick({ scores: true }).parse(JSON.parse(call.function.arguments)), { scores: RECORD.scores });
    const [declaration] = (upstream.last().body.tools as { functionDeclarations: Declaration[] }[])[0].functionDeclarations;
    assert.equal(declaration.parameters, undefined);
    assert.deepEqual((declaration.parametersJsonSchema as { properties: unknown }).properties, RATE_PARAMETERS.properties);
  });

  it('bounds the JSON Schema as the subset: over 10,000 nodes a 400 naming the parameter; maps nested 50 deep sent', async () => {
    const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, { type: 'string' }]));
    const huge = {
      type: 'object',
      properties: {
        map: { type: 'object', additionalProperties: { type: 'number' } },
        a: { type: 'object', properties: wide(6_000) },
        b: { type: 'object', properties: wide(6_000) },
      },
    };
    const err = await apiError(
      client().chat.completions.create({
        model: 'gemini-record',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 'huge', schema: huge } },
      }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.param, 'response_format.json_schema.schema');
    assert.match(err.message, /has more than 10000 nodes/);
    let deep: Record<string, unknown> = { type: 'number' };
    for (let i = 0; i < 50; i++) deep = { type: 'object', additionalProperties: deep };
    const res = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'deep', schema: deep } },
    });
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.deepEqual(sentConfig().responseJsonSchema, deep);
  });

  // tools33 D2: valid JSON Schema, but sent untyped Gemini refuses it ("enum: only allowed for STRING type").
  const STRING_ENUMS = {
    type: 'object',
    properties: {
      unit: { enum: ['celsius', 'fahrenheit'] },
      kind: { const: 'weather' },
      mode: { anyOf: [{ const: 'fast' }, { const: 'slow' }] },
      m: { type: ['string', 'number'], enum: ['a', 'b'] },
    },
  };
  const STRING_ENUMS_SENT = {
    unit: { type: 'STRING', enum: ['celsius', 'fahrenheit'] },
    kind: { type: 'STRING', enum: ['weather'] },
    mode: {
      anyOf: [
        { type: 'STRING', enum: ['fast'] },
        { type: 'STRING', enum: ['slow'] },
      ],
    },
    m: { type: 'STRING', enum: ['a', 'b'] },
  };

  /** `schema` as a tool's parameters, then as a json_schema response format: both answered; what Gemini got of each. */
  const sentBoth = async (schema: Record<string, unknown>) => {
    const res = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f', parameters: schema } }],
    });
    assert.equal(res.choices[0].finish_reason, 'tool_calls');
    const [declaration] = (upstream.last().body.tools as { functionDeclarations: Declaration[] }[])[0].functionDeclarations;
    const answer = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 's', schema } },
    });
    assert.equal(answer.choices[0].finish_reason, 'stop');
    return { declaration, config: sentConfig() };
  };

  it('chat: string enums and consts without a type go as STRING enums, in a tool and a json_schema alike', async () => {
    const { declaration, config } = await sentBoth(STRING_ENUMS);
    assert.deepEqual((declaration.parameters as { properties: unknown }).properties, STRING_ENUMS_SENT);
    assert.deepEqual((config.responseSchema as { properties: unknown }).properties, STRING_ENUMS_SENT);
  });

  // tools33 D1: OpenAI and Anthropic take these names; Gemini wants a letter or an underscore first.
  const declaredNames = () =>
    (upstream.last().body.tools as { functionDeclarations: Declaration[] }[])[0].functionDeclarations.map((d) => d.name);

  it('chat: tools named with a digit or a dash first go to Gemini as `_<name>`, and their calls come back by the client`s name', async () => {
    const tools = ['3d_render', '-x_tool'].map((name) => ({ type: 'function' as const, function: { name, parameters: RATE_PARAMETERS } }));
    const res = await client().chat.completions.create({ model: 'gemini-record', messages: [{ role: 'user', content: 'Render.' }], tools });
    assert.deepEqual(declaredNames(), ['_3d_render', '_-x_tool']);
    const call = res.choices[0].message.tool_calls?.[0];
    assert.ok(call?.type === 'function', JSON.stringify(res.choices[0].message));
    assert.equal(call.function.name, '3d_render');
    const stream = await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'Render.' }, res.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'done' }],
      tools,
      tool_choice: { type: 'function', function: { name: '-x_tool' } },
      stream: true,
    });
    for await (const chunk of stream) void chunk;
    const body = upstream.last().body as {
      contents: { parts: { functionCall?: { name: string }; functionResponse?: { name: string } }[] }[];
    };
    assert.equal(body.contents[1].parts[0].functionCall?.name, '_3d_render');
    assert.equal(body.contents[2].parts[0].functionResponse?.name, '_3d_render');
    assert.deepEqual((body as { toolConfig?: unknown }).toolConfig, {
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['_-x_tool'] },
    });
  });

  it('Messages and Responses: a tool named with a digit first is called back by the client`s name', async () => {
    const message = await anthropic().messages.create({
      model: 'gemini-record',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Render.' }],
      tools: [{ name: '3d_render', input_schema: RATE_PARAMETERS as Anthropic.Tool.InputSchema }],
    });
    assert.deepEqual(declaredNames(), ['_3d_render']);
    const use = message.content.find((block) => block.type === 'tool_use');
    assert.equal(use?.type === 'tool_use' && use.name, '3d_render');
    const response = await client().responses.create({
      model: 'gemini-record',
      input: 'Render.',
      tools: [{ type: 'function', name: '3d_render', parameters: RATE_PARAMETERS, strict: false }],
    });
    assert.deepEqual(declaredNames(), ['_3d_render']);
    const call = response.output.find((item) => item.type === 'function_call');
    assert.equal(call?.type === 'function_call' && call.name, '3d_render');
  });

  it('chat: arrays without items go as JSON Schema, in a tool and a json_schema alike (tools33 D3)', async () => {
    const schema = { type: 'object', properties: { tags: { type: 'array' }, rows: { type: 'array', items: { type: 'array' } } } };
    const { declaration } = await sentBoth(schema);
    assert.equal(declaration.parameters, undefined);
    assert.deepEqual((declaration.parametersJsonSchema as { properties: unknown }).properties, schema.properties);
    assertSentAsJsonSchema(schema);
  });

  it('keeps schemas the subset expresses in responseSchema, as before', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
    await client().chat.completions.create({
      model: 'gemini-record',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema } },
    });
    assert.deepEqual(sentConfig().responseSchema, { type: 'OBJECT', properties: { name: { type: 'STRING' } }, required: ['name'] });
    assert.equal(sentConfig().responseJsonSchema, undefined);
  });
});

describe('the fake Gemini refuses what Gemini refuses in its two schema fields', () => {
  const upstream = new FakeGemini(KEY);
  let url = '';
  const post = async (generationConfig: Record<string, unknown>, tools?: unknown) => {
    const res = await fetch(`${url}/v1beta/models/gemini-record:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': KEY },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'x' }] }], generationConfig, tools }),
    });
    return { status: res.status, message: ((await res.json()) as { error?: { message: string } }).error?.message ?? '' };
  };
  const json = { responseMimeType: 'application/json' };

  it('an OBJECT without properties, both fields together, a $ref with a sibling; a map in responseJsonSchema is taken', async () => {
    url = await upstream.start();
    try {
      const map = { type: 'object', additionalProperties: { type: 'number' } };
      const empty = await post({ ...json, responseSchema: { type: 'OBJECT', properties: { scores: { type: 'OBJECT' } } } });
      assert.deepEqual(empty, {
        status: 400,
        message:
          '* GenerateContentRequest.generation_config.response_schema.properties["scores"].properties: should be non-empty for OBJECT type',
      });
      const both = await post({ ...json, responseSchema: { type: 'STRING' }, responseJsonSchema: map });
      assert.equal(both.status, 400);
      assert.match(both.message, /mutually exclusive/);
      const sibling = await post({ ...json, responseJsonSchema: { $ref: '#/$defs/a', description: 'd', $defs: { a: map } } });
      assert.equal(sibling.status, 400);
      assert.match(sibling.message, /beside \$ref/);
      const tool = [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { m: { type: 'OBJECT' } } } }] }];
      assert.equal((await post({}, tool)).status, 400);
      const bothTool = [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT' }, parametersJsonSchema: map }] }];
      assert.match((await post({}, bothTool)).message, /mutually exclusive/);
      const untyped = await post({ ...json, responseSchema: { type: 'OBJECT', properties: { u: { enum: ['c'] } } } });
      assert.match(untyped.message, /response_schema\.properties\["u"\]\.enum: only allowed for STRING type/);
      assert.equal(
        (await post({ ...json, responseSchema: { type: 'OBJECT', properties: { u: { type: 'STRING', enum: ['c'] } } } })).status,
        200,
      );
      assert.equal((await post({ ...json, responseJsonSchema: map })).status, 200);
      assert.equal((await post({}, [{ functionDeclarations: [{ name: 'f', parametersJsonSchema: map }] }])).status, 200);
    } finally {
      await upstream.stop();
    }
  });
});
