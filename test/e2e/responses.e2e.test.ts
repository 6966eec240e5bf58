import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import fc from 'fast-check';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import type {
  ResponseCreateParams,
  ResponseFunctionToolCall,
  ResponseInputItem,
  ResponseStreamEvent,
} from 'openai/resources/responses/responses';
import { ASSISTANT_MESSAGES_IN_A_ROW, ASSISTANT_TEXTS } from '../support/assistant-items';
import { apiError, assertAbortReachesUpstream, PNG_DATA_URL } from '../support/chat';
import { COUNT_TOKENS_BASE, FakeAnthropic } from '../support/fake-anthropic';
import { FakeGemini } from '../support/fake-gemini';
import { FakeOpenAI, PARALLEL_CALLS } from '../support/fake-openai';
import type { FakeUpstream } from '../support/fake-upstream';
import { configWith, GatewayProcess } from '../support/gateway';

const ANTHROPIC_KEY = 'sk-ant-upstream-key-1';
const GEMINI_KEY = 'gemini-upstream-key-1';

const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

const ANSWER_FORMAT = {
  type: 'json_schema' as const,
  name: 'answer',
  schema: { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'], additionalProperties: false },
  strict: true,
};

interface Vendor {
  name: string;
  upstream: FakeUpstream;
  /** Gateway model names of the fake's echo, tool-calling and JSON-answering models. */
  echo: string;
  tool: string;
  json: string;
  /** True when the JSON model's answer is `{"answer":42}`. */
  answers42: boolean;
}

const VENDORS: Vendor[] = [
  { name: 'OpenAI-family', upstream: new FakeOpenAI(), echo: 'oai-echo', tool: 'oai-tool', json: 'oai-echo', answers42: false },
  {
    name: 'Anthropic',
    upstream: new FakeAnthropic(ANTHROPIC_KEY),
    echo: 'claude-echo',
    tool: 'claude-tool',
    json: 'claude-json',
    answers42: true,
  },
  { name: 'Gemini', upstream: new FakeGemini(GEMINI_KEY), echo: 'gemini-echo', tool: 'gemini-tool', json: 'gemini-json', answers42: true },
];

const on = (provider: string, id: string, name = id) => ({
  name,
  deployments: [{ provider, model: id, maxOutputTokens: 1000, capabilities: ['tools', 'json', 'vision', 'reasoning'] }],
});

let gateway: GatewayProcess;
let client: OpenAI;

before(async () => {
  const [oai, anthropic, gemini] = await Promise.all(VENDORS.map((v) => v.upstream.start()));
  gateway = await GatewayProcess.start(
    configWith({
      providers: [
        { name: 'oai', type: 'openai', baseUrl: oai, apiKeyEnv: 'FAKE_OPENAI_KEY' },
        { name: 'anthropic', type: 'anthropic', baseUrl: anthropic, apiKeyEnv: 'FAKE_ANTHROPIC_KEY' },
        { name: 'gemini', type: 'gemini', baseUrl: gemini, apiKeyEnv: 'FAKE_GEMINI_KEY' },
        { name: 'compat', type: 'openai-compatible', baseUrl: oai },
        { name: 'compat-strict', type: 'openai-compatible', baseUrl: oai, omitMessageFields: ['reasoning_content'] },
      ],
      models: [
        on('oai', 'ok', 'oai-echo'),
        on('oai', 'strict', 'oai-strict'),
        on('compat', 'ok', 'compat-echo'),
        on('compat-strict', 'strict', 'compat-strict'),
        on('oai', 'tool', 'oai-tool'),
        on('oai', 'tool-cut', 'oai-tool-cut'),
        on('oai', 'invalid-max_completion_tokens', 'oai-invalid-max'),
        on('oai', 'invalid-messages[1].content', 'oai-invalid-content'),
        on('anthropic', 'claude-echo'),
        on('anthropic', 'claude-tool'),
        on('anthropic', 'claude-json'),
        on('anthropic', 'claude-think'),
        on('anthropic', 'claude-midstream-error'),
        on('anthropic', 'claude-drip-200'),
        on('gemini', 'gemini-echo'),
        on('gemini', 'gemini-tool'),
        on('gemini', 'gemini-json'),
        on('gemini', 'gemini-signed'),
        on('compat', 'tool-noargs'),
        on('compat', 'parallel-noindex'),
        on('compat', 'parallel-sameindex'),
      ],
    }),
    { env: { FAKE_OPENAI_KEY: 'sk-fake-openai', FAKE_ANTHROPIC_KEY: ANTHROPIC_KEY, FAKE_GEMINI_KEY: GEMINI_KEY } },
  );
  client = gateway.client();
});

after(async () => {
  await gateway?.stop();
  await Promise.all(VENDORS.map((v) => v.upstream.stop()));
});

/** What reached the fake upstream last, as text, for vendor-neutral checks. */
const sentLast = (v: Vendor) => JSON.stringify(v.upstream.last().body);

const functionCalls = (output: OpenAI.Responses.ResponseOutputItem[]) =>
  output.filter((o): o is ResponseFunctionToolCall => o.type === 'function_call');

// Found by an independent check: reasoning items came back as `reasoning_content` in assistant
// history, which servers that refuse fields OpenAI does not define answer with a 4xx (no fallback).
describe('reasoning replayed as input, to OpenAI-format upstreams', () => {
  const input: OpenAI.Responses.ResponseInput = [
    { role: 'user', content: 'question' },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'I thought about it.' }] },
    { role: 'assistant', content: 'answer' },
    { role: 'user', content: 'and then?' },
  ];
  const assistantSent = () => (VENDORS[0].upstream.last().body.messages as Record<string, unknown>[]).find((m) => m.role === 'assistant')!;

  it('OpenAI itself (type openai) is not sent reasoning_content: a strict server answers', async () => {
    assert.equal((await client.responses.create({ model: 'oai-strict', input })).status, 'completed');
    assert.equal('reasoning_content' in assistantSent(), false);
  });

  it('an OpenAI-compatible server gets it back (DeepSeek, Kimi), unless its provider omits it (omitMessageFields)', async () => {
    await client.responses.create({ model: 'compat-echo', input });
    assert.equal(assistantSent().reasoning_content, 'I thought about it.');
    assert.equal((await client.responses.create({ model: 'compat-strict', input })).status, 'completed');
    assert.equal('reasoning_content' in assistantSent(), false);
  });
});

