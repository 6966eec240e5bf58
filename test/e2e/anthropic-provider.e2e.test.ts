import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { JSON_OBJECT_INSTRUCTION } from '../../libs/providers/src/anthropic/request';
import { apiError, collect, CONVERSATION, ECHOED_HISTORY, parallelCallForms, PNG_DATA_URL, TIME_TOOL, WEATHER_TOOL } from '../support/chat';
import { FakeAnthropic, WEATHER_ARGS } from '../support/fake-anthropic';
import { configWith, GatewayProcess } from '../support/gateway';
import { model, streamingContract, toolChoiceContract, useVendorGateway, type VendorUnderTest } from '../support/vendor-contract';

const KEY = 'sk-ant-upstream-secret-42';
const MODELS = [
  'claude-echo',
  'claude-tool',
  'claude-parallel',
  'claude-noargs',
  'claude-think',
  'claude-json',
  'claude-early-error',
  'claude-midstream-error',
  'claude-cut',
  'claude-slow-3000',
  'claude-proxy-page',
];
const STOP_REASONS: [string, string][] = [
  ['end_turn', 'stop'],
  ['stop_sequence', 'stop'],
  ['max_tokens', 'length'],
  ['model_context_window_exceeded', 'length'],
  ['pause_turn', 'stop'],
  ['refusal', 'content_filter'],
];
/** Anthropic error type -> [status the client sees, code, retryable by failing over]. */
const ERRORS: [string, number, string | null][] = [
  ['invalid_request_error', 400, null],
  ['authentication_error', 502, 'upstream_auth_failed'],
  ['billing_error', 502, 'upstream_quota_exceeded'],
  ['permission_error', 502, 'upstream_permission_denied'],
  ['not_found_error', 502, 'upstream_not_found'],
  ['request_too_large', 413, 'request_too_large'],
  ['rate_limit_error', 429, 'rate_limit_exceeded'],
  ['api_error', 502, 'upstream_error'],
  ['overloaded_error', 503, 'upstream_overloaded'],
  ['timeout_error', 504, 'upstream_timeout'],
];

type Sent = {
  model: string;
  max_tokens: number;
  system?: { text: string }[];
  messages: { role: string; content: Record<string, unknown>[] }[];
  [key: string]: unknown;
};

