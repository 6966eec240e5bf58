import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { SKIP_SIGNATURE } from '../../libs/providers/src/gemini/request';
import { apiError, collect, CONVERSATION, ECHOED_HISTORY, parallelCallForms, PNG_DATA_URL, TIME_TOOL, WEATHER_TOOL } from '../support/chat';
import { burstPart, FakeGemini } from '../support/fake-gemini';
import { model, streamingContract, toolChoiceContract, useVendorGateway, type VendorUnderTest } from '../support/vendor-contract';

const KEY = 'AIza-upstream-secret-77';
const MODELS = [
  'gemini-echo',
  'gemini-tool',
  'gemini-parallel',
  'gemini-signed',
  'gemini-think',
  'gemini-json',
  'gemini-blocked',
  'gemini-lead-empty',
  'gemini-lead-usage',
  'gemini-lead-blocked',
  'gemini-usage-only',
  'gemini-multiline',
  'gemini-empty',
  'gemini-empty-stop',
  'gemini-midstream-error',
  'gemini-cut',
  'gemini-slow-3000',
  'gemini-not-json',
  'gemini-burst-10000',
];
const PRICE = { input: 1, output: 2 };
const FINISHES: [string, string | null, number | null][] = [
  // Gemini finishReason -> OpenAI finish_reason, or the HTTP status of the error it becomes.
  ['STOP', 'stop', null],
  ['MAX_TOKENS', 'length', null],
  ['SAFETY', 'content_filter', null],
  ['RECITATION', 'content_filter', null],
  ['PROHIBITED_CONTENT', 'content_filter', null],
  ['OTHER', 'stop', null],
  ['MALFORMED_FUNCTION_CALL', null, 502],
  ['MISSING_THOUGHT_SIGNATURE', null, 400],
];
/** Google status -> [status the client sees, code]. */
const ERRORS: [string, number, string | null][] = [
  ['INVALID_ARGUMENT', 400, null],
  ['FAILED_PRECONDITION', 502, 'upstream_permission_denied'],
  ['UNAUTHENTICATED', 502, 'upstream_auth_failed'],
  ['PERMISSION_DENIED', 502, 'upstream_permission_denied'],
  ['NOT_FOUND', 502, 'upstream_not_found'],
  ['RESOURCE_EXHAUSTED', 429, 'rate_limit_exceeded'],
  ['INTERNAL', 502, 'upstream_error'],
  ['UNAVAILABLE', 503, 'upstream_overloaded'],
  ['DEADLINE_EXCEEDED', 504, 'upstream_timeout'],
];

type Sent = {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig?: Record<string, unknown>;
  tools?: { functionDeclarations: Record<string, unknown>[] }[];
  toolConfig?: Record<string, unknown>;
};