for (const v of VENDORS) {
  describe(`Responses API over a ${v.name} upstream (official openai client)`, () => {
    it('responses.create: text input and instructions, a completed response with usage', async () => {
      const res = await client.responses.create({ model: v.echo, instructions: 'Be brief.', input: 'hello responses' });
      assert.match(res.id, /^resp_/);
      assert.equal(res.object, 'response');
      assert.equal(res.status, 'completed');
      assert.match(res.output_text, /hello responses/);
      assert.equal(res.output[0].type, 'message');
      assert.ok(res.usage && res.usage.input_tokens > 0 && res.usage.output_tokens > 0);
      assert.equal(res.usage.total_tokens, res.usage.input_tokens + res.usage.output_tokens);
      assert.match(sentLast(v), /Be brief\./);
    });

    it('responses.stream: the documented event sequence, numbered, deltas adding up to the final text', async () => {
      const stream = client.responses.stream({ model: v.echo, input: [{ role: 'user', content: 'stream these words please' }] });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const final = await stream.finalResponse();
      const types = [...new Set(events.map((e) => e.type))];
      assert.deepEqual(types, [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
      assert.ok(deltas.length > 1, 'text arrives in pieces');
      assert.equal(deltas.join(''), final.output_text);
      assert.match(final.output_text, /stream these words please/);
      assert.ok(final.usage && final.usage.output_tokens > 0);
    });

    it('a function tool round trip: function_call out, function_call_output back in', async () => {
      const input: ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
      const first = await client.responses.create({ model: v.tool, input, tools: [WEATHER] });
      const [call] = functionCalls(first.output);
      assert.equal(call.name, 'get_weather');
      assert.equal(JSON.parse(call.arguments).city, 'Paris');
      assert.match(call.id!, /^fc_/);
      const second = await client.responses.create({
        model: v.tool,
        input: [
          ...input,
          ...(first.output as ResponseInputItem[]),
          { type: 'function_call_output', call_id: call.call_id, output: 'sunny-42' },
        ],
        tools: [WEATHER],
      });
      assert.equal(functionCalls(second.output).length, 0);
      assert.match(second.output_text, /tool results: .*sunny-42/);
    });

    it('a streamed function call: arguments in deltas, then done events', async () => {
      const stream = client.responses.stream({ model: v.tool, input: 'Weather in Paris?', tools: [WEATHER], tool_choice: 'required' });
      let args = '';
      let done: string | undefined;
      for await (const e of stream) {
        if (e.type === 'response.function_call_arguments.delta') args += e.delta;
        if (e.type === 'response.function_call_arguments.done') done = e.arguments;
      }
      const [call] = functionCalls((await stream.finalResponse()).output);
      assert.equal(done, call.arguments);
      assert.equal(args, call.arguments);
      assert.equal(JSON.parse(call.arguments).city, 'Paris');
    });

    it('text.format json_schema reaches the upstream as structured output', async () => {
      const res = await client.responses.create({ model: v.json, input: 'What is six times seven?', text: { format: ANSWER_FORMAT } });
      assert.match(sentLast(v), /"answer"/, 'the schema was sent upstream');
      assert.doesNotMatch(sentLast(v), /"text":\{"format"/, 'in the vendor format, not the Responses one');
      if (v.answers42) assert.deepEqual(JSON.parse(res.output_text), { answer: 42 });
      assert.deepEqual(res.text?.format, ANSWER_FORMAT);
    });

    it('consecutive assistant messages (an item_reference among them) reach the vendor as separate texts', async () => {
      const earlier = await client.responses.create({ model: v.echo, input: 'say something', store: true });
      const said = earlier.output.find((o) => o.type === 'message')!;
      await client.responses.create({
        model: v.echo,
        input: [...ASSISTANT_MESSAGES_IN_A_ROW, { type: 'item_reference', id: said.id }, { role: 'user', content: 'go on' }],
      });
      const sent = sentLast(v);
      for (const text of [...ASSISTANT_TEXTS, earlier.output_text])
        assert.ok(sent.includes(`"text":${JSON.stringify(text)}`), `${JSON.stringify(text)} is a text of its own in ${sent}`);
    });

    it('previous_response_id continues a stored conversation (streamed turn included)', async () => {
      const first = await client.responses.create({ model: v.echo, input: 'My name is Zed.', store: true, instructions: 'Be kind.' });
      const stream = client.responses.stream({ model: v.echo, previous_response_id: first.id, input: 'What is my name?' });
      const second = await stream.finalResponse();
      assert.equal(second.previous_response_id, first.id);
      const sent = sentLast(v);
      assert.match(sent, /My name is Zed\./);
      assert.ok(sent.includes(JSON.stringify(first.output_text).slice(1, -1)), 'the earlier answer was replayed');
      assert.doesNotMatch(sent, /Be kind\./, 'instructions are not carried over, as OpenAI documents');
      await client.responses.create({ model: v.echo, previous_response_id: second.id, input: 'And again?' });
      assert.match(sentLast(v), /My name is Zed\.[\s\S]*What is my name\?[\s\S]*And again\?/);
    });
  });

  describe(`Vercel AI SDK default provider over a ${v.name} upstream`, () => {
    /** Request bodies the SDK sent. */
    const bodies: { input: { type?: string }[] }[] = [];
    const model = (name: string) =>
      createOpenAI({
        baseURL: `${gateway.url}/v1`,
        apiKey: 'test-client-key',
        fetch: (url, init) => {
          bodies.push(JSON.parse(String(init?.body)));
          return fetch(url, init);
        },
      })(name);

    it('generateText', async () => {
      const { text, usage } = await generateText({ model: model(v.echo), prompt: 'hello from the AI SDK' });
      assert.match(text, /hello from the AI SDK/);
      assert.ok((usage.inputTokens ?? 0) > 0);
    });

    it('streamText', async () => {
      const result = streamText({ model: model(v.echo), prompt: 'streaming from the AI SDK' });
      let text = '';
      for await (const piece of result.textStream) text += piece;
      assert.match(text, /streaming from the AI SDK/);
      assert.equal(text, await result.text);
    });

    it('a multi-turn conversation: the earlier answer comes back as an item_reference, resolved from the store', async () => {
      const prompt = { role: 'user' as const, content: 'My name is Zed.' };
      const first = await generateText({ model: model(v.echo), messages: [prompt] });
      await generateText({
        model: model(v.echo),
        messages: [prompt, ...first.response.messages, { role: 'user', content: 'What is my name?' }],
      });
      assert.deepEqual(
        bodies[bodies.length - 1].input.map((i) => i.type ?? 'message'),
        ['message', 'item_reference', 'message'],
      );
      assert.ok(sentLast(v).includes(JSON.stringify(first.text).slice(1, -1)), 'the referenced answer reached the upstream');
    });

    it('a tool loop: the SDK runs the tool and sends its result back', async () => {
      const seen: unknown[] = [];
      const result = await generateText({
        model: model(v.tool),
        prompt: 'Weather in Paris?',
        tools: {
          get_weather: tool({
            description: 'Weather for a city',
            inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
            execute: async (args) => {
              seen.push(args);
              return { forecast: 'sunny-42' };
            },
          }),
        },
        stopWhen: stepCountIs(3),
      });
      assert.equal(seen.length, 1);
      assert.equal((seen[0] as { city: string }).city, 'Paris');
      assert.equal(result.steps.length, 2);
      assert.match(result.text, /tool results: .*sunny-42/);
    });
  });
}

describe('Responses API: errors, storage and the mock model', () => {
  it('GET and DELETE /v1/responses/{id}', async () => {
    const created = await client.responses.create({ model: 'mock', input: 'keep me', store: true });
    const fetched = await client.responses.retrieve(created.id);
    assert.deepEqual({ ...fetched, output_text: undefined }, { ...created, output_text: undefined });
    await client.responses.delete(created.id);
    assert.equal((await apiError(client.responses.retrieve(created.id))).status, 404);
    assert.equal((await apiError(client.responses.delete(created.id))).status, 404);
  });

  // Found by an independent check (api32): GET /v1/responses/{id}?include[]=bogus was a 200, while create refuses the value.
  it('GET /v1/responses/{id} and its input_items check `include` as create does', async () => {
    const created = await client.responses.create({ model: 'mock', input: 'include me', store: true });
    const bogus = ['reasoning.encrypted_content', 'bogus'] as unknown as OpenAI.Responses.ResponseIncludable[];
    for (const refused of [
      await apiError(client.responses.retrieve(created.id, { include: bogus })),
      await apiError(client.responses.inputItems.list(created.id, { include: bogus })),
    ]) {
      assert.deepEqual(
        [refused.status, refused.type, refused.code, refused.param],
        [400, 'invalid_request_error', 'invalid_value', 'include[1]'],
      );
      assert.match(refused.message, /'bogus'/);
    }
    const plain = await fetch(`${gateway.url}/v1/responses/${created.id}?include=bogus`);
    assert.equal(plain.status, 400);
    // Indexed, as other query encoders write arrays (recheck32b: not read, a 200).
    const indexed = await fetch(`${gateway.url}/v1/responses/${created.id}?include[0]=bogus`);
    assert.equal(indexed.status, 400);
    const logprobs = await apiError(client.responses.retrieve(created.id, { include: ['message.output_text.logprobs'] }));
    assert.deepEqual([logprobs.status, logprobs.param], [400, 'include']);
    const fetched = await client.responses.retrieve(created.id, { include: ['reasoning.encrypted_content'] });
    assert.equal(fetched.id, created.id);
    assert.ok((await client.responses.inputItems.list(created.id, { include: ['message.input_image.image_url'] })).data.length > 0);
  });

  // Found by an independent check: these were 404 `not_found`, and clients recover (resend the whole
  // conversation) only on OpenAI's 400 `previous_response_not_found`.
  it('store: false is not kept; continuing an unknown, unstored or deleted response is a 400 previous_response_not_found', async () => {
    const res = await client.responses.create({ model: 'mock', input: 'forget me', store: false });
    assert.equal((res as { store?: boolean }).store, false);
    assert.equal((await apiError(client.responses.retrieve(res.id))).status, 404);
    const deleted = await client.responses.create({ model: 'mock', input: 'delete me', store: true });
    await client.responses.delete(deleted.id);
    for (const id of [res.id, deleted.id, 'resp_unknown']) {
      for (const stream of [false, true]) {
        const err = await apiError(client.responses.create({ model: 'mock', input: 'x', previous_response_id: id, stream }));
        assert.ok(err instanceof OpenAI.BadRequestError, `${id} stream ${stream}: ${err.status}`);
        assert.deepEqual(
          [err.code, err.param, err.type, (err.error as { message: string }).message],
          ['previous_response_not_found', 'previous_response_id', 'invalid_request_error', `Previous response with id '${id}' not found.`],
        );
      }
    }
    // Found by an independent check (state28): an empty id started a new conversation, as if none had been sent.
    const empty = await apiError(client.responses.create({ model: 'mock', input: 'x', previous_response_id: '' }));
    assert.deepEqual([empty.status, empty.param], [400, 'previous_response_id']);
  });

  // Found by an independent check: safety_identifier and prompt_cache_key were not echoed.
  it('user, safety_identifier, prompt_cache_key and metadata (keys up to 64 characters) are echoed, streamed or not, and on GET', async () => {
    const settings = { user: 'u-1', safety_identifier: 'sid-1', prompt_cache_key: 'pck-1', metadata: { ['k'.repeat(64)]: 'v' } };
    const echoed = (r: OpenAI.Responses.Response) => ({
      user: r.user,
      safety_identifier: r.safety_identifier,
      prompt_cache_key: r.prompt_cache_key,
      metadata: r.metadata,
    });
    const created = await client.responses.create({ model: 'mock', input: 'x', ...settings });
    const streamed = await client.responses.stream({ model: 'mock', input: 'x', ...settings }).finalResponse();
    for (const r of [created, streamed, await client.responses.retrieve(created.id), await client.responses.retrieve(streamed.id)])
      assert.deepEqual(echoed(r), settings);
  });

  // Found by an independent check: the key count and value length were checked, the key length was not.
  it('a metadata key over 64 characters is a 400 naming metadata and the key, as on OpenAI', async () => {
    const err = await apiError(client.responses.create({ model: 'mock', input: 'x', metadata: { ['k'.repeat(65)]: 'v' } }));
    assert.deepEqual([err.status, err.param, err.code], [400, 'metadata', 'invalid_value']);
    assert.match(err.message, /Invalid key 'k{64}…' in 'metadata': must NOT have more than 64 characters/);
    // utf34 D4: the key quoted is cut at 64 UTF-16 units, never between the halves of an emoji.
    const emoji = await apiError(client.responses.create({ model: 'mock', input: 'x', metadata: { ['a' + '😀'.repeat(70)]: 'v' } }));
    assert.equal(Buffer.from(emoji.message).toString(), emoji.message, 'no lone surrogate');
    assert.match(emoji.message, /Invalid key 'a(😀){31}…' in 'metadata'/u);
  });

  // Found by an independent check: both were read as response ids and answered 405 "use GET or DELETE".
  it('input_tokens counts the prompt a create would send (Anthropic counts it, else the estimate); compact is a 404 naming it', async () => {
    const first = await client.responses.create({ model: 'claude-echo', input: 'My name is Zed.', store: true });
    const body = { model: 'claude-echo', instructions: 'Be brief.', previous_response_id: first.id, input: 'What is my name?' };
    const counted = await client.responses.inputTokens.count(body).withResponse();
    assert.equal(counted.data.object, 'response.input_tokens');
    assert.match(counted.response.headers.get('x-gateway-token-count') ?? '', /^upstream; deployment=claude-echo/);
    const sent = VENDORS[1].upstream.last();
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.match(JSON.stringify(sent.body), /My name is Zed\..*What is my name\?.*"system":\[\{"type":"text","text":"Be brief\."\}\]/);
    assert.ok(counted.data.input_tokens > COUNT_TOKENS_BASE, 'the fake counted it');

    const estimate = await client.responses.inputTokens.count({ model: 'mock', input: 'count these words please' }).withResponse();
    assert.equal(estimate.response.headers.get('x-gateway-token-count'), 'estimate');
    assert.ok(estimate.data.input_tokens > 0);
    const err = await apiError(client.responses.inputTokens.count({ model: 'mock', input: 'x', previous_response_id: 'resp_unknown' }));
    assert.deepEqual([err.status, err.code], [400, 'previous_response_not_found']);

    const compact = await apiError(client.responses.compact({ model: 'mock', input: 'x' }));
    assert.deepEqual([compact.status, compact.code, compact.type], [404, 'unsupported_endpoint', 'invalid_request_error']);
    assert.match(compact.message, /\/v1\/responses\/compact .*not supported/);
  });

  it('bad requests get OpenAI errors naming the parameter', async () => {
    const cases: [Record<string, unknown>, number, string | null][] = [
      [{ model: 'mock', input: 'x', tools: [{ type: 'web_search' }] }, 400, 'tools[0].type'],
      [{ model: 'mock', input: 'x', background: true }, 400, 'background'],
      // Log probabilities, asked by include as by top_logprobs (found by an independent check: 200 with none).
      [{ model: 'mock', input: 'x', include: ['message.output_text.logprobs'] }, 400, 'include'],
      [{ model: 'mock', input: 'x', top_logprobs: 2 }, 400, 'top_logprobs'],
      // Values OpenAI does not define (found by an independent check: ignored, or forwarded upstream).
      [{ model: 'mock', input: 'x', include: ['reasoning.encrypted_content', 'foo.bar'] }, 400, 'include[1]'],
      [{ model: 'mock', input: 'x', truncation: 'maybe' }, 400, 'truncation'],
      [{ model: 'oai-echo', input: 'x', service_tier: 'turbo' }, 400, 'service_tier'],
      [{ model: 'mock', input: [{ type: 'function_call', name: 'f' }] }, 400, 'input[0].call_id'],
      [{ model: 'mock', input: 'x', temperature: 5 }, 400, 'temperature'],
      [{ input: 'x' }, 400, 'model'],
      [{ model: 'mock', input: [{ type: 'item_reference', id: 'msg_unknown' }] }, 404, 'input[0].id'],
      [{ model: 'no-such-model', input: 'x' }, 404, 'model'],
      // Errors the chat translation raises name the Responses parameter the client sent.
      [{ model: 'oai-invalid-max', input: 'x', max_output_tokens: 10 }, 400, 'max_output_tokens'],
      [{ model: 'oai-invalid-content', input: 'x' }, 400, 'input'],
      // A Chat Completions parameter sent to /v1/responses is refused under its own name (found by an independent check).
      [{ model: 'mock', input: 'x', max_tokens: 10 }, 400, 'max_tokens'],
      [{ model: 'mock', input: 'x', response_format: { type: 'json_object' } }, 400, 'response_format'],
      [{ model: 'mock', messages: [{ role: 'user', content: 'x' }] }, 400, 'messages'],
      [
        { model: 'claude-echo', input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://example.com/a.png' }] }] },
        400,
        'input',
      ],
      [
        { model: 'gemini-json', input: 'x', text: { format: { type: 'json_schema', name: 'a', schema: { $ref: '#' } } } },
        400,
        'text.format',
      ],
    ];
    for (const [body, status, param] of cases) {
      const res = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { error: { message: string; type: string; param: string | null } };
      assert.equal(res.status, status, JSON.stringify(json));
      assert.equal(json.error.param, param, JSON.stringify(json));
      assert.ok(json.error.message && json.error.type, 'OpenAI error shape');
    }
  });

  // Found by an independent check: the tier OpenAI says served a request (flex, priority) was not shown.
  it('service_tier: the tier the upstream reports is on the response, created, streamed and on GET; none reported, none shown', async () => {
    for (const [service_tier, shown] of [
      ['flex', 'flex'],
      ['fast', 'priority'],
    ] as const) {
      const created = await client.responses.create({ model: 'oai-echo', input: 'x', service_tier });
      const streamed = await client.responses.stream({ model: 'oai-echo', input: 'x', service_tier }).finalResponse();
      assert.deepEqual(
        [created.service_tier, streamed.service_tier, (await client.responses.retrieve(streamed.id)).service_tier],
        [shown, shown, shown],
      );
    }
    assert.equal((await client.responses.create({ model: 'oai-echo', input: 'x' })).service_tier, undefined);
    assert.equal((await client.responses.create({ model: 'claude-echo', input: 'x', service_tier: 'flex' })).service_tier, undefined);
  });

  it('include values other than log probabilities change nothing', async () => {
    const res = await client.responses.create({ model: 'mock', input: 'x', include: ['reasoning.encrypted_content'] });
    assert.equal(res.status, 'completed');
  });

  it('odd bodies (fast-check, fixed seed) get a 2xx or a 4xx in OpenAI shape, never a 5xx', async () => {
    // Mostly well-formed shapes with one field of any type: deep enough to pass the schema's first checks.
    const odd = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: fc.anything() });
    const text = odd(fc.string());
    const part = odd(
      fc.record({
        type: fc.constantFrom('input_text', 'output_text', 'input_image', 'input_file', 'refusal', 'x'),
        text,
        image_url: text,
        file_data: text,
      }),
    );
    const parts = odd(fc.array(part, { maxLength: 3 }));
    const summary = odd(fc.array(odd(fc.record({ type: fc.constant('summary_text'), text })), { maxLength: 2 }));
    const item = odd(
      fc.record(
        {
          type: fc.constantFrom('message', 'function_call', 'function_call_output', 'reasoning', 'item_reference', 'web_search_call'),
          role: fc.constantFrom('user', 'assistant', 'system', 'developer', 'tool'),
          content: fc.oneof(text, parts),
          call_id: text,
          name: text,
          namespace: text,
          arguments: text,
          output: fc.oneof(text, parts),
          summary,
          encrypted_content: text,
          id: text,
        },
        { requiredKeys: ['type'] },
      ),
    );
    const fn = fc.record({
      type: fc.constant('function'),
      name: fc.constantFrom('f', 'g'),
      parameters: odd(fc.constant({ type: 'object' })),
    });
    const tool = odd(
      fc.oneof(
        fn,
        fc.record({ type: fc.constantFrom('namespace', 'web_search'), name: text, tools: odd(fc.array(odd(fn), { maxLength: 2 })) }),
      ),
    );
    const toolChoice = odd(
      fc.oneof(
        fc.constantFrom('auto', 'none', 'required', 'bogus'),
        fc.record({
          type: fc.constantFrom('function', 'allowed_tools', 'web_search'),
          name: text,
          mode: text,
          tools: odd(fc.array(odd(fn), { maxLength: 2 })),
        }),
      ),
    );
    const body = fc.record(
      {
        model: fc.constant('mock'),
        input: fc.oneof(text, odd(fc.array(item, { maxLength: 4 }))),
        tools: odd(fc.array(tool, { maxLength: 2 })),
        tool_choice: toolChoice,
        text: odd(
          fc.record({
            format: odd(
              fc.record({ type: fc.constantFrom('text', 'json_object', 'json_schema'), name: text, schema: odd(fc.constant({})) }),
            ),
          }),
        ),
        reasoning: odd(fc.record({ effort: odd(fc.constantFrom('low', 'high')), summary: text })),
        stream: fc.boolean(),
      },
      { requiredKeys: ['model', 'input'] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await fetch(`${gateway.url}/v1/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(b),
        });
        const text = await res.text();
        assert.ok(res.status < 500, `${res.status} for ${JSON.stringify(b)}: ${text}`);
        if (res.status >= 400) {
          const { error } = JSON.parse(text) as { error: { message: string; type: string } };
          assert.ok(error.message && error.type, text);
        }
      }),
      { seed: 15, numRuns: 400 },
    );
  });

  // Found by an independent check: an encrypted_content that decoded to `[null]` was a 500 on every provider.
  it('any encrypted_content (fast-check, fixed seed) gets a 2xx or a 4xx, on the mock and on each vendor; altered blocks a 400 naming it', async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signature = fc.oneof(
      fc.jsonValue(),
      fc.jsonValue().map((v) => `gateway-gemini:${b64(v)}`),
    );
    const block = fc.record(
      { type: fc.constantFrom('thinking', 'redacted_thinking', 'x'), thinking: fc.jsonValue(), signature, data: fc.jsonValue() },
      { requiredKeys: ['type'] },
    );
    const encrypted = fc.oneof(fc.string(), fc.jsonValue().map(b64), fc.array(fc.oneof(block, fc.jsonValue()), { maxLength: 3 }).map(b64));
    const ask = (model: string, encrypted_content: string) =>
      fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model,
          store: false,
          input: [
            { role: 'user', content: 'hi' },
            { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content },
            { role: 'assistant', content: 'hello' },
            { role: 'user', content: 'again' },
          ],
        }),
      });
    const models = ['mock', 'oai-echo', 'claude-echo', 'gemini-echo'];
    for (const model of models) {
      const res = await ask(model, b64([null]));
      const { error } = (await res.json()) as { error: { param: string } };
      assert.deepEqual([res.status, error.param], [400, 'input[1].encrypted_content'], model);
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...models), encrypted, async (model, encrypted_content) => {
        const res = await ask(model, encrypted_content);
        const text = await res.text();
        assert.ok(res.status < 500, `${res.status} on ${model} for ${encrypted_content}: ${text}`);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  /** The events of a streamed create, read whole (the SDK throws at the `error` event, before handing it out). */
  const streamedEvents = async (body: Record<string, unknown>) => {
    const res = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const text = await res.text();
    return text
      .trim()
      .split('\n\n')
      .map(
        (frame) =>
          JSON.parse(
            frame
              .split('\n')
              .find((l) => l.startsWith('data: '))!
              .slice(6),
          ) as ResponseStreamEvent,
      );
  };

  it('a stream that fails after it began ends with response.failed and an error event; the client gets an APIError', async () => {
    const events = (await streamedEvents({ model: 'claude-midstream-error', input: 'a long enough prompt' })) as {
      type: string;
      response?: { status: string };
    }[];
    assert.deepEqual(
      events.slice(-2).map((e) => e.type),
      ['response.failed', 'error'],
    );
    assert.equal(events[events.length - 2].response?.status, 'failed');
    assert.ok(
      events.some((e) => e.type === 'response.output_text.delta'),
      'text came first',
    );
    const err = await apiError(
      (async () => {
        for await (const _ of client.responses.stream({ model: 'claude-midstream-error', input: 'a long enough prompt' }));
      })(),
    );
    assert.match(err.message, /overloaded/i);
  });

  // Found by an independent check: a response that failed after response.created was never stored (GET
  // 404), and its response.error.code was the gateway's own (`upstream_overloaded`), outside OpenAI's enum.
  it('a response that fails mid-stream is stored as failed (unless store: false), with its items so far; it cannot be continued', async () => {
    const failing = (store?: boolean) => streamedEvents({ model: 'claude-midstream-error', input: 'a long enough prompt', store });
    const events = await failing();
    const failed = events.find((e) => e.type === 'response.failed')!.response;
    const errorEvent = events.find((e) => e.type === 'error')!;
    assert.deepEqual([failed.status, failed.error?.code, errorEvent.code], ['failed', 'server_error', 'upstream_overloaded']);
    // Found by an independent check: with the fields only flat, openai-python and openai-node 6 (which raise on
    // the event's `error` object, as OpenAI's API sends it) ended the loop quietly: a short answer taken whole.
    assert.deepEqual((errorEvent as unknown as { error: object }).error, {
      type: 'upstream_error',
      code: 'upstream_overloaded',
      message: errorEvent.message,
      param: null,
    });
    const fetched = await client.responses.retrieve(failed.id);
    assert.deepEqual({ ...fetched, output_text: undefined }, { ...failed, output_text: undefined });
    assert.equal(fetched.output[0].type, 'message', 'the text received before the failure');
    assert.deepEqual(
      (await client.responses.inputItems.list(failed.id)).data.map((i) => i.type),
      ['message'],
    );
    const err = await apiError(client.responses.create({ model: 'claude-echo', input: 'go on', previous_response_id: failed.id }));
    assert.deepEqual([err.status, err.param, err.code], [400, 'previous_response_id', 'invalid_value']);
    assert.match(err.message, /failed and cannot be continued/);

    const unstored = (await failing(false)).find((e) => e.type === 'response.failed')!.response;
    assert.equal((await apiError(client.responses.retrieve(unstored.id))).status, 404);
  });

  // Found by an independent check: a call cut by max_output_tokens (or a model's bad JSON) was stored, and
  // continuing it on Anthropic or Gemini was a 400 blaming the client's `input` for the gateway's own item.
  it('a stored call whose arguments are no JSON object continues on Anthropic and Gemini, its text under raw_arguments', async () => {
    const cut = await client.responses.create({ model: 'oai-tool-cut', input: 'Weather in Paris?', tools: [WEATHER] });
    assert.equal(cut.status, 'incomplete');
    const [call] = functionCalls(cut.output);
    assert.equal(call.arguments, '{"city":"Paris, Fran');
    for (const [v, model] of [
      [VENDORS[1], 'claude-echo'],
      [VENDORS[2], 'gemini-echo'],
    ] as const) {
      const next = await client.responses.create({
        model,
        previous_response_id: cut.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
        tools: [WEATHER],
      });
      assert.equal(next.status, 'completed', model);
      assert.ok(sentLast(v).includes(JSON.stringify({ raw_arguments: '{"city":"Paris, Fran' })), `${model}: ${sentLast(v)}`);
    }
  });

  // Found by an independent check: forwarded, each upstream answered it its own way (or ignored it); an
  // allowed_tools one (found by a later check) left Gemini no tool at all, and it answered in text.
  it('a tool_choice naming a tool not in tools is a 400 naming tool_choice on every vendor, not sent upstream', async () => {
    const absent = { type: 'function', name: 'get_time' };
    for (const v of VENDORS) {
      const before = v.upstream.received.length;
      for (const [tool_choice, name] of [
        [absent, 'get_time'],
        [{ type: 'custom', name: 'apply_patch' }, 'apply_patch'],
        [{ type: 'allowed_tools', mode: 'required', tools: [absent] }, 'get_time'],
        [{ type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: WEATHER.name }, absent] }, 'get_time'],
      ] as [NonNullable<ResponseCreateParams['tool_choice']>, string][]) {
        const err = await apiError(client.responses.create({ model: v.tool, input: 'x', tools: [WEATHER], tool_choice }));
        assert.deepEqual(
          [err.status, err.param, err.code, err.type],
          [400, 'tool_choice', 'invalid_value', 'invalid_request_error'],
          `${v.name} ${JSON.stringify(tool_choice)}`,
        );
        assert.match(err.message, new RegExp(`'${name}', which is not in 'tools'`));
      }
      // An allowed_tools one on the chat route too.
      const chatTools = [{ type: 'function' as const, function: { name: WEATHER.name, parameters: WEATHER.parameters } }];
      const allowed = { mode: 'required' as const, tools: [{ type: 'function' as const, function: { name: 'get_time' } }] };
      const err = await apiError(
        client.chat.completions.create({
          model: v.tool,
          messages: [{ role: 'user', content: 'x' }],
          tools: chatTools,
          tool_choice: { type: 'allowed_tools', allowed_tools: allowed },
        }),
      );
      assert.deepEqual([err.status, err.param, err.code], [400, 'tool_choice', 'invalid_value'], `${v.name} chat`);
      assert.match(err.message, /'get_time', which is not in 'tools'/);
      assert.equal(v.upstream.received.length, before, `${v.name}: nothing sent upstream`);
    }
    // Tools it names that are all declared are served.
    const chatTools = [{ type: 'function' as const, function: { name: WEATHER.name, parameters: WEATHER.parameters } }];
    const served = await client.chat.completions.create({
      model: VENDORS[2]!.tool,
      messages: [{ role: 'user', content: 'x' }],
      tools: chatTools,
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: WEATHER.name } }] },
      },
    });
    assert.equal(served.choices[0]?.message.tool_calls?.length, 1);
  });

  // Found by an independent check: `not_found_error` (Anthropic's type) on OpenAI's paths.
  it('POST /v1/responses/{id}/cancel and other unknown OpenAI routes are 404s of OpenAI`s invalid_request_error', async () => {
    const created = await client.responses.create({ model: 'mock', input: 'x' });
    const err = await apiError(client.responses.cancel(created.id));
    assert.deepEqual([err.status, err.type], [404, 'invalid_request_error']);
    for (const path of ['/v1/responses/x/y/z', '/v1/nothing-here']) {
      const res = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'invalid_request_error', path);
    }
  });

  it('a client that leaves a stream aborts the upstream request', async () => {
    await assertAbortReachesUpstream(VENDORS[1].upstream, async (signal, abort) => {
      const stream = await client.responses.create(
        { model: 'claude-drip-200', input: 'a b c d e f g h i j k l', stream: true },
        { signal },
      );
      let deltas = 0;
      for await (const e of stream) if (e.type === 'response.output_text.delta' && ++deltas === 2) abort();
    });
  });

  it('reasoning: thinking arrives as a reasoning item whose encrypted_content replays the signed blocks', async () => {
    const first = await client.responses.create({ model: 'claude-think', input: 'six times seven?', reasoning: { effort: 'low' } });
    const reasoning = first.output.find((o) => o.type === 'reasoning');
    assert.ok(reasoning && reasoning.type === 'reasoning');
    assert.match(reasoning.summary[0].text, /forty-two/);
    assert.ok(reasoning.encrypted_content);
    await client.responses.create({
      model: 'claude-think',
      input: [...(first.output as ResponseInputItem[]), { role: 'user', content: 'and again?' }],
      reasoning: { effort: 'low' },
    });
    assert.match(JSON.stringify(VENDORS[1].upstream.last().body), /"signature":"sig-fake-123"/);
  });
});

// Found by an independent check: the signature was lost, and Gemini got the placeholder every turn.
describe('Responses API: a Gemini tool call`s thought signature comes back to it', () => {
  // `gemini-signed` signs its first call only, as Gemini signs parallel calls, and refuses the next
  // turn unless each call comes back with its own signature (the placeholder, or one on the wrong call, is a 400).
  it('store: false, created and streamed: a reasoning item`s encrypted_content carries it', async () => {
    const time = { ...WEATHER, name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } }, strict: false };
    const ask = { model: 'gemini-signed', store: false, tools: [WEATHER, time], input: [{ role: 'user' as const, content: 'Both?' }] };
    const streamed = client.responses.stream(ask);
    for await (const _ of streamed);
    for (const first of [await client.responses.create(ask), await streamed.finalResponse()]) {
      assert.deepEqual(
        first.output.map((o) => o.type),
        ['message', 'reasoning', 'function_call', 'function_call'],
      );
      assert.ok((first.output[1] as OpenAI.Responses.ResponseReasoningItem).encrypted_content);
      const input: ResponseInputItem[] = [
        ...ask.input,
        ...(first.output as ResponseInputItem[]),
        ...functionCalls(first.output).map((c) => ({
          type: 'function_call_output' as const,
          call_id: c.call_id,
          output: `${c.name} done`,
        })),
      ];
      const next = await client.responses.create({ ...ask, input });
      assert.match(next.output_text, /^tool results: get_weather/);
      assert.deepEqual((VENDORS[2].upstream as FakeGemini).replayedSignatures(), [['gsig-P', null]]);
    }
  });

  // Found by an independent check: LangChain (ChatOpenAI with the Responses API) keeps a streamed reasoning
  // item as output_item.added shows it; without encrypted_content there, Gemini got the placeholder.
  it('streamed: the reasoning item is announced with its encrypted_content', async () => {
    const ask = { model: 'gemini-signed', store: false, tools: [WEATHER], input: [{ role: 'user' as const, content: 'Weather?' }] };
    const events: ResponseStreamEvent[] = [];
    for await (const event of client.responses.stream(ask)) events.push(event);
    const reasoning = (type: string) =>
      events.flatMap((e) => (e.type === type && 'item' in e && e.item.type === 'reasoning' ? [e.item] : []));
    const [added] = reasoning('response.output_item.added');
    const [done] = reasoning('response.output_item.done');
    assert.ok(done?.type === 'reasoning' && done.encrypted_content);
    assert.equal(added?.type === 'reasoning' && added.encrypted_content, done.encrypted_content);
  });
});

// Found by an independent check: `arguments: ""`, which clients JSON.parse.
describe('Responses API: a call without arguments', () => {
  const listAll = { type: 'function' as const, name: 'list_all', parameters: { type: 'object', properties: {} }, strict: false };

  it('has arguments "{}" when the upstream sent "" (created) or none (streamed): deltas, done event and item agree', async () => {
    const ask = { model: 'tool-noargs', input: 'List them.', tools: [listAll], store: false };
    const created = await client.responses.create(ask);
    assert.equal(functionCalls(created.output)[0].arguments, '{}');

    const stream = client.responses.stream(ask);
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const deltas = events.flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []));
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.equal(deltas.join(''), '{}');
    assert.equal(done?.type === 'response.function_call_arguments.done' && done.arguments, '{}');
    assert.equal(functionCalls((await stream.finalResponse()).output)[0].arguments, '{}');
  });

  // Found by an independent check: the non-streamed path stored the upstream's "" and sent it back.
  it('previous_response_id sends upstream the "{}" the client was shown, created or streamed', async () => {
    const ask = { model: 'tool-noargs', input: 'List them.', tools: [listAll] };
    const streamed = client.responses.stream(ask);
    for await (const _ of streamed);
    for (const first of [await client.responses.create(ask), await streamed.finalResponse()]) {
      const call = functionCalls(first.output)[0];
      const output: ResponseInputItem = { type: 'function_call_output', call_id: call.call_id, output: 'a, b' };
      await client.responses.create({ ...ask, previous_response_id: first.id, input: [output] });
      const replayed = (VENDORS[0].upstream.last().body.messages as { tool_calls?: { function: { arguments: string } }[] }[]).find(
        (m) => m.tool_calls,
      );
      assert.equal(replayed?.tool_calls?.[0].function.arguments, '{}');
    }
  });
});