describe('Anthropic provider through the gateway (real @anthropic-ai/sdk, fake Messages API)', () => {
  const upstream = new FakeAnthropic(KEY);
  const client = useVendorGateway('anthropic', upstream, KEY, 'claude', [
    ...MODELS.map((m) => model(m, { maxOutputTokens: 1234 })),
    model('claude-cache-write', { maxOutputTokens: 1234, price: { input: 3, cachedInput: 0.3, output: 15 } }),
    model('claude-no-usage', { maxOutputTokens: 1234, price: { input: 3, output: 15 } }),
    ...STOP_REASONS.map(([r]) => model(`claude-stop-${r}`)),
    ...ERRORS.map(([t]) => model(`claude-error-${t}`)),
    { name: 'claude-default-max', deployments: [{ provider: 'main', model: 'claude-echo' }] },
    { name: 'claude-budget', deployments: [{ provider: 'main', model: 'claude-think', thinking: 'budget', maxOutputTokens: 4000 }] },
    {
      name: 'claude-failover',
      deployments: [
        { provider: 'main', model: 'claude-error-overloaded_error' },
        { provider: 'main', model: 'claude-echo' },
      ],
    },
    {
      name: 'claude-proxy-then-echo',
      deployments: [
        { provider: 'main', model: 'claude-proxy-page' },
        { provider: 'main', model: 'claude-echo' },
      ],
    },
    {
      name: 'claude-overloaded-then-echo',
      deployments: [
        { provider: 'main', model: 'claude-overloaded-after-start' },
        { provider: 'main', model: 'claude-echo' },
      ],
    },
  ]);
  const sent = () => upstream.last().body as Sent;
  const vendor: VendorUnderTest = {
    prefix: 'claude',
    client,
    upstream,
    id: 'msg_fake_1',
    usage: {
      prompt_tokens: 18,
      completion_tokens: 7,
      total_tokens: 25,
      prompt_tokens_details: { cached_tokens: 5, cache_write_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
    overloaded: /Overloaded/,
    partial: 'echo',
  };

  // Found by an independent re-check: a stream whose message_start had no usage killed the gateway (a TypeError
  // thrown while it was billed, in the response's close listener), and such a JSON answer was a 500.
  it('an answer without usage is served and billed as estimated, streamed or not, and the gateway lives on', async () => {
    const ask = { model: 'claude-no-usage', messages: [{ role: 'user' as const, content: 'no usage please' }] };
    const { data, response } = await client().chat.completions.create(ask).withResponse();
    assert.equal(data.choices[0].message.content, 'echo: no usage please');
    assert.match(response.headers.get('x-gateway-cost-usd') ?? '', /; estimated$/);
    let text = '';
    const stream = await client().chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, 'echo: no usage please');
    // Alive, and so still answering.
    const again = await client().chat.completions.create({ ...ask, stream: true });
    for await (const _ of again);
    assert.equal((await client().chat.completions.create(ask)).choices[0].message.content, 'echo: no usage please');
  });

  it('prices cache writes at Anthropic`s rates (1.25x input, 2x for the 1-hour cache) and reports them as cache_write_tokens', async () => {
    // Found by an independent check: cache writes were billed as plain input.
    const ask = { model: 'claude-cache-write', messages: [{ role: 'user' as const, content: 'cache me' }] };
    const { data, response } = await client().chat.completions.create(ask).withResponse();
    // CACHE_WRITE_USAGE: 11 fresh input, 5 cache reads, 1,000 tokens written to the 5-minute cache and 3,000 to the 1-hour one, 7 output.
    const usd = (11 * 3 + 5 * 0.3 + 1000 * 3.75 + 3000 * 6 + 7 * 15) / 1e6;
    const cost = Number(response.headers.get('x-gateway-cost-usd'));
    assert.ok(Math.abs(cost - usd) < 1e-9, `${cost} != ${usd}`);
    // OpenAI's usage, with OpenAI's cache_write_tokens; the 1-hour split is the gateway's own and not sent.
    const usage = {
      prompt_tokens: 4016,
      completion_tokens: 7,
      total_tokens: 4023,
      prompt_tokens_details: { cached_tokens: 5, cache_write_tokens: 4000 },
      completion_tokens_details: { reasoning_tokens: 0 },
    };
    assert.deepEqual(data.usage, usage);
    const streamed = await collect(
      await client().chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } }),
    );
    assert.deepEqual(streamed.usage, usage);
  });

  it('translates a conversation and answers like an OpenAI model', async () => {
    const res = await client().chat.completions.create({
      model: 'claude-echo',
      messages: CONVERSATION,
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
      stop: ['END'],
      user: 'user-123',
    });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.id, 'msg_fake_1');
    assert.equal(res.choices[0].message.role, 'assistant');
    assert.equal(res.choices[0].message.content, 'echo: How are you?');
    assert.equal(res.choices[0].finish_reason, 'stop');
    // Cache reads and writes count as prompt tokens, as OpenAI counts cached tokens.
    assert.deepEqual(res.usage, vendor.usage);

    const body = sent();
    const { headers, path } = upstream.last();
    assert.equal(path, '/v1/messages');
    assert.equal(headers.authorization, `Bearer ${KEY}`);
    assert.equal(headers['anthropic-version'], '2026-10-21');
    assert.equal(body.model, 'claude-echo');
    assert.equal(body.max_tokens, 1234, 'the deployment default');
    assert.deepEqual(body.system, [
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: 'Answer in English.' },
    ]);
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'Hi there' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'How are ' },
          { type: 'text', text: 'you?' },
        ],
      },
    ]);
    assert.deepEqual(body.stop_sequences, ['END']);
    assert.deepEqual(body.metadata, { user_id: 'user-123' });
    for (const dropped of ['temperature', 'top_p', 'seed', 'stream']) assert.ok(!(dropped in body), `${dropped} is not sent`);
  });

  it('carries history as clients send it back: system parts apart, a refusal as the assistant turn, image/jpg as image/jpeg', async () => {
    await client().chat.completions.create({ model: 'claude-echo', messages: ECHOED_HISTORY });
    assert.deepEqual(sent().system, [
      { type: 'text', text: 'Answer in French' },
      { type: 'text', text: 'Never use emoji' },
    ]);
    assert.deepEqual(sent().messages, [
      { role: 'user', content: [{ type: 'text', text: 'Q1' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'I cannot help with that.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Q2' },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
        ],
      },
    ]);
  });

  it('answers system messages alone as the user`s turn (as OpenAI does), and refuses a conversation with nothing to send', async () => {
    const res = await client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'system', content: 'You are terse.' }] });
    assert.equal(res.choices[0].message.content, 'echo: You are terse.');
    assert.deepEqual(sent().messages, [{ role: 'user', content: [{ type: 'text', text: 'You are terse.' }] }]);
    assert.equal(sent().system, undefined);
    const seen = upstream.received.length;
    const err = await apiError(client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'user', content: '' }] }));
    assert.deepEqual([err.status, err.param], [400, 'messages']);
    assert.equal(upstream.received.length, seen, 'nothing reached Anthropic');
  });

  it('sends max_tokens from the client, else the deployment, else 8192', async () => {
    await client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 55 });
    assert.equal(sent().max_tokens, 55);
    await client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'user', content: 'x' }], max_tokens: 66 });
    assert.equal(sent().max_tokens, 66);
    await client().chat.completions.create({ model: 'claude-default-max', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(sent().max_tokens, 8192);
  });

  streamingContract(vendor);

  it('returns a tool call with the arguments as JSON, and sends tools and input_schema', async () => {
    const res = await client().chat.completions.create({
      model: 'claude-tool',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
    });
    const message = res.choices[0].message;
    assert.equal(res.choices[0].finish_reason, 'tool_calls');
    assert.equal(message.content, null);
    assert.equal(message.tool_calls?.length, 1);
    const call = message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.id, 'toolu_01');
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), WEATHER_ARGS);
    assert.deepEqual(sent().tools, [
      {
        name: 'get_weather',
        description: 'Weather for a city',
        input_schema: (WEATHER_TOOL as OpenAI.ChatCompletionFunctionTool).function.parameters,
      },
    ]);
  });

  it('merges a top-level allOf of the parameters into one object, which Anthropic refuses at the top (tools33 D4)', async () => {
    const parameters = {
      type: 'object',
      allOf: [{ properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { $ref: '#/$defs/b' } } }],
      $defs: { b: { type: 'integer' } },
    };
    const res = await client().chat.completions.create({
      model: 'claude-tool',
      messages: [{ role: 'user', content: 'both?' }],
      tools: [{ type: 'function', function: { name: 'both', parameters } }],
    });
    assert.equal(res.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual((sent().tools as { input_schema: unknown }[])[0].input_schema, {
      type: 'object',
      properties: { a: { type: 'string' }, b: { $ref: '#/$defs/b' } },
      required: ['a'],
      $defs: { b: { type: 'integer' } },
    });
  });

  describe('tool_choice and parallel_tool_calls', () => {
    const cases: [string, Partial<OpenAI.ChatCompletionCreateParams>, unknown][] = [
      ['unset', {}, undefined],
      ['auto', { tool_choice: 'auto' }, { type: 'auto' }],
      ['none', { tool_choice: 'none' }, { type: 'none' }],
      ['required', { tool_choice: 'required' }, { type: 'any' }],
      ['named', { tool_choice: { type: 'function', function: { name: 'get_time' } } }, { type: 'tool', name: 'get_time' }],
      ['parallel off', { parallel_tool_calls: false }, { type: 'auto', disable_parallel_tool_use: true }],
      ['required, parallel off', { tool_choice: 'required', parallel_tool_calls: false }, { type: 'any', disable_parallel_tool_use: true }],
    ];
    toolChoiceContract(vendor, cases, () => sent().tool_choice);
  });

  it('streams a tool call as OpenAI does: id and name first, then many argument fragments that reassemble', async () => {
    const stream = await client().chat.completions.create({
      model: 'claude-tool',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
      stream: true,
    });
    const got = await collect(stream);
    assert.equal(got.finish, 'tool_calls');
    assert.equal(got.calls.length, 1);
    assert.equal(got.calls[0].id, 'toolu_01');
    assert.equal(got.calls[0].name, 'get_weather');
    assert.ok(got.calls[0].fragments > 10, `arguments arrive split (${got.calls[0].fragments} fragments)`);
    assert.deepEqual(JSON.parse(got.calls[0].arguments), WEATHER_ARGS);
    const opening = got.chunks.find((c) => c.choices[0]?.delta.tool_calls)!.choices[0].delta.tool_calls![0];
    assert.deepEqual(opening, { index: 0, id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '' } });
  });

  it('gives a tool without input "{}" as arguments, streamed or not', async () => {
    const res = await client().chat.completions.create({
      model: 'claude-noargs',
      messages: [{ role: 'user', content: 'x' }],
      tools: [WEATHER_TOOL],
    });
    assert.equal((res.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments, '{}');
    const got = await collect(
      await client().chat.completions.create({
        model: 'claude-noargs',
        messages: [{ role: 'user', content: 'x' }],
        tools: [WEATHER_TOOL],
        stream: true,
      }),
    );
    assert.equal(got.calls[0].arguments, '{}');
  });

  it('returns parallel tool calls with their indexes, streamed and not', async () => {
    const req = { model: 'claude-parallel', messages: [{ role: 'user' as const, content: 'both?' }], tools: [WEATHER_TOOL, TIME_TOOL] };
    const res = await client().chat.completions.create(req);
    const calls = res.choices[0].message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    assert.equal(res.choices[0].message.content, 'Checking both.');
    assert.deepEqual(
      calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]),
      [
        ['toolu_A', 'get_weather', { city: 'Paris' }],
        ['toolu_B', 'get_time', { zone: 'Europe/Paris' }],
      ],
    );
    const got = await collect(await client().chat.completions.create({ ...req, stream: true }));
    assert.equal(got.text, 'Checking both.');
    assert.deepEqual(
      got.calls.map((c) => [c.id, c.name, JSON.parse(c.arguments)]),
      [
        ['toolu_A', 'get_weather', { city: 'Paris' }],
        ['toolu_B', 'get_time', { zone: 'Europe/Paris' }],
      ],
    );
  });

  it('round-trips parallel tool calls: call, grouped results with ids preserved, answer', async () => {
    const first = await client().chat.completions.create({
      model: 'claude-parallel',
      messages: [{ role: 'user', content: 'both?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    const [a, b] = first.choices[0].message.tool_calls!;
    const second = await client().chat.completions.create({
      model: 'claude-echo',
      messages: [
        { role: 'user', content: 'both?' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: a.id, content: '{"temp":21}' },
        { role: 'tool', tool_call_id: b.id, content: [{ type: 'text', text: '14:05' }] },
      ],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    assert.equal(second.choices[0].message.content, 'tool results: toolu_A={"temp":21}; toolu_B=14:05');
    const messages = sent().messages;
    assert.deepEqual(messages[1], {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Checking both.' },
        { type: 'tool_use', id: 'toolu_A', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_B', name: 'get_time', input: { zone: 'Europe/Paris' } },
      ],
    });
    assert.deepEqual(messages[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_A', content: '{"temp":21}' },
        { type: 'tool_result', tool_use_id: 'toolu_B', content: '14:05' },
      ],
    });
  });

  it('accepts tool call ids from another vendor by mapping them to the characters Anthropic allows', async () => {
    const res = await client().chat.completions.create({
      model: 'claude-echo',
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call:1/a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'call:1/a', content: 'cold' },
      ],
    });
    // The call and its result carry the same mapped id: the characters Anthropic takes, a hash of the original.
    assert.match(res.choices[0].message.content ?? '', /^tool results: call_1_a_[A-Za-z0-9_-]{12}=cold$/);
  });

  it('sends images and PDFs as Anthropic blocks: data URLs inline, https URLs by reference', async () => {
    await client().chat.completions.create({
      model: 'claude-echo',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: PNG_DATA_URL } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          ],
        },
      ],
    });
    assert.deepEqual(sent().messages[0].content, [
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_DATA_URL.slice(PNG_DATA_URL.indexOf(',') + 1) } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
    ]);
  });

  describe('content the vendor cannot take is a clear 400', () => {
    const cases: [string, OpenAI.ChatCompletionContentPart, RegExp][] = [
      ['an http:// image', { type: 'image_url', image_url: { url: 'http://example.com/a.png' } }, /https:\/\/ or data: URLs/],
      ['a BMP data URL', { type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }, /does not accept image\/bmp/],
      ['an OpenAI file id', { type: 'file', file: { file_id: 'file-123' } }, /file ids mean nothing/],
    ];
    for (const [name, part, message] of cases) {
      it(name, async () => {
        const err = await apiError(
          client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'user', content: [part] }] }),
        );
        assert.equal(err.status, 400);
        assert.match(err.message, message);
        assert.match(err.param ?? '', /^messages\[0\]\.content\[0\]/);
      });
    }

    // Claude takes no audio, and a deployment on an anthropic provider may not declare `audio`: routing refuses it first.
    it('audio', async () => {
      const audio = { type: 'input_audio' as const, input_audio: { data: 'UklGRg==', format: 'wav' as const } };
      const err = await apiError(
        client().chat.completions.create({ model: 'claude-echo', messages: [{ role: 'user', content: [audio] }] }),
      );
      assert.deepEqual([err.status, err.code], [400, 'unsupported_capability']);
      assert.match(err.message, /No deployment of claude-echo supports audio/);
    });
  });

  it('enforces json_schema with native structured outputs and json_object with an instruction', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'integer' } }, required: ['answer'], additionalProperties: false };
    const res = await client().chat.completions.create({
      model: 'claude-json',
      messages: [{ role: 'user', content: 'answer?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(res.choices[0].message.content!), { answer: 42 });
    assert.deepEqual(sent().output_config, { format: { type: 'json_schema', schema } });

    await client().chat.completions.create({
      model: 'claude-json',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'answer?' },
      ],
      response_format: { type: 'json_object' },
    });
    assert.deepEqual(sent().system, [
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: JSON_OBJECT_INSTRUCTION },
    ]);
    assert.ok(!('output_config' in sent()));
  });

  it('exposes thinking as reasoning_content when asked, with adaptive thinking and effort', async () => {
    const res = await client().chat.completions.create({
      model: 'claude-think',
      messages: [{ role: 'user', content: '6*7?' }],
      reasoning_effort: 'high',
    });
    const message = res.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; thinking_blocks?: unknown[] };
    assert.equal(message.content, '42');
    assert.equal(message.reasoning_content, 'Six times seven is forty-two.');
    assert.deepEqual(message.thinking_blocks, [{ type: 'thinking', thinking: 'Six times seven is forty-two.', signature: 'sig-fake-123' }]);
    assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 9);
    assert.deepEqual(sent().thinking, { type: 'adaptive', display: 'summarized' });
    assert.deepEqual(sent().output_config, { effort: 'high' });

    const got = await collect(
      await client().chat.completions.create({
        model: 'claude-think',
        messages: [{ role: 'user', content: '6*7?' }],
        reasoning_effort: 'low',
        stream: true,
      }),
    );
    assert.equal(got.reasoning, 'Six times seven is forty-two.');
    assert.equal(got.text, '42');
    assert.deepEqual(sent().output_config, { effort: 'low' });
  });

  it('keeps thinking out of the message unless asked, and sends budget thinking where configured', async () => {
    const res = await client().chat.completions.create({ model: 'claude-think', messages: [{ role: 'user', content: '6*7?' }] });
    assert.ok(!('reasoning_content' in res.choices[0].message));
    assert.ok(!('thinking' in sent()));
    await client().chat.completions.create({
      model: 'claude-budget',
      messages: [{ role: 'user', content: '6*7?' }],
      reasoning_effort: 'medium',
    });
    // Half of the deployment's maxOutputTokens (4000): medium's 8192 would leave the answer no room (it sent 3999).
    assert.deepEqual(sent().thinking, { type: 'enabled', budget_tokens: 2000, display: 'summarized' });
  });

  /** A weather tool loop whose assistant turn carries `thinking_blocks`. */
  const toolLoopWith = (thinkingBlocks: unknown): OpenAI.ChatCompletionMessageParam[] => [
    { role: 'user', content: 'x' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'toolu_X', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      thinking_blocks: thinkingBlocks,
    } as OpenAI.ChatCompletionAssistantMessageParam,
    { role: 'tool', tool_call_id: 'toolu_X', content: 'sunny' },
  ];

  it('sends thinking blocks echoed on an assistant message back first, as Anthropic requires with tools', async () => {
    const thinking = [{ type: 'thinking', thinking: 'hmm', signature: 'sig-1' }];
    await client().chat.completions.create({ model: 'claude-echo', messages: toolLoopWith(thinking) });
    assert.deepEqual(sent().messages[1].content, [...thinking, { type: 'tool_use', id: 'toolu_X', name: 'get_weather', input: {} }]);
  });

  // Found by an independent re-check: a thinking_blocks that is not a list of blocks was cast to one
  // and answered 500 internal_error (which the OpenAI SDK retries), with or without reasoning_effort.
  it('refuses thinking_blocks that are not a list of blocks with a 400 naming the field', async () => {
    for (const [value, effort] of [
      ['x', 'low'],
      [5, undefined],
      [{}, undefined],
      [true, 'low'],
      [[null], 'low'],
      [[{}], undefined],
    ] as const) {
      for (const stream of [false, true]) {
        const err = await apiError(
          client().chat.completions.create({
            model: 'claude-tool',
            tools: [WEATHER_TOOL],
            ...(effort ? { reasoning_effort: effort } : {}),
            stream,
            messages: toolLoopWith(value),
          }),
        );
        assert.equal(err.status, 400, `${JSON.stringify(value)}: ${err.message}`);
        assert.match(String(err.param), /^messages\[1\]\.thinking_blocks/, JSON.stringify(value));
      }
    }
  });

  // Found by an independent check running agents (opencode, llm, qwen-code, LangChain): they send back
  // reasoning_content and tool_calls, not thinking_blocks; the turn then went with thinking off.
  it('continues a thinking tool loop whose client sends back reasoning_content but not thinking_blocks (opencode), with the signed blocks kept', async () => {
    const ask = { model: 'claude-tool', tools: [WEATHER_TOOL], reasoning_effort: 'high' as const };
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await collect(await client().chat.completions.create({ ...ask, messages, stream: true }));
    assert.equal(first.reasoning, 'The weather tool knows.');
    const toolCalls = first.calls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } }));
    const echoed = { role: 'assistant', content: first.text, reasoning_content: first.reasoning, tool_calls: toolCalls };
    messages.push(echoed as OpenAI.ChatCompletionAssistantMessageParam, { role: 'tool', tool_call_id: 'toolu_01', content: 'sunny' });

    const second = await client().chat.completions.create({ ...ask, messages });
    assert.equal(second.choices[0].message.content, 'tool results: toolu_01=sunny');
    assert.deepEqual(sent().thinking, { type: 'adaptive', display: 'summarized' }, 'thinking stays on');
    const signed = { type: 'thinking', thinking: 'The weather tool knows.', signature: 'sig-tool' };
    assert.deepEqual(sent().messages[1].content[0], signed, 'the turn starts with the block Claude signed');

    // A tool call the gateway never answered (another vendor's, or one older than the TTL): thinking off for that turn.
    const foreign = { ...echoed, tool_calls: [{ ...toolCalls[0], id: 'toolu_never_issued' }] };
    const answer = { role: 'tool' as const, tool_call_id: 'toolu_never_issued', content: 'sunny' };
    await client().chat.completions.create({ ...ask, messages: [messages[0], foreign as OpenAI.ChatCompletionMessageParam, answer] });
    assert.ok(!('thinking' in sent()), 'the turn without its thinking block goes with thinking off');
    assert.deepEqual(sent().output_config, { effort: 'high' });

    // What the client sends back wins over what was kept.
    const own = { type: 'thinking', thinking: 'Mine.', signature: 'sig-client' };
    await client().chat.completions.create({
      ...ask,
      messages: [messages[0], { ...echoed, thinking_blocks: [own] } as OpenAI.ChatCompletionMessageParam, messages[2]],
    });
    assert.deepEqual(sent().messages[1].content[0], own);
    assert.equal(sent().messages[1].content[1].type, 'tool_use');
  });

  // Found by an independent re-check: the thinking was found by the turn's first call id only, so a
  // client that sent parallel calls back in another order got the turn with thinking off.
  it('finds the kept thinking by any call of the turn: parallel calls sent back reversed, or one a message; the blocks once, first', async () => {
    const ask = { model: 'claude-parallel', tools: [WEATHER_TOOL, TIME_TOOL], reasoning_effort: 'high' as const };
    const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Both, in Paris?' };
    const first = await client().chat.completions.create({ ...ask, messages: [question] });
    assert.deepEqual(
      first.choices[0].message.tool_calls?.map((call) => call.id),
      ['toolu_A', 'toolu_B'],
    );
    for (const [form, turn] of Object.entries(parallelCallForms(first))) {
      await client().chat.completions.create({ ...ask, messages: [question, ...turn] });
      assert.deepEqual(sent().thinking, { type: 'adaptive', display: 'summarized' }, `${form}: thinking stays on`);
      const blocks = sent().messages[1].content as { type: string; signature?: string }[];
      assert.deepEqual(blocks[0], { type: 'thinking', thinking: 'Both tools, at once.', signature: 'sig-parallel' }, form);
      assert.equal(blocks.filter((block) => block.type === 'thinking').length, 1, `${form}: the signed block once`);
      assert.equal(blocks.filter((block) => block.type === 'tool_use').length, 2, form);
    }
  });

  describe('stop_reason -> finish_reason', () => {
    for (const [reason, finish] of STOP_REASONS) {
      it(`${reason} -> ${finish}`, async () => {
        const res = await client().chat.completions.create({ model: `claude-stop-${reason}`, messages: [{ role: 'user', content: 'x' }] });
        assert.equal(res.choices[0].finish_reason, finish);
        assert.equal(res.choices[0].message.refusal, reason === 'refusal' ? 'Not going there.' : null);
      });
    }
  });

  describe('Anthropic errors -> OpenAI errors', () => {
    for (const [type, status, code] of ERRORS) {
      it(`${type} -> ${status}`, async () => {
        const err = await apiError(
          client().chat.completions.create({ model: `claude-error-${type}`, messages: [{ role: 'user', content: 'x' }] }),
        );
        assert.equal(err.status, status);
        assert.equal(err.code ?? null, code);
        assert.match(err.message, new RegExp(`fake ${type}`));
        assert.doesNotMatch(err.message, /sk-ant-upstream-secret/);
        if (status === 429) assert.equal(err.headers?.get('retry-after'), '13');
      });
    }

    it('fails over from an overloaded deployment (529 is retryable) to the next', async () => {
      const res = await client()
        .chat.completions.create({ model: 'claude-failover', messages: [{ role: 'user', content: 'still there?' }] })
        .withResponse();
      assert.equal(res.data.choices[0].message.content, 'echo: still there?');
      // Two attempts on the overloaded deployment (one retry by default), then the next one.
      assert.equal(res.response.headers.get('x-gateway-attempts'), '3');
      assert.match(res.response.headers.get('x-gateway-fallbacks') ?? '', /upstream_overloaded/);
    });

    it('a 200 that is no Messages answer (a proxy`s HTML page) is a retryable 502 before any byte, whole or streamed; the router fails over', async () => {
      const messages = [{ role: 'user' as const, content: 'through the proxy' }];
      for (const stream of [false, true]) {
        const err = await apiError(client().chat.completions.create({ model: 'claude-proxy-page', messages, stream }));
        assert.equal(err.status, 502, `stream: ${stream}`);
        assert.equal(err.code, stream ? 'upstream_stream_truncated' : 'upstream_invalid_response', `stream: ${stream}`);
      }
      const whole = await client().chat.completions.create({ model: 'claude-proxy-then-echo', messages }).withResponse();
      assert.equal(whole.data.choices[0].message.content, 'echo: through the proxy');
      assert.match(whole.response.headers.get('x-gateway-fallbacks') ?? '', /upstream_invalid_response/);
      const streamed = await client().chat.completions.create({ model: 'claude-proxy-then-echo', messages, stream: true }).withResponse();
      assert.equal((await collect(streamed.data)).text, 'echo: through the proxy');
      assert.match(streamed.response.headers.get('x-gateway-fallbacks') ?? '', /upstream_stream_truncated/);
    });

    // Found by an independent check: the role chunk of message_start counted as the stream's
    // start, so an overloaded error right after it (as Anthropic sends one) reached the client.
    it('an overloaded error after message_start, before any content, falls back', async () => {
      const messages = [{ role: 'user' as const, content: 'after the start' }];
      const streamed = await client()
        .chat.completions.create({ model: 'claude-overloaded-then-echo', messages, stream: true })
        .withResponse();
      const { text } = await collect(streamed.data);
      assert.equal(text, 'echo: after the start');
      assert.match(streamed.response.headers.get('x-gateway-fallbacks') ?? '', /claude-overloaded-then-echo\/0=/);
    });

    it('an error event before the first chunk is a plain HTTP error, not a broken stream', async () => {
      const err = await apiError(
        client().chat.completions.create({ model: 'claude-early-error', messages: [{ role: 'user', content: 'x' }], stream: true }),
      );
      assert.equal(err.status, 503);
      assert.equal(err.code, 'upstream_overloaded');
    });
  });

  describe('what Claude cannot do is refused with a 400 naming the parameter', () => {
    const cases: [string, Partial<OpenAI.ChatCompletionCreateParams>, string][] = [
      ['n > 1', { n: 2 }, 'n'],
      ['logprobs', { logprobs: true }, 'logprobs'],
      ['logit_bias', { logit_bias: { '50256': -100 } }, 'logit_bias'],
      ['audio output', { modalities: ['text', 'audio'] }, 'modalities'],
    ];
    for (const [name, params, param] of cases) {
      it(name, async () => {
        const err = await apiError(
          client().chat.completions.create({
            model: 'claude-echo',
            messages: [{ role: 'user', content: 'x' }],
            ...params,
          } as OpenAI.ChatCompletionCreateParamsNonStreaming),
        );
        assert.equal(err.status, 400);
        assert.equal(err.param, param);
        assert.equal(err.code, 'unsupported_parameter');
      });
    }
    // Embeddings on an anthropic provider: refused when the config loads (config.test.ts).
  });
});