describe('Gemini provider through the gateway (real @google/genai, fake Gemini API)', () => {
  const upstream = new FakeGemini(KEY);
  const client = useVendorGateway('gemini', upstream, KEY, 'gemini', [
    // Gemini takes audio input: declared, so that a request with audio may go to it (README, Routing).
    ...MODELS.map((m) => model(m, { maxOutputTokens: 2048, capabilities: ['tools', 'vision', 'audio', 'json', 'reasoning'] })),
    ...FINISHES.map(([r]) => model(`gemini-finish-${r}`)),
    ...ERRORS.map(([s]) => model(`gemini-error-${s}`)),
    // One deployment per status and way, so the cooldown an error starts is not another case's.
    ...ERRORS.flatMap(([s]) => [model(`gemini-listed-error-${s}`), model(`gemini-listed-streamed-error-${s}`)]),
    { name: 'gemini-budget', deployments: [{ provider: 'main', model: 'gemini-think', thinking: 'budget' }] },
    {
      name: 'gemini-embed',
      deployments: [{ provider: 'main', model: 'gemini-embedding-001', capabilities: ['embeddings'], price: PRICE }],
    },
    model('gemini-no-usage', { price: PRICE }),
    // Its own deployment, so the breaker the test watches is not another test's.
    { name: 'gemini-breaker', deployments: [{ provider: 'main', model: 'gemini-echo' }] },
  ]);
  const sent = () => upstream.last().body as Sent;
  const vendor: VendorUnderTest = {
    prefix: 'gemini',
    client,
    upstream,
    id: 'resp_fake_1',
    usage: {
      prompt_tokens: 12,
      completion_tokens: 8,
      total_tokens: 20,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
    overloaded: /overloaded/,
    partial: 'echo:',
  };

  it('translates a conversation and answers like an OpenAI model', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-echo',
      messages: CONVERSATION,
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      stop: ['END'],
    });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.id, 'resp_fake_1');
    assert.equal(res.model, 'gemini-fake-001');
    assert.equal(res.choices[0].message.content, 'echo: How are you?');
    assert.equal(res.choices[0].finish_reason, 'stop');
    assert.deepEqual(res.usage, vendor.usage);

    const { path, headers } = upstream.last();
    assert.equal(path, '/v1beta/models/gemini-echo:generateContent');
    assert.equal(headers['x-goog-api-key'], KEY);
    const body = sent();
    assert.deepEqual(body.systemInstruction, { parts: [{ text: 'Be brief.' }, { text: 'Answer in English.' }] });
    assert.deepEqual(body.contents, [
      { role: 'user', parts: [{ text: 'Hi there' }] },
      { role: 'model', parts: [{ text: 'Hello!' }] },
      { role: 'user', parts: [{ text: 'How are ' }, { text: 'you?' }] },
    ]);
    assert.deepEqual(body.generationConfig, {
      temperature: 0.2,
      topP: 0.9,
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      maxOutputTokens: 2048,
      stopSequences: ['END'],
    });
  });

  streamingContract(vendor);

  it('streams from streamGenerateContent with SSE', async () => {
    await collect(
      await client().chat.completions.create({ model: 'gemini-echo', messages: [{ role: 'user', content: 'x' }], stream: true }),
    );
    assert.equal(upstream.last().path, '/v1beta/models/gemini-echo:streamGenerateContent?alt=sse');
  });

  it('returns n choices from candidateCount', async () => {
    const res = await client().chat.completions.create({ model: 'gemini-echo', messages: [{ role: 'user', content: 'two' }], n: 2 });
    assert.deepEqual(
      res.choices.map((c) => [c.index, c.message.content]),
      [
        [0, 'echo 0: two'],
        [1, 'echo 1: two'],
      ],
    );
    assert.equal(sent().generationConfig?.candidateCount, 2);
    const got = await client().chat.completions.create({
      model: 'gemini-echo',
      messages: [{ role: 'user', content: 'two' }],
      n: 2,
      stream: true,
    });
    const texts: string[] = ['', ''];
    const finishes: (string | null)[] = [null, null];
    for await (const chunk of got) {
      for (const choice of chunk.choices) {
        texts[choice.index] += choice.delta.content ?? '';
        finishes[choice.index] = choice.finish_reason ?? finishes[choice.index];
      }
    }
    assert.deepEqual(texts, ['echo 0: two', 'echo 1: two']);
    assert.deepEqual(finishes, ['stop', 'stop']);
  });

  it('returns a tool call with a generated id, the arguments as JSON and the thought signature to send back', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-tool',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [WEATHER_TOOL],
    });
    assert.equal(res.choices[0].finish_reason, 'tool_calls');
    const call = res.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall & { extra_content?: unknown };
    assert.match(call.id, /^call_[\w-]{16}$/);
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
    assert.deepEqual(call.extra_content, { google: { thought_signature: 'gsig-1' } });
    assert.deepEqual(sent().tools, [
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Weather for a city',
            parameters: {
              type: 'OBJECT',
              properties: { city: { type: 'STRING' }, unit: { type: 'STRING', enum: ['celsius', 'fahrenheit'] } },
              propertyOrdering: ['city', 'unit'],
              required: ['city'],
            },
          },
        ],
      },
    ]);
  });

  describe('tool_choice', () => {
    const cases: [string, Partial<OpenAI.ChatCompletionCreateParams>, unknown][] = [
      ['unset', {}, undefined],
      ['auto', { tool_choice: 'auto' }, { functionCallingConfig: { mode: 'AUTO' } }],
      ['none', { tool_choice: 'none' }, { functionCallingConfig: { mode: 'NONE' } }],
      ['required', { tool_choice: 'required' }, { functionCallingConfig: { mode: 'ANY' } }],
      [
        'named',
        { tool_choice: { type: 'function', function: { name: 'get_time' } } },
        { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_time'] } },
      ],
    ];
    toolChoiceContract(vendor, cases, () => sent().toolConfig);
  });

  it('streams tool calls as OpenAI does: id and name first, then the arguments; parallel calls by index', async () => {
    const got = await collect(
      await client().chat.completions.create({
        model: 'gemini-parallel',
        messages: [{ role: 'user', content: 'both?' }],
        tools: [WEATHER_TOOL, TIME_TOOL],
        stream: true,
      }),
    );
    assert.equal(got.finish, 'tool_calls');
    assert.equal(got.text, 'Checking both.');
    assert.deepEqual(
      got.calls.map((c) => [c.name, JSON.parse(c.arguments)]),
      [
        ['get_weather', { city: 'Paris' }],
        ['get_time', { zone: 'Europe/Paris' }],
      ],
    );
    assert.ok(got.calls.every((c) => /^call_/.test(c.id)) && got.calls[0].id !== got.calls[1].id);
    assert.deepEqual(got.calls[0].extra, { extra_content: { google: { thought_signature: 'gsig-P' } } });
    const opening = got.chunks.find((c) => c.choices[0]?.delta.tool_calls)!.choices[0].delta.tool_calls![0];
    assert.deepEqual(
      { ...opening, id: 'x' },
      {
        index: 0,
        id: 'x',
        type: 'function',
        function: { name: 'get_weather', arguments: '' },
        extra_content: { google: { thought_signature: 'gsig-P' } },
      },
    );
  });

  it('keeps one call when parallel_tool_calls is false (Gemini cannot be told)', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-parallel',
      messages: [{ role: 'user', content: 'both?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      parallel_tool_calls: false,
    });
    assert.equal(res.choices[0].message.tool_calls?.length, 1);
  });

  it('round-trips parallel tool calls: call, grouped function responses named and with ids, answer', async () => {
    const first = await client().chat.completions.create({
      model: 'gemini-parallel',
      messages: [{ role: 'user', content: 'both?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    const [a, b] = first.choices[0].message.tool_calls!;
    const second = await client().chat.completions.create({
      model: 'gemini-echo',
      messages: [
        { role: 'user', content: 'both?' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: a.id, content: '{"temp":21}' },
        { role: 'tool', tool_call_id: b.id, content: '14:05' },
      ],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    assert.equal(second.choices[0].message.content, `tool results: get_weather(${a.id})={"temp":21}; get_time(${b.id})={"output":"14:05"}`);
    const [, model, results] = sent().contents;
    assert.deepEqual(model, {
      role: 'model',
      parts: [
        { text: 'Checking both.' },
        { functionCall: { id: a.id, name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'gsig-P' },
        { functionCall: { id: b.id, name: 'get_time', args: { zone: 'Europe/Paris' } } },
      ],
    });
    assert.deepEqual(results, {
      role: 'user',
      parts: [
        { functionResponse: { id: a.id, name: 'get_weather', response: { temp: 21 } } },
        { functionResponse: { id: b.id, name: 'get_time', response: { output: '14:05' } } },
      ],
    });
  });

  it('gives tool calls from another model the documented placeholder signature', async () => {
    await client().chat.completions.create({
      model: 'gemini-echo',
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_01', content: 'cold' },
      ],
    });
    assert.equal(sent().contents[1].parts[0].thoughtSignature, SKIP_SIGNATURE);
  });

  // Found by an independent check running agents (opencode, llm, qwen-code): they send tool calls back
  // without extra_content (no OpenAI field), and Gemini got the placeholder instead of its signature.
  it('gives calls sent back without extra_content the thought signature Gemini gave them', async () => {
    const ask = { model: 'gemini-signed', tools: [WEATHER_TOOL, TIME_TOOL] };
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'both?' }];
    const first = await client().chat.completions.create({ ...ask, messages });
    const calls = first.choices[0].message.tool_calls!;
    const bare = calls.map((call) => ({
      id: call.id,
      type: 'function' as const,
      function: (call as OpenAI.ChatCompletionMessageFunctionToolCall).function,
    }));
    messages.push(
      { role: 'assistant', content: first.choices[0].message.content, tool_calls: bare },
      ...bare.map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: 'done' })),
    );
    const second = await client().chat.completions.create({ ...ask, messages });
    assert.match(second.choices[0].message.content ?? '', /^tool results: /);
    assert.deepEqual(upstream.replayedSignatures(), [['gsig-P', null]]);
  });

  // Found by an independent re-check: calls split over several assistant messages gave the second
  // message's call the placeholder; Gemini signs the first of parallel calls and wants it first.
  it('gives parallel calls sent back reversed, or one a message, the kept signature on the signed call, first; no placeholder', async () => {
    const ask = { model: 'gemini-signed', tools: [WEATHER_TOOL, TIME_TOOL] };
    const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'both?' };
    const first = await client().chat.completions.create({ ...ask, messages: [question] });
    for (const [form, turn] of Object.entries(parallelCallForms(first))) {
      // `gemini-signed` refuses a model turn whose calls do not carry the signatures it gave, where it gave them.
      const second = await client().chat.completions.create({ ...ask, messages: [question, ...turn] });
      assert.match(second.choices[0].message.content ?? '', /^tool results: /, form);
      assert.deepEqual(upstream.replayedSignatures(), [['gsig-P', null]], form);
      const model = (sent().contents as { role: string; parts: { functionCall?: { name: string } }[] }[])[1];
      assert.deepEqual(
        model.parts.flatMap((part) => (part.functionCall ? [part.functionCall.name] : [])),
        ['get_weather', 'get_time'],
        form,
      );
    }
  });

  it('refuses a tool result that answers no call, naming the message', async () => {
    const err = await apiError(
      client().chat.completions.create({
        model: 'gemini-echo',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'nope', content: 'y' },
        ],
      }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.param, 'messages[1].tool_call_id');
  });

  // Found by an independent check: empty contents went to the SDK, which refused them before sending; that
  // counted as the deployment being unreachable, so five such requests opened its breaker for every client.
  it('a conversation with nothing to send is the caller`s 400, never sent and no strike against the deployment; system messages alone are answered', async () => {
    const seen = upstream.received.length;
    for (let i = 0; i < 6; i++) {
      const err = await apiError(client().chat.completions.create({ model: 'gemini-breaker', messages: [{ role: 'user', content: '' }] }));
      assert.deepEqual([err.status, err.param], [400, 'messages']);
    }
    assert.equal(upstream.received.length, seen, 'nothing reached Gemini');
    const res = await client().chat.completions.create({
      model: 'gemini-breaker',
      messages: [{ role: 'system', content: 'You are terse.' }],
    });
    assert.equal(res.choices[0].message.content, 'echo: You are terse.');
    assert.deepEqual(sent().contents, [{ role: 'user', parts: [{ text: 'You are terse.' }] }]);
    assert.equal(sent().systemInstruction, undefined);
  });

  // Found by an independent check: it read "Could not reach provider", though Gemini had answered.
  it('a 200 that is not JSON is an invalid answer (retryable 502), whole or streamed', async () => {
    for (const stream of [false, true]) {
      const err = await apiError(
        client().chat.completions.create({ model: 'gemini-not-json', messages: [{ role: 'user', content: 'x' }], stream }),
      );
      assert.deepEqual([err.status, err.code], [502, 'upstream_invalid_response'], `stream: ${stream}`);
      assert.doesNotMatch(err.message, /Could not reach/);
    }
  });

  // Found by an independent check: the SDK's reader took a burst in microtasks alone, 1-4 s of held loop.
  it('reads a burst of 10,000 events while /health is answered, the text exact', async () => {
    const health = new URL('/health', client().baseURL);
    // Its connection open beforehand: the second /health waits for nothing but the gateway.
    assert.equal((await fetch(health)).status, 200);
    // Thoughts the client did not ask for make no frames, and the answer is read as bytes, at once: a full
    // socket buffer towards the client would let the loop turn, whatever the reader does.
    const res = await fetch(new URL('chat/completions', `${client().baseURL}/`), {
      method: 'POST',
      headers: { authorization: `Bearer ${client().apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-burst-10000', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    assert.equal(res.status, 200);
    const body: Uint8Array[] = [];
    /** The text frames (one per 100 events) the client had when /health answered. */
    let framesBeforeHealth: number | undefined;
    let answered: Promise<void> | undefined;
    for await (const bytes of res.body!) {
      // Sent once the stream is under way: while the gateway reads the burst.
      answered ??= fetch(health).then((answer) => {
        assert.equal(answer.status, 200);
        framesBeforeHealth = Buffer.concat(body).toString('utf8').split('"content":"w').length - 1;
      });
      body.push(bytes);
    }
    await answered;
    // How soon depends on how busy the machine is (the client's process shares it): the turns themselves are
    // checked in order, not in time, by test/unit/gemini-events.
    assert.ok(framesBeforeHealth! < 100, `/health answered after ${framesBeforeHealth} of the 100 text frames`);
    const chunks = Buffer.concat(body)
      .toString('utf8')
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice(6)) as OpenAI.ChatCompletionChunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    const visible = Array.from({ length: 10_000 }, (_, i) => burstPart(i)).filter((part) => !part.thought);
    assert.equal(text, visible.map((part) => part.text).join(''));
    assert.ok(chunks.every((chunk) => !(chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
  });

  it('carries history as clients send it back: system parts apart, a refusal as the model turn, image/jpg as image/jpeg', async () => {
    await client().chat.completions.create({ model: 'gemini-echo', messages: ECHOED_HISTORY });
    assert.deepEqual(sent().systemInstruction, { parts: [{ text: 'Answer in French' }, { text: 'Never use emoji' }] });
    assert.deepEqual(sent().contents, [
      { role: 'user', parts: [{ text: 'Q1' }] },
      { role: 'model', parts: [{ text: 'I cannot help with that.' }] },
      { role: 'user', parts: [{ text: 'Q2' }, { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } }] },
    ]);
  });

  it('refuses a seed Gemini cannot take (it is 32-bit, OpenAI`s 64-bit), naming it', async () => {
    const err = await apiError(
      client().chat.completions.create({ model: 'gemini-echo', messages: [{ role: 'user', content: 'x' }], seed: 2 ** 31 }),
    );
    assert.deepEqual([err.status, err.param], [400, 'seed']);
  });

  it('sends images, PDFs and audio inline, https URLs as fileData', async () => {
    await client().chat.completions.create({
      model: 'gemini-echo',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: PNG_DATA_URL } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg?size=1' } },
            { type: 'file', file: { filename: 'a.pdf', file_data: 'JVBERi0=' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
          ],
        },
      ],
    });
    assert.deepEqual(sent().contents[0].parts, [
      { text: 'What is this?' },
      { inlineData: { mimeType: 'image/png', data: PNG_DATA_URL.slice(PNG_DATA_URL.indexOf(',') + 1) } },
      { fileData: { fileUri: 'https://example.com/cat.jpg?size=1', mimeType: 'image/jpeg' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
      { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
    ]);
    const err = await apiError(
      client().chat.completions.create({
        model: 'gemini-echo',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/gif;base64,R0lG' } }] }],
      }),
    );
    assert.equal(err.status, 400);
    assert.match(err.message, /Gemini does not accept image\/gif/);
  });

  it('enforces JSON mode with responseMimeType, and json_schema with a translated responseSchema', async () => {
    const schema = {
      type: 'object',
      properties: {
        answer: { type: 'integer' },
        note: { type: ['string', 'null'] },
        unit: { type: ['string', 'null'], enum: ['c', 'f', null] },
        kind: { const: 'final' },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' } },
      },
      required: ['answer', 'note', 'unit', 'kind', 'tags'],
      additionalProperties: false,
      $defs: { tag: { type: 'string', description: 'a tag' } },
    };
    const res = await client().chat.completions.create({
      model: 'gemini-json',
      messages: [{ role: 'user', content: 'answer?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(res.choices[0].message.content!), { answer: 42 });
    assert.equal(sent().generationConfig?.responseMimeType, 'application/json');
    assert.deepEqual(sent().generationConfig?.responseSchema, {
      type: 'OBJECT',
      properties: {
        answer: { type: 'INTEGER' },
        note: { type: 'STRING', nullable: true },
        unit: { type: 'STRING', nullable: true, enum: ['c', 'f'] },
        kind: { type: 'STRING', enum: ['final'] },
        tags: { type: 'ARRAY', items: { type: 'STRING', description: 'a tag' } },
      },
      propertyOrdering: ['answer', 'note', 'unit', 'kind', 'tags'],
      required: ['answer', 'note', 'unit', 'kind', 'tags'],
    });
    await client().chat.completions.create({
      model: 'gemini-json',
      messages: [{ role: 'user', content: 'answer?' }],
      response_format: { type: 'json_object' },
    });
    assert.equal(sent().generationConfig?.responseMimeType, 'application/json');
    assert.ok(!('responseSchema' in sent().generationConfig!));
  });

  // Found by an independent check: the declaration went out without parameters, silently.
  it('declares a tool whose properties sit behind a top-level $ref or allOf with them; a top-level anyOf is a 400 naming the tool', async () => {
    const args = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const declared = {
      // What zod-to-json-schema writes for a named schema.
      $ref: { $ref: '#/definitions/Args', definitions: { Args: args } },
      allOf: { type: 'object', allOf: [args, { properties: { days: { type: 'integer' } } }] },
    };
    for (const [name, parameters] of Object.entries(declared)) {
      await client().chat.completions.create({
        model: 'gemini-echo',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'forecast', parameters } }],
      });
      const declaration = sent().tools![0].functionDeclarations[0] as { parameters?: { properties?: Record<string, unknown> } };
      assert.deepEqual(declaration.parameters?.properties?.city, { type: 'STRING' }, name);
    }
    const choice = { anyOf: [args, { type: 'object', properties: { zone: { type: 'string' } } }] };
    const err = await apiError(
      client().chat.completions.create({
        model: 'gemini-echo',
        messages: [{ role: 'user', content: 'x' }],
        tools: [WEATHER_TOOL, { type: 'function', function: { name: 'forecast', parameters: choice } }],
      }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.param, 'tools[1].function.parameters');
    assert.match(err.message, /tool 'forecast'/);
  });

  it('exposes thoughts as reasoning_content when asked, with thinkingLevel or a budget', async () => {
    const res = await client().chat.completions.create({
      model: 'gemini-think',
      messages: [{ role: 'user', content: '6*7?' }],
      reasoning_effort: 'high',
    });
    const message = res.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    assert.equal(message.content, '42');
    assert.equal(message.reasoning_content, 'Six times seven is forty-two.');
    assert.equal(res.usage?.completion_tokens, 14, 'thinking is billed as output');
    assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 6);
    assert.deepEqual(sent().generationConfig?.thinkingConfig, { includeThoughts: true, thinkingLevel: 'HIGH' });

    const got = await collect(
      await client().chat.completions.create({
        model: 'gemini-budget',
        messages: [{ role: 'user', content: '6*7?' }],
        reasoning_effort: 'low',
        stream: true,
      }),
    );
    assert.equal(got.reasoning, 'Six times seven is forty-two.');
    assert.equal(got.text, '42');
    assert.deepEqual(sent().generationConfig?.thinkingConfig, { includeThoughts: true, thinkingBudget: 2048 });

    const plain = await client().chat.completions.create({ model: 'gemini-think', messages: [{ role: 'user', content: '6*7?' }] });
    assert.equal(plain.choices[0].message.content, '42', 'thought text never leaks into content');
    assert.ok(!('reasoning_content' in plain.choices[0].message));
  });

  describe('finishReason -> finish_reason, or an error instead of an empty answer', () => {
    for (const [reason, finish, status] of FINISHES) {
      it(`${reason} -> ${finish ?? status}`, async () => {
        const call = client().chat.completions.create({ model: `gemini-finish-${reason}`, messages: [{ role: 'user', content: 'x' }] });
        if (status) {
          const err = await apiError(call);
          assert.equal(err.status, status);
          assert.match(err.message, new RegExp(reason));
          return;
        }
        const res = await call;
        assert.equal(res.choices[0].finish_reason, finish);
        assert.equal(res.choices[0].message.content, 'partial');
        if (finish === 'content_filter') assert.match(res.choices[0].message.refusal ?? '', new RegExp(reason));
      });
    }
  });

  it('a blocked prompt is a 400 content_filter error, streamed or not, never an empty 200', async () => {
    for (const stream of [false, true]) {
      const err = await apiError(
        client().chat.completions.create({ model: 'gemini-blocked', messages: [{ role: 'user', content: 'x' }], stream }),
      );
      assert.equal(err.status, 400);
      assert.equal(err.code, 'content_filter');
      assert.match(err.message, /blocked the prompt \(SAFETY\): The prompt was blocked/);
    }
  });

  // Found by an independent check: a first chunk without candidates (usage or model version
  // alone, as Gemini sends with grounding and thinking) was a 502 "no candidates"; the SDK reads on.
  it('a stream whose first chunk has no candidates reads on to the answer', async () => {
    for (const lead of ['gemini-lead-empty', 'gemini-lead-usage']) {
      const streamed = await collect(
        await client().chat.completions.create({ model: lead, messages: [{ role: 'user', content: 'late' }], stream: true }),
      );
      assert.equal(streamed.text, 'echo: late', lead);
      assert.equal(streamed.finish, 'stop', lead);
    }
  });

  it('a prompt block after a chunk without candidates is still the 400; no candidate ever is a retryable 502, streamed or not', async () => {
    const blocked = await apiError(
      client().chat.completions.create({ model: 'gemini-lead-blocked', messages: [{ role: 'user', content: 'x' }], stream: true }),
    );
    assert.equal(blocked.status, 400);
    assert.equal(blocked.code, 'content_filter');
    for (const stream of [false, true]) {
      const err = await apiError(
        client().chat.completions.create({ model: 'gemini-usage-only', messages: [{ role: 'user', content: 'x' }], stream }),
      );
      assert.equal(err.status, 502, `stream: ${stream}`);
      assert.equal(err.code, 'upstream_invalid_response', `stream: ${stream}`);
      assert.match(err.message, /no candidates/, `stream: ${stream}`);
    }
  });

  it('reads an event whose JSON spans several data: lines (SSE joins them with a line feed)', async () => {
    const streamed = await collect(
      await client().chat.completions.create({ model: 'gemini-multiline', messages: [{ role: 'user', content: 'lines' }], stream: true }),
    );
    assert.equal(streamed.text, 'echo: lines');
    assert.equal(streamed.finish, 'stop');
  });

  it('a candidate with no content and no finish reason is a retryable 502 before any byte, streamed or not', async () => {
    for (const stream of [false, true]) {
      const err = await apiError(
        client().chat.completions.create({ model: 'gemini-empty', messages: [{ role: 'user', content: 'x' }], stream }),
      );
      assert.equal(err.status, 502, `stream: ${stream}`);
      assert.equal(err.code, 'upstream_invalid_response', `stream: ${stream}`);
    }
  });

  it('a candidate with no content that finished with STOP is an empty stop answer, streamed or not', async () => {
    const request = { model: 'gemini-empty-stop', messages: [{ role: 'user' as const, content: 'x' }] };
    const plain = await client().chat.completions.create(request);
    assert.equal(plain.choices[0].message.content, '');
    assert.equal(plain.choices[0].finish_reason, 'stop');
    const streamed = await collect(await client().chat.completions.create({ ...request, stream: true }));
    assert.equal(streamed.text, '');
    assert.equal(streamed.finish, 'stop');
  });

  describe('Gemini errors -> OpenAI errors', () => {
    for (const [status, httpStatus, code] of ERRORS) {
      it(`${status} -> ${httpStatus}`, async () => {
        const err = await apiError(
          client().chat.completions.create({ model: `gemini-error-${status}`, messages: [{ role: 'user', content: 'x' }] }),
        );
        assert.equal(err.status, httpStatus);
        assert.equal(err.code ?? null, code);
        assert.match(err.message, new RegExp(`fake ${status}`));
        assert.doesNotMatch(err.message, /AIza-upstream-secret/);
        if (httpStatus === 429) assert.equal(err.headers?.get('retry-after'), '17', 'from RetryInfo');
      });
    }

    // Found by an independent check: an error body that is a JSON array reached the client as its raw text.
    it('an error sent as the one item of a JSON array is read as the object, streamed or not', async () => {
      for (const [status, httpStatus, code] of ERRORS) {
        for (const stream of [false, true]) {
          const err = await apiError(
            client().chat.completions.create({
              model: `gemini-listed-${stream ? 'streamed-' : ''}error-${status}`,
              messages: [{ role: 'user', content: 'x' }],
              stream,
            }),
          );
          const label = `${status}, stream: ${stream}`;
          assert.equal(err.status, httpStatus, label);
          assert.equal(err.code ?? null, code, label);
          assert.match(err.message, new RegExp(`fake ${status}`), label);
          assert.doesNotMatch(err.message, /[[{]/, `${label}: the message, not the body's JSON`);
          if (httpStatus === 429) assert.equal(err.headers?.get('retry-after'), '17', `${label}: from RetryInfo`);
        }
      }
    });

    // (It sent an empty object in a tool's parameters until such a schema went as parametersJsonSchema, which Gemini takes.)
    it('an invalid request keeps the vendor message (INVALID_ARGUMENT -> 400)', async () => {
      const call = { id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } };
      const err = await apiError(
        client().chat.completions.create({
          model: 'gemini-signed',
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content: null, tool_calls: [{ ...call, extra_content: { google: { thought_signature: 'forged' } } }] },
            { role: 'tool', tool_call_id: 'c1', content: 'cold' },
          ],
        } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      );
      assert.equal(err.status, 400);
      assert.match(err.message, /are not the ones this model gave its calls/);
    });
  });

  it('refuses what Gemini cannot do with a 400 naming the parameter', async () => {
    const err = await apiError(
      client().chat.completions.create({ model: 'gemini-echo', messages: [{ role: 'user', content: 'x' }], logprobs: true }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.param, 'logprobs');
  });

  it('usage Gemini leaves out is estimated, never billed as zero, streamed or not', async () => {
    const messages = [{ role: 'user' as const, content: 'x'.repeat(4000) }];
    const { data, response } = await client().chat.completions.create({ model: 'gemini-no-usage', messages }).withResponse();
    assert.equal(data.usage, undefined, 'no usage invented in the body');
    assert.match(response.headers.get('x-gateway-cost-usd')!, /; estimated$/);
    assert.ok(
      parseFloat(response.headers.get('x-gateway-cost-usd')!) >= 0.001,
      `about 1,000 prompt tokens at $1 a million: ${response.headers.get('x-gateway-cost-usd')}`,
    );
    const chunks = [];
    for await (const chunk of await client().chat.completions.create({
      model: 'gemini-no-usage',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    }))
      chunks.push(chunk);
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === 'stop'));
    assert.ok(
      chunks.every((c) => !c.usage),
      'no usage chunk of zeros',
    );
  });

  it('serves /v1/embeddings with batchEmbedContents, dimensions, unit vectors, float and base64', async () => {
    const { data: floats, response: priced } = await client()
      .embeddings.create({ model: 'gemini-embed', input: ['a', 'bb'], dimensions: 4, encoding_format: 'float' })
      .withResponse();
    assert.equal(floats.data.length, 2);
    assert.equal(floats.data[1].index, 1);
    assert.equal(floats.data[0].embedding.length, 4);
    for (const { embedding } of floats.data) assert.ok(Math.abs(Math.hypot(...embedding) - 1) < 1e-6, 'unit length');
    // Google reports no usage for embeddings: the body and the bill carry the gateway's estimate, never 0.
    assert.deepEqual(floats.usage, { prompt_tokens: 2, total_tokens: 2 });
    // One estimate, shown and billed (the bill's was of the inputs joined: 1 token). Found by an independent check.
    assert.equal(priced.headers.get('x-gateway-cost-usd'), '0.000002; estimated', 'the 2 tokens the body says, at $1 a million');
    const { path, body } = upstream.last();
    assert.equal(path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
    assert.deepEqual(body.requests, [
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }], role: 'user' }, outputDimensionality: 4 },
      { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'bb' }], role: 'user' }, outputDimensionality: 4 },
    ]);
    const { response } = await client()
      .embeddings.create({ model: 'gemini-embed', input: 'x'.repeat(400) })
      .withResponse();
    assert.equal(response.headers.get('x-gateway-cost-usd'), '0.0001; estimated', '100 estimated prompt tokens at $1 a million');
    // The openai SDK asks for base64 by default and decodes it.
    const decoded = await client().embeddings.create({ model: 'gemini-embed', input: 'a', dimensions: 4 });
    assert.equal(upstream.last().path, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
    decoded.data[0].embedding.forEach((v, i) => assert.ok(Math.abs(v - floats.data[0].embedding[i]) < 1e-6));
    const err = await apiError(client().embeddings.create({ model: 'gemini-embed', input: [1, 2, 3] }));
    assert.equal(err.status, 400);
  });
});

// Found by an independent check: with a one-letter provider key every occurrence of that letter in
// an upstream's message became "[provider key]". A key that short guards nothing; the message stays whole.
describe('a provider key shorter than 8 characters is left in upstream messages', () => {
  const SHORT_KEY = 'fake';
  const client = useVendorGateway('gemini', new FakeGemini(SHORT_KEY), SHORT_KEY, 'gemini', [model('gemini-error-INVALID_ARGUMENT')]);

  it('the message reads as the upstream wrote it', async () => {
    const err = await apiError(
      client().chat.completions.create({ model: 'gemini-error-INVALID_ARGUMENT', messages: [{ role: 'user', content: 'x' }] }),
    );
    assert.equal(err.status, 400);
    assert.match(err.message, /fake INVALID_ARGUMENT/);
    assert.doesNotMatch(err.message, /\[provider key\]/);
  });
});