// Found by an independent check: an image a tool returned (the Agents SDK's ToolOutputImage) was a 400
// on Claude and Gemini ("A tool message may only contain text"); OpenAI-format upstreams got image
// parts in a tool message, where Chat Completions takes text parts only.
// Found by an independent check: a `developer` item (Codex sends its context as one every turn) reached
// OpenAI-compatible servers as role `developer`, which only OpenAI defines: DeepSeek answers it with a 400.
describe('a developer message, to OpenAI-format upstreams', () => {
  const rolesSent = () => (VENDORS[0].upstream.last().body.messages as { role: string }[]).map((m) => m.role);
  const input: OpenAI.Responses.ResponseInput = [
    { role: 'developer', content: 'Answer in English.' },
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: read-only.' }] },
    { role: 'user', content: 'hi' },
  ];
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'developer', content: 'Answer in English.' },
    { role: 'user', content: 'hi' },
  ];

  it('an OpenAI-compatible server gets it as system, from /v1/responses and /v1/chat/completions, streamed or not', async () => {
    await client.responses.create({ model: 'compat-echo', instructions: 'Be brief.', input });
    assert.deepEqual(rolesSent(), ['system', 'system', 'system', 'user']);
    await client.responses.stream({ model: 'compat-echo', input }).finalResponse();
    assert.deepEqual(rolesSent(), ['system', 'system', 'user']);
    await client.chat.completions.create({ model: 'compat-echo', messages });
    assert.deepEqual(rolesSent(), ['system', 'user']);
    for await (const _ of await client.chat.completions.create({ model: 'compat-echo', messages, stream: true }));
    assert.deepEqual(rolesSent(), ['system', 'user']);
  });

  it('OpenAI itself (type openai) gets it as developer', async () => {
    await client.responses.create({ model: 'oai-echo', input });
    assert.deepEqual(rolesSent(), ['developer', 'developer', 'user']);
    await client.chat.completions.create({ model: 'oai-echo', messages });
    assert.deepEqual(rolesSent(), ['developer', 'user']);
  });
});

