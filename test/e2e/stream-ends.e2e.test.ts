import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { assertUpstreamCut, brokenStream, upstreamMark } from '../support/chat';
import { FakeAnthropic } from '../support/fake-anthropic';
import { FakeGemini, GEMINI_USAGE } from '../support/fake-gemini';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const ANTHROPIC_KEY = 'sk-ant-upstream-secret-7';
const GEMINI_KEY = 'AIza-upstream-secret-7';

/**
 * Where a stream ends, with upstreams that misbehave at its edges: one that keeps its connection
 * open after a complete answer, one that sends keep-alive comments before (or instead of) an
 * answer, one whose body is no event stream. The provider's idle timeout and the router's
 * timeouts are short, so a gateway that waits on such an upstream fails these by outcome.
 * Found by an independent check (long-lived streams, misbehaving peers).
 */
describe('stream ends with misbehaving upstreams', () => {
  const openai = new FakeOpenAI();
  const anthropic = new FakeAnthropic(ANTHROPIC_KEY);
  const gemini = new FakeGemini(GEMINI_KEY);
  let gateway: GatewayProcess;

  before(async () => {
    const [oaUrl, antUrl, gemUrl] = await Promise.all([openai.start(), anthropic.start(), gemini.start()]);
    const deploy = (name: string, ...models: [string, string][]) => ({
      name,
      deployments: models.map(([provider, model]) => ({ provider, model, capabilities: ['tools'] })),
    });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl: oaUrl, apiKeyEnv: 'FAKE_OA_KEY', timeoutMs: 1_500 },
          { name: 'ant', type: 'anthropic', baseUrl: antUrl, apiKeyEnv: 'FAKE_ANT_KEY', timeoutMs: 1_500 },
          { name: 'gem', type: 'gemini', baseUrl: gemUrl, apiKeyEnv: 'FAKE_GEM_KEY', timeoutMs: 1_500 },
        ],
        models: [
          deploy('never', ['oa', 'neverclose']),
          deploy('a-never', ['ant', 'claude-neverclose']),
          deploy('g-never', ['gem', 'gemini-neverclose']),
          deploy('g-late-usage-never', ['gem', 'gemini-late-usage-neverclose']),
          deploy('pings-then-ok', ['oa', 'pings-3'], ['oa', 'ok']),
          deploy('pings-only', ['oa', 'pings-60']),
          deploy('unframed-then-ok', ['oa', 'unframed'], ['oa', 'ok']),
          deploy('a-unframed-then-echo', ['ant', 'claude-unframed'], ['ant', 'claude-echo']),
          deploy('garbage-first-then-ok', ['oa', 'garbage-first'], ['oa', 'ok']),
          deploy('garbage-first', ['oa', 'garbage-first']),
          deploy('garbage-mid', ['oa', 'garbage-mid']),
          deploy('first-null-then-ok', ['oa', 'first-null'], ['oa', 'ok']),
          deploy('null-mid', ['oa', 'null-mid']),
          deploy('opening-then-ok', ['oa', 'opening'], ['oa', 'ok']),
          deploy('opening', ['oa', 'opening']),
          deploy('choices-string-mid', ['oa', 'choices-string-mid']),
          deploy('first-call-id-number-then-ok', ['oa', 'first-call-id-number'], ['oa', 'ok']),
          deploy('mid', ['oa', 'mid']),
          ...['first-empty', 'first-no-choices', 'first-unnamed', 'html-mid', 'cut-chunk-mid', 'word-mid'].map((model) =>
            deploy(model, ['oa', model]),
          ),
        ],
        router: {
          timeouts: { attemptMs: 2_000, deadlineMs: 2_000 },
          retry: { attemptsPerDeployment: 1 },
          // The first-event property fails one deployment many times over: its breaker is not what it tests.
          breaker: { consecutiveFailures: 1_000, minRequests: 1_000 },
        },
      }),
      { env: { FAKE_OA_KEY: 'sk-oa', FAKE_ANT_KEY: ANTHROPIC_KEY, FAKE_GEM_KEY: GEMINI_KEY } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([openai.stop(), anthropic.stop(), gemini.stop()]);
  });

  const post = (path: string, body: object) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  /** A streamed chat completion of `model` saying hi. */
  const streamChat = (model: string) => post('/v1/chat/completions', { model, stream: true, messages: [{ role: 'user', content: 'hi' }] });
  /** The Anthropic error with which the Anthropic SDK's stream of `model` ends. */
  const messagesStreamError = async (model: string) => {
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
    const err = await claude.messages
      .stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .then(
        () => assert.fail('the stream completed'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof Anthropic.APIError, String(err));
    return (err.error as { error: { type: string; message: string } }).error;
  };
  const accessLine = async (res: Response) =>
    (await gateway.logged('request', { where: (l) => l.reqId === res.headers.get('x-request-id') }))[0];

  describe('an upstream that keeps the connection open after a complete stream', () => {
    it('chat completions end at [DONE], nothing after it; the log has the upstream`s usage and no error; the upstream is let go', async () => {
      const mark = upstreamMark(openai);
      const res = await post('/v1/chat/completions', {
        model: 'never',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'hi' }],
      });
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(text.endsWith('data: [DONE]\n\n'), text.slice(-200));
      assert.equal(text.indexOf('data: [DONE]'), text.length - 'data: [DONE]\n\n'.length);
      const line = await accessLine(res);
      assert.equal(line?.error, undefined);
      assert.deepEqual([line?.promptTokens, line?.completionTokens, line?.usageEstimated], [11, 7, undefined]);
      await assertUpstreamCut(openai, mark);
    });

    for (const model of ['never', 'a-never'])
      it(`the Anthropic SDK gets the final message on /v1/messages (${model === 'never' ? 'OpenAI-format' : 'native Anthropic'} upstream)`, async () => {
        const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
        const message = await claude.messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
        assert.equal(message.stop_reason, 'end_turn');
      });

    it('chat completions from an Anthropic upstream (translated) end with finish_reason and [DONE]', async () => {
      const stream = await gateway.client().chat.completions.create({
        model: 'a-never',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      let finish;
      for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
      assert.equal(finish, 'stop');
    });

    it('the Responses API ends with response.completed', async () => {
      const stream = gateway.client().responses.stream({ model: 'never', input: 'hi', store: false });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      assert.equal(types.at(-1), 'response.completed');
    });

    // Found by an independent check (stream33 D2): Gemini's stream has no end marker, and one whose connection stayed open
    // after its last chunk ended, after the provider's timeoutMs, in a timeout error on every API though the client had
    // the whole answer. Its end is the chunk where the candidate finished with the usage, or (`late-usage`) the usage
    // chunk after the finish: the bill has Gemini's counts, not the estimate an end at the finish would leave.
    describe('a Gemini upstream (no end marker: the chunk with the finish and the usage ends it)', () => {
      for (const model of ['g-never', 'g-late-usage-never']) {
        it(`chat completions end with finish_reason, the usage and [DONE]; the log has Gemini's usage and no error; the upstream is let go (${model})`, async () => {
          const mark = upstreamMark(gemini);
          const res = await post('/v1/chat/completions', {
            model,
            stream: true,
            stream_options: { include_usage: true },
            messages: [{ role: 'user', content: 'hi' }],
          });
          const text = await res.text();
          assert.equal(res.status, 200);
          assert.ok(text.endsWith('data: [DONE]\n\n') && !text.includes('"error"'), text.slice(-300));
          assert.match(text, /"finish_reason":"stop"/);
          assert.match(text, /"usage":\{"prompt_tokens":12,"completion_tokens":8,/);
          const line = await accessLine(res);
          assert.equal(line?.error, undefined);
          assert.deepEqual(
            [line?.promptTokens, line?.completionTokens, line?.usageEstimated],
            [GEMINI_USAGE.promptTokenCount, GEMINI_USAGE.candidatesTokenCount, undefined],
          );
          await assertUpstreamCut(gemini, mark);
        });

        it(`the Anthropic SDK gets the final message on /v1/messages, no error (${model})`, async () => {
          const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
          const message = await claude.messages
            .stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
            .finalMessage();
          assert.deepEqual(
            [message.stop_reason, message.content, message.usage.output_tokens],
            ['end_turn', [{ type: 'text', text: 'echo: hi' }], GEMINI_USAGE.candidatesTokenCount],
          );
        });

        it(`the Responses API ends with response.completed, no error event (${model})`, async () => {
          const stream = gateway.client().responses.stream({ model, input: 'hi', store: false });
          const types: string[] = [];
          for await (const event of stream) types.push(event.type);
          assert.equal(types.at(-1), 'response.completed');
          assert.equal(types.includes('error') || types.includes('response.failed'), false);
          assert.equal((await stream.finalResponse()).output_text, 'echo: hi');
        });
      }
    });
  });

  describe('SSE comments are no first chunk', () => {
    it('a deployment that sends `: ping` comments and then drops falls back to the next one', async () => {
      const res = await streamChat('pings-then-ok');
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(text.endsWith('data: [DONE]\n\n'));
      assert.equal(text.includes('"error"'), false);
      assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /pings-then-ok\/0=upstream_stream_truncated/);
    });

    it('a stream of comments only is ended by the attempt`s timeout, before anything is sent', async () => {
      const res = await streamChat('pings-only');
      assert.equal(res.status, 504, await res.text());
    });
  });

  it('a body with no event boundary in its first 8 MiB is an invalid answer: the next deployment answers', async () => {
    const res = await streamChat('unframed-then-ok');
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /unframed-then-ok\/0=upstream_invalid_response/);
  });

  // Found by an independent check: the Messages API pass-through relayed such a body (no event ended
  // in its first 64 KiB) as the answer, a 200 of gigabytes, with no fallback.
  it('an Anthropic body whose first event does not end within 64 KiB is an invalid answer on /v1/messages: the next deployment answers', async () => {
    const anthropicClient = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    const { data: stream, response } = await anthropicClient.messages
      .create({ model: 'a-unframed-then-echo', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    assert.equal(types.at(-1), 'message_stop');
    assert.match(response.headers.get('x-gateway-fallbacks') ?? '', /a-unframed-then-echo\/0=upstream_invalid_response/);
  });

  // Found by an independent check: such a first event passed the first-event check (any JSON did), then
  // the codecs threw a TypeError on it: a 200 holding only "Internal gateway error", no fallback, nothing logged.
  describe('a first event from an OpenAI-format upstream that is JSON but no whole chunk', () => {
    /** Each API's path, a streamed request's body and the event that ends its complete answer. */
    const API_CALLS: [string, object, string][] = [
      ['/v1/chat/completions', { stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'data: [DONE]'],
      ['/v1/messages', { stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }, 'event: message_stop'],
      ['/v1/responses', { stream: true, input: 'hi', store: false }, 'event: response.completed'],
    ];

    for (const [path, body, end] of API_CALLS)
      it(`\`null\` fails the attempt like an event that is not JSON: the next deployment answers (${path})`, async () => {
        const res = await post(path, { model: 'first-null-then-ok', ...body });
        const text = await res.text();
        assert.equal(res.status, 200);
        assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /first-null-then-ok\/0=upstream_invalid_response/);
        assert.ok(text.includes(end) && !text.includes('"error":{'), text);
      });

    for (const model of ['first-empty', 'first-no-choices', 'first-unnamed'])
      it(`the answer after it is served whole on each API (${model})`, async () => {
        const chat = await streamChat(model);
        const chatText = await chat.text();
        assert.ok(chatText.endsWith('data: [DONE]\n\n') && !chatText.includes('"error"'), chatText);

        const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
        const message = await claude.messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
        assert.equal(message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), 'fake answer to: hi');
        assert.match(message.id, /^msg_[A-Za-z0-9_-]+$/);
        assert.equal(message.model, model);

        const response = await gateway.client().responses.stream({ model, input: 'hi', store: false }).finalResponse();
        assert.equal(response.output_text, 'fake answer to: hi');
      });

    it('after the stream began, `null` ends it as the upstream`s invalid answer (api_error naming the provider), not the gateway`s error', async () => {
      const error = await messagesStreamError('null-mid');
      assert.deepEqual([error.type, error.message], ['api_error', 'Provider oa sent a stream event that is not a JSON object.']);
    });

    // Found by an independent check: this gave an `internal_error` event (a TypeError in the Messages codec).
    it('after the stream began, a chunk whose `choices` is no list ends it as the upstream`s invalid answer (api_error naming the provider)', async () => {
      const error = await messagesStreamError('choices-string-mid');
      assert.deepEqual(
        [error.type, error.message],
        ['api_error', 'Provider oa sent a chunk that is not a chat completion chunk (`choices` is of the wrong type).'],
      );
    });

    // Found by an engineer's check: a tool call id that was a number threw a TypeError in the Messages codec (an internal_error
    // event). An error the gateway did not expect is still logged with its stack: test/unit/sse-unexpected-error.test.ts.
    for (const [path, body, end] of API_CALLS)
      it(`a first chunk whose tool call id is a number fails the attempt: the next deployment answers (${path})`, async () => {
        const res = await post(path, { model: 'first-call-id-number-then-ok', ...body });
        const text = await res.text();
        assert.equal(res.status, 200);
        assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /first-call-id-number-then-ok\/0=upstream_invalid_response/);
        assert.ok(text.includes(end) && !text.includes('"error":{'), text);
      });
  });

  // Found by an independent check: a stream holding only `data: [DONE]` was a 200 with an empty stream (no
  // fallback), and first events that are JSON but no object were forwarded as they were on /v1/chat/completions.
  describe('the first event of an OpenAI-format upstream`s stream decides whether the attempt answered (fast-check)', () => {
    /** How the `opening` fake's stream starts, and the failure of the attempt it makes (none: it answers). */
    type Opening = { text: string; answer: boolean; failure?: string };
    const CHUNK = { id: 'chatcmpl-opening', object: 'chat.completion.chunk', created: 1, model: 'opening' };
    const event = (data: string) => `data: ${data}\n\n`;
    const isJson = (text: string) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    const INVALID = 'upstream_invalid_response';
    const SHAPES = {
      // Chunks as servers open their streams: the usual one, a choice without delta, no choices yet (`null`, `[]`, none).
      chunk: fc
        .constantFrom<object>(
          { choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] },
          { choices: [{ index: 0, finish_reason: null }] },
          { choices: [{ index: 0, delta: null, finish_reason: null }] },
          { choices: null },
          { choices: [] },
          {},
        )
        .map<Opening>((fields) => ({ text: event(JSON.stringify({ ...CHUNK, ...fields })), answer: true })),
      notAnObject: fc
        .jsonValue()
        .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value))
        .map<Opening>((value) => ({ text: event(JSON.stringify(value)), answer: true, failure: INVALID })),
      notJson: fc
        .string()
        .filter((data) => !/[\r\n]/.test(data) && !isJson(data) && data.trim() !== '[DONE]')
        .map<Opening>((data) => ({ text: event(data), answer: true, failure: INVALID })),
      // Objects the codecs read as chunks though they are none: `choices` no list, a choice or a delta no object, tool calls no list.
      notAChunk: fc
        .constantFrom<unknown>(
          { choices: 'x' },
          { choices: 1 },
          { choices: {} },
          { choices: [1] },
          { choices: [null] },
          { choices: ['x'] },
          { choices: [[]] },
          { choices: [{ index: 0, delta: 'x' }] },
          { choices: [{ index: 0, delta: [] }] },
          { choices: [{ index: 0, delta: { tool_calls: 5 } }] },
          { choices: [{ index: 0, delta: { tool_calls: [null] } }] },
          // Fields of the wrong type inside a whole choice (the Messages codec threw a TypeError on a numeric call id).
          { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 5, type: 'function', function: { name: 'f' } }] } }] },
          { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: {} } }] } }] },
          { choices: [{ index: 0, delta: { content: { text: 'x' } } }] },
          { choices: [{ index: '0', delta: { content: 'x' } }] },
        )
        .map<Opening>((data) => ({ text: event(JSON.stringify({ ...CHUNK, ...(data as object) })), answer: true, failure: INVALID })),
      doneOnly: fc.constant<Opening>({ text: event('[DONE]'), answer: false, failure: INVALID }),
      // The response ends (cleanly) before any event: no answer either.
      eof: fc.constant<Opening>({ text: '', answer: false, failure: INVALID }),
    };
    /** Each API's path, a streamed request's body, the event that ends its complete answer, and its failure status before any event. */
    const APIS: [string, object, string, number][] = [
      ['/v1/chat/completions', { stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'data: [DONE]', 502],
      ['/v1/messages', { stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }, 'event: message_stop', 500],
      ['/v1/responses', { stream: true, input: 'hi', store: false }, 'event: response.completed', 502],
    ];

    it('a chunk starts the answer; non-object JSON, an object that is no chunk, non-JSON, `[DONE]` alone or no event fail the attempt: another deployment answers, or none is left and the protocol`s plain error comes back', async () => {
      const opening = fc.oneof(...Object.values(SHAPES));
      const api = fc.constantFrom(...APIS);
      const examples = [
        event('true'),
        event('"x"'),
        event('1'),
        event('[]'),
        event('{"choices":"x"}'),
        event('{"choices":[null]}'),
        event('{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":5,"function":{"name":"f"}}]}}]}'),
        event('{"choices":[{"index":"0","delta":{"content":"x"}}]}'),
      ]
        .map<Opening>((text) => ({ text, answer: true, failure: INVALID }))
        .concat([
          { text: event('[DONE]'), answer: false, failure: INVALID },
          { text: '', answer: false, failure: INVALID },
          { text: event('{"choices":[{"index":0,"finish_reason":null}]}'), answer: true },
        ])
        .flatMap((shape) =>
          APIS.flatMap((call) => [true, false].map((left): [Opening, (typeof APIS)[number], boolean] => [shape, call, left])),
        );
      await fc.assert(
        fc.asyncProperty(opening, api, fc.boolean(), async (shape, [path, body, end, failureStatus], deploymentLeft) => {
          openai.opening = shape;
          const model = deploymentLeft ? 'opening-then-ok' : 'opening';
          const res = await post(path, { model, ...body });
          const text = await res.text();
          const fallbacks = res.headers.get('x-gateway-fallbacks') ?? '';
          if (!shape.failure || deploymentLeft) {
            assert.equal(res.status, 200, text);
            assert.ok(text.includes(end) && !text.includes('"error":{'), text);
            if (shape.failure) assert.match(fallbacks, new RegExp(`${model}/0=${shape.failure}`));
            else assert.doesNotMatch(fallbacks, /\/0=/);
            return;
          }
          assert.equal(res.status, failureStatus, text);
          const error = (JSON.parse(text) as { error: { type: string; code?: string } }).error;
          if (path === '/v1/messages') assert.equal(error.type, 'api_error');
          else assert.equal(error.code, shape.failure);
        }),
        { seed: 22, numRuns: 60, examples },
      );
    });
  });

  // Found by an independent check: the translating codecs' parse of such an event threw a bare SyntaxError,
  // which the HTTP layer took for the client's body ("We could not parse the JSON body of your request"),
  // and a first event that was not JSON started the stream (a 200 with only an error event, no fallback).
  describe('an event from an OpenAI-format upstream that is not JSON is the upstream`s invalid answer', () => {
    const INVALID = /Provider oa answered with invalid JSON/;

    it('as the first event, it fails the attempt: the next deployment answers, on each API', async () => {
      const res = await streamChat('garbage-first-then-ok');
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(text.endsWith('data: [DONE]\n\n'), text);
      assert.equal(text.includes('not json'), false, text);
      assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /garbage-first-then-ok\/0=upstream_invalid_response/);

      const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
      const message = await claude.messages
        .stream({ model: 'garbage-first-then-ok', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .finalMessage();
      assert.equal(message.stop_reason, 'end_turn');

      const types: string[] = [];
      for await (const event of gateway.client().responses.stream({ model: 'garbage-first-then-ok', input: 'hi', store: false }))
        types.push(event.type);
      assert.equal(types.at(-1), 'response.completed');
    });

    it('as the first event with no deployment left, it is a plain error status in each protocol, not a 200', async () => {
      const chat = await streamChat('garbage-first');
      const chatBody = (await chat.json()) as { error: { code: string; message: string } };
      assert.deepEqual([chat.status, chatBody.error.code], [502, 'upstream_invalid_response']);
      assert.match(chatBody.error.message, INVALID);

      const messages = await post('/v1/messages', {
        model: 'garbage-first',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      const messagesBody = (await messages.json()) as { error: { type: string; message: string } };
      assert.deepEqual([messages.status, messagesBody.error.type], [500, 'api_error']);
      assert.match(messagesBody.error.message, INVALID);

      const responses = await post('/v1/responses', { model: 'garbage-first', stream: true, input: 'hi', store: false });
      const responsesBody = (await responses.json()) as { error: { code: string } };
      assert.deepEqual([responses.status, responsesBody.error.code], [502, 'upstream_invalid_response']);
    });

    /** What the pass-through says of a later event whose data is not framed as a JSON object (it is not parsed). */
    const NOT_AN_OBJECT = /Provider oa sent a stream event that is not a JSON object/;

    it('after the stream began, the Anthropic SDK gets an api_error naming the provider, not an invalid_request_error', async () => {
      const error = await messagesStreamError('garbage-mid');
      assert.equal(error.type, 'api_error');
      assert.match(error.message, NOT_AN_OBJECT);
    });

    it('after the stream began, the Responses API ends with response.failed (server_error) and an error event with the gateway`s code', async () => {
      const events: { type: string; response?: { error?: { code: string; message: string } | null } }[] = [];
      const thrown = await (async () => {
        for await (const event of gateway.client().responses.stream({ model: 'garbage-mid', input: 'hi', store: false }))
          events.push(event);
      })().then(
        () => undefined,
        (err: unknown) => err,
      );
      // response.error.code takes only OpenAI's documented codes; the gateway's own is the error event's.
      const failed = events.find((e) => e.type === 'response.failed');
      assert.equal(failed?.response?.error?.code, 'server_error', JSON.stringify(events.at(-1)));
      assert.match(failed?.response?.error?.message ?? '', NOT_AN_OBJECT);
      // The SDK throws the error event (an APIError whose code is the event's).
      assert.equal((thrown as { code?: string } | undefined)?.code, 'upstream_invalid_response');
    });
  });
  // Found by an independent check: the pass-through parsed only the first event, so a later one that was not JSON reached
  // the client as it came, and the openai SDK died on a SyntaxError ("malformed server-sent event JSON") instead of an
  // APIError; the stream was logged and counted as truncated. Each event's data is now checked to be framed as a JSON object.
  describe('on /v1/chat/completions, an event after the first that is not JSON ends the stream as the upstream`s invalid answer', () => {
    const MODELS = ['garbage-mid', 'html-mid', 'cut-chunk-mid', 'word-mid'];

    for (const model of MODELS)
      it(`the openai SDK gets the gateway's APIError naming the provider, not a SyntaxError (${model})`, async () => {
        const { text, err } = await brokenStream(gateway.client({ maxRetries: 0 }), model);
        assert.ok(err instanceof OpenAI.APIError, String(err));
        assert.equal(err.code, 'upstream_invalid_response');
        assert.match(err.message, /Provider oa sent a stream event that is not a JSON object/);
        assert.ok(text.length > 0, 'the chunks before the event were sent');
      });

    it('nothing of the event reaches the client; the access line and gateway_stream_errors_total name the invalid answer', async () => {
      for (const model of MODELS) {
        const res = await streamChat(model);
        const text = await res.text();
        const data = text
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6));
        assert.ok(data.length > 2, text);
        for (const value of data) assert.doesNotThrow(() => JSON.parse(value), text);
        assert.match(data.at(-1)!, /"code":"upstream_invalid_response"/);
        const line = await accessLine(res);
        assert.equal(line?.error, 'upstream_invalid_response', JSON.stringify(line));
        assert.ok(
          (await gateway.metric('gateway_stream_errors_total', `model="${model}",provider="oa",reason="upstream_invalid_response"`)) >= 1,
        );
      }
    });
  });

  // Found by an engineer's check: a chunk whose fields had the wrong JSON types inside a whole choice (a tool call id that is
  // a number, arguments or content an object, an index that is a string) threw a TypeError in the Messages codec (an
  // internal_error event, "Internal gateway error") or went out as it was. Such a chunk is now the upstream's invalid answer.
  // Found by an independent check: an event whose data spans several `data:` lines (SSE joins them with LF) went through
  // chat, but the Messages and Responses codecs read each line as a chunk of its own: an invalid-JSON error event.
  for (const [route, body, end] of [
    ['/v1/messages', { stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'hello there you' }] }, 'event: message_stop'],
    ['/v1/responses', { stream: true, input: 'hello there you', store: false }, 'event: response.completed'],
  ] as const)
    it(`a chunk whose data spans several data: lines is read whole on ${route}`, async () => {
      openai.mid =
        '{"id":"chatcmpl-fake","object":"chat.completion.chunk",\ndata: "choices":[{"index":0,"delta":{"content":"MULTILINE"}}]}';
      const text = await (await post(route, { model: 'mid', ...body })).text();
      assert.ok(text.includes('MULTILINE') && text.includes(end) && !text.includes('invalid JSON'), text);
    });

  // Found by a check: an event whose data is empty (`data:`, `data: `) ended every stream as the upstream's invalid answer
  // ("not a JSON object"), and failed the attempt as the first event. It holds no chunk, and the openai SDKs dispatch it and
  // fail on it (JSON.parse of ''), so the gateway does not forward it. A comment among them still goes out.
  describe('an event whose data is empty is no event: the answer is served whole with the SDKs', () => {
    const text = 'fake answer to: say hi';
    for (const [where, model, set] of [
      ['after the stream began, with a comment', 'mid', () => (openai.mid = '\n\n: ping\n\ndata:')],
      ['as the first events', 'opening', () => (openai.opening = { text: 'data:\n\ndata: \r\n\r\n', answer: true })],
    ] as const) {
      it(`on /v1/chat/completions (${where})`, async () => {
        set();
        const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
        let content = '';
        let finish: string | null = null;
        for await (const chunk of await client.chat.completions.create({
          model,
          stream: true,
          messages: [{ role: 'user', content: 'say hi' }],
        })) {
          content += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        assert.deepEqual([content, finish], [text, 'stop']);
      });
      it(`on /v1/messages (${where})`, async () => {
        set();
        const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
        const message = await claude.messages
          .stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'say hi' }] })
          .finalMessage();
        const said = message.content.map((block) => (block.type === 'text' ? block.text : block.type)).join('|');
        assert.deepEqual([said, message.stop_reason], [text, 'end_turn']);
      });
      it(`on /v1/responses (${where})`, async () => {
        set();
        const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0 });
        const response = await client.responses.stream({ model, input: 'say hi', store: false }).finalResponse();
        assert.deepEqual([response.output_text, response.status], [text, 'completed']);
      });
    }
  });

  describe('a chunk after the first whose fields the codecs read have the wrong types (fast-check)', () => {
    type Kind = 'string' | 'number' | 'object' | 'array';
    /** Each field the codecs read: its path in the error, its type, and a chunk holding `value` there. */
    const FIELDS: [string, Kind, (value: unknown) => object][] = [
      ['id', 'string', (id) => ({ id, choices: [] })],
      ['model', 'string', (model) => ({ model, choices: [] })],
      ['usage', 'object', (usage) => ({ usage, choices: [] })],
      // Not `usage.prompt_tokens`: usage whose counts are not numbers is no usage, the answer served and billed as
      // estimated (test/e2e/usage-missing.e2e.test.ts).
      ['choices', 'array', (choices) => ({ choices })],
      ['choices[0].index', 'number', (index) => ({ choices: [{ index, delta: { content: 'x' } }] })],
      ['choices[0].delta', 'object', (delta) => ({ choices: [{ index: 0, delta }] })],
      ['choices[0].finish_reason', 'string', (reason) => ({ choices: [{ index: 0, delta: {}, finish_reason: reason }] })],
      ['choices[0].delta.role', 'string', (role) => ({ choices: [{ index: 0, delta: { role } }] })],
      ['choices[0].delta.content', 'string', (content) => ({ choices: [{ index: 0, delta: { content } }] })],
      ['choices[0].delta.refusal', 'string', (refusal) => ({ choices: [{ index: 0, delta: { refusal } }] })],
      ['choices[0].delta.reasoning_content', 'string', (text) => ({ choices: [{ index: 0, delta: { reasoning_content: text } }] })],
      ['choices[0].delta.tool_calls', 'array', (calls) => ({ choices: [{ index: 0, delta: { tool_calls: calls } }] })],
      ...(['index', 'id', 'type', 'function'] as const).map((key): [string, Kind, (value: unknown) => object] => [
        `choices[0].delta.tool_calls[0].${key}`,
        key === 'index' ? 'number' : key === 'function' ? 'object' : 'string',
        (value) => ({
          choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f' }, [key]: value }] } }],
        }),
      ]),
      ...(['name', 'arguments'] as const).map((key): [string, Kind, (value: unknown) => object] => [
        `choices[0].delta.tool_calls[0].function.${key}`,
        'string',
        (value) => ({
          choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', [key]: value } }] } }],
        }),
      ]),
    ];
    const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
    const RIGHT: Record<Kind, unknown> = { string: 'x', number: 0, object: {}, array: [] };
    /** Each API's path, a streamed request's body and the event that ends its complete answer. */
    const APIS: [string, object, string][] = [
      ['/v1/messages', { stream: true, max_tokens: 50, messages: [{ role: 'user', content: 'hello there you' }] }, 'event: message_stop'],
      ['/v1/responses', { stream: true, input: 'hello there you', store: false }, 'event: response.completed'],
    ];

    it('ends the stream as the upstream`s invalid answer naming the provider and the field, never the gateway`s internal error; the right type answers', async () => {
      const field = fc.constantFrom(...FIELDS);
      const wrong = fc.jsonValue();
      const examples = FIELDS.flatMap((entry) =>
        APIS.flatMap((api): [(typeof FIELDS)[number], unknown, (typeof APIS)[number]][] => [
          [entry, entry[1] === 'string' ? 5 : 'x', api],
          [entry, RIGHT[entry[1]], api],
        ]),
      );
      await fc.assert(
        fc.asyncProperty(field, wrong, fc.constantFrom(...APIS), async ([path, kind, chunk], drawn, [route, body, end]) => {
          // A value of the right type stands for any: one the codecs read whole (a random list's items would be checked too).
          // A content list of objects is parts (Mistral's reasoning models), read as text: of the right type too.
          const parts = path.endsWith('.content') && Array.isArray(drawn) && drawn.every((p) => kindOf(p) === 'object');
          const value = kindOf(drawn) === kind || parts ? RIGHT[kind] : drawn;
          openai.mid = JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'mid', ...chunk(value) });
          const res = await post(route, { model: 'mid', ...body });
          const text = await res.text();
          assert.equal(res.status, 200, text);
          assert.doesNotMatch(text, /Internal gateway error|internal_error/);
          if (value === null || value === RIGHT[kind]) {
            assert.ok(text.includes(end), text);
            return;
          }
          assert.ok(!text.includes(end), text);
          assert.ok(
            text.includes(`Provider oa sent a chunk that is not a chat completion chunk (\`${path}\` is of the wrong type).`),
            text,
          );
        }),
        { seed: 22, numRuns: 40, examples },
      );
    });
  });
});