describe('the Anthropic SDK`s console warnings', () => {
  it('a deprecated model and thinking "enabled" where the SDK warns: one JSON log line each, no stderr text a request', async () => {
    const upstream = new FakeAnthropic(KEY);
    const baseUrl = await upstream.start();
    const gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'main', type: 'anthropic', baseUrl, apiKeyEnv: 'FAKE_VENDOR_KEY' }],
        models: [
          // Both in the SDK's own lists: DEPRECATED_MODELS, MODELS_TO_WARN_WITH_THINKING_ENABLED.
          { name: 'old', deployments: [{ provider: 'main', model: 'claude-sonnet-4-5' }] },
          {
            name: 'think',
            deployments: [
              { provider: 'main', model: 'claude-opus-4-6', thinking: 'budget', maxOutputTokens: 4000, capabilities: ['reasoning'] },
            ],
          },
        ],
      }),
      { env: { FAKE_VENDOR_KEY: KEY } },
    );
    try {
      const openai = gateway.client();
      const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: 'Hi' }];
      for (let i = 0; i < 3; i++) {
        await openai.chat.completions.create({ model: 'old', messages });
        await collect(await openai.chat.completions.create({ model: 'old', messages, stream: true }));
        await anthropic.messages.create({ model: 'old', max_tokens: 64, messages });
        await openai.chat.completions.create({ model: 'think', messages, reasoning_effort: 'low' });
      }
      assert.equal(upstream.received.length, 12, 'every request reached the upstream');
      // The log is written in batches: wait for a third warning, which must not come.
      const warnings = await gateway.logged(/^SDK warning/, { count: 3, timeoutMs: 1_500 });
      assert.deepEqual(
        gateway.rawOutput.filter((line) => !line.startsWith('{')),
        [],
        'no plain-text lines: the SDK wrote none to stderr',
      );
      assert.deepEqual(
        warnings.map((l) => [l.level, l.context, /deprecated/.test(String(l.msg)), /thinking\.type=enabled/.test(String(l.msg))]),
        [
          [40, 'Provider main', true, false],
          [40, 'Provider main', true, true],
        ],
      );
    } finally {
      await gateway.stop();
      await upstream.stop();
    }
  });
});