// Found by an independent check: an allowed_tools tool_choice reached OpenAI-compatible servers in OpenAI's own
// form (added with GPT-5) with every tool declared; servers that know only the classic forms refuse it or
// ignore the restriction. Anthropic and Gemini get the tool list narrowed; so do they now.
describe('tool_choice allowed_tools, to OpenAI-format upstreams', () => {
  const sent = () => VENDORS[0].upstream.last().body as { tools?: { function: { name: string } }[]; tool_choice?: unknown };
  const tools = ['get_weather', 'get_time', 'other'].map((name) => ({ ...WEATHER, name }));
  const chatTools = tools.map(({ name, parameters }) => ({ type: 'function' as const, function: { name, parameters } }));

  it('an OpenAI-compatible server gets the allowed tools alone and the mode, from /v1/responses and /v1/chat/completions', async () => {
    for (const mode of ['auto', 'required'] as const) {
      const tool_choice = { type: 'allowed_tools' as const, mode, tools: [{ type: 'function', name: 'get_time' }] };
      await client.responses.create({ model: 'compat-echo', input: 'time?', tools, tool_choice });
      assert.deepEqual([sent().tools?.map((t) => t.function.name), sent().tool_choice], [['get_time'], mode]);
      await client.chat.completions.create({
        model: 'compat-echo',
        messages: [{ role: 'user', content: 'time?' }],
        tools: chatTools,
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode, tools: [{ type: 'function', function: { name: 'get_time' } }] } },
      });
      assert.deepEqual([sent().tools?.map((t) => t.function.name), sent().tool_choice], [['get_time'], mode]);
    }
  });

  it('OpenAI itself (type openai) gets every tool and the allowed_tools choice', async () => {
    const tool_choice = { type: 'allowed_tools' as const, mode: 'required' as const, tools: [{ type: 'function', name: 'get_time' }] };
    await client.responses.create({ model: 'oai-echo', input: 'time?', tools, tool_choice });
    assert.deepEqual(
      [sent().tools?.map((t) => t.function.name), sent().tool_choice],
      [
        ['get_weather', 'get_time', 'other'],
        { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }] } },
      ],
    );
  });
});

// Found by an independent check: parallel calls streamed without `index`, or all with `index: 0`, came out as one
// function_call (the first call's name and call_id, both arguments concatenated), the second call lost.
describe('Responses API: parallel calls an OpenAI-format upstream streams without distinct indexes', () => {
  for (const model of ['parallel-noindex', 'parallel-sameindex']) {
    it(`${model}: each call is its own function_call, with its own call_id, name and arguments`, async () => {
      const tools = ['get_weather', 'get_time'].map((name) => ({ ...WEATHER, name }));
      const response = await client.responses.stream({ model, input: 'Weather in Paris, time in Berlin?', tools }).finalResponse();
      assert.deepEqual(
        functionCalls(response.output).map(({ call_id, name, arguments: args }) => ({ call_id, name, arguments: args })),
        PARALLEL_CALLS,
      );
    });
  }
});

describe('Responses API: a function_call_output with images and files', () => {
  const pdf = 'data:application/pdf;base64,JVBERi0xLjQK';
  const input: ResponseInputItem[] = [
    { role: 'user', content: 'Screenshots of both?' },
    { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    { type: 'function_call', call_id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    {
      type: 'function_call_output',
      call_id: 'call_a',
      output: [
        { type: 'input_text', text: 'Oslo shot' },
        { type: 'input_image', image_url: PNG_DATA_URL },
        { type: 'input_file', file_data: pdf, filename: 'oslo.pdf' },
      ],
    },
    { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_image', image_url: PNG_DATA_URL, detail: 'auto' }] },
  ];

  it('OpenAI-format upstreams: text in the tool messages, the images and files in one user message after the round', async () => {
    const res = await client.responses.create({ model: 'oai-tool', tools: [WEATHER], input });
    assert.equal(res.status, 'completed');
    assert.deepEqual((VENDORS[0].upstream.last().body.messages as object[]).slice(2), [
      { role: 'tool', tool_call_id: 'call_a', content: 'Oslo shot' },
      { role: 'tool', tool_call_id: 'call_b', content: '' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: PNG_DATA_URL } },
          { type: 'file', file: { file_data: pdf, filename: 'oslo.pdf' } },
          { type: 'image_url', image_url: { url: PNG_DATA_URL, detail: 'auto' } },
        ],
      },
    ]);
  });

  /** The last user turn as each vendor got it: its blocks' types (Anthropic), its parts' kinds (Gemini). */
  const lastTurn: [Vendor, () => string[], string[]][] = [
    [
      VENDORS[1],
      () => (VENDORS[1].upstream.last().body.messages as { content: { type: string }[] }[]).at(-1)!.content.map((b) => b.type),
      ['tool_result', 'tool_result', 'image', 'document', 'image'],
    ],
    [
      VENDORS[2],
      () => (VENDORS[2].upstream.last().body.contents as { parts: object[] }[]).at(-1)!.parts.map((p) => Object.keys(p)[0]),
      ['functionResponse', 'functionResponse', 'inlineData', 'inlineData', 'inlineData'],
    ],
  ];
  for (const [v, sent, expected] of lastTurn) {
    it(`${v.name}: answered, the tool results first in the user turn, then the images and the file`, async () => {
      const res = await client.responses.create({ model: v.tool, tools: [WEATHER], input });
      assert.equal(res.status, 'completed');
      assert.match(res.output_text, /^tool results: /);
      assert.deepEqual(sent(), expected);
    });
  }
});

describe('Responses API and the response cache', () => {
  let cached: GatewayProcess;
  before(async () => {
    cached = await GatewayProcess.start(configWith({ cache: { enabled: true, semantic: { enabled: false } } }));
  });
  after(() => cached?.stop());

  it('a Responses request is answered from what a chat request with the same meaning cached, and the other way round', async () => {
    const c = cached.client();
    const chat = await c.chat.completions
      .create({ model: 'mock', messages: [{ role: 'user', content: 'cache me across protocols' }] })
      .withResponse();
    assert.equal(chat.response.headers.get('x-gateway-cache'), 'miss');
    const res = await c.responses.create({ model: 'mock', input: 'cache me across protocols' }).withResponse();
    assert.equal(res.response.headers.get('x-gateway-cache'), 'hit-exact');
    assert.equal(res.data.output_text, chat.data.choices[0].message.content);
    const stream = c.responses.stream({ model: 'mock', input: 'cache me across protocols' });
    assert.equal((await stream.finalResponse()).output_text, chat.data.choices[0].message.content);

    await c.responses.create({ model: 'mock', instructions: 'Be brief.', input: 'and this one first' });
    const back = await c.chat.completions
      .create({
        model: 'mock',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'and this one first' },
        ],
      })
      .withResponse();
    assert.equal(back.response.headers.get('x-gateway-cache'), 'hit-exact');
  });
});
