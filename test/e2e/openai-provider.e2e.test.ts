import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { configWith, GatewayProcess, gatewayWithFakeUpstream } from '../support/gateway';
import {
  abortAfter,
  assertAbortReachesUpstream,
  assertUpstreamAnswered,
  assertUpstreamCut,
  brokenStream,
  upstreamMark,
} from '../support/chat';
import { eventually } from '../support/eventually';
import { PARALLEL_CALLS } from '../support/fake-openai';

/** Public model name -> fake upstream behaviour (the upstream model id). */
const BEHAVIOURS = [
  'ok',
  'tool',
  'status-400',
  'status-401',
  'status-404',
  'status-429',
  'status-500',
  'status-503',
  'quota',
  'slow-3000',
  'hang',
  'reset',
  'cut',
  'stall',
  'html-502',
  'drip-200',
  'parallel-noindex',
  'parallel-sameindex',
];

describe('OpenAI-compatible provider through the gateway', () => {
  const setup = gatewayWithFakeUpstream(
    (baseUrl) =>
      configWith({
        providers: [
          { name: 'fake', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_UPSTREAM_KEY', timeoutMs: 1_000 },
          // No timeout of its own within a slow answer: it comes in full, a client that left or not.
          { name: 'patient', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_UPSTREAM_KEY', timeoutMs: 60_000 },
        ],
        models: [
          ...BEHAVIOURS.map((b) => ({ name: `fake-${b}`, deployments: [{ provider: 'fake', model: b, capabilities: ['tools', 'json'] }] })),
          { name: 'fake-embed', deployments: [{ provider: 'fake', model: 'ok', capabilities: ['embeddings'] }] },
          // Upstream models of their own (the fake answers them as status-429 and status-401): on the same upstream model
          // and account as fake-status-429 and fake-status-401 they would share their cool-downs (README Routing).
          { name: 'fake-429-stream', deployments: [{ provider: 'fake', model: 'status-429.stream' }] },
          // Not cooling down after fake-status-401's: the SDK's retries are counted upstream.
          { name: 'fake-401-retried', deployments: [{ provider: 'fake', model: 'status-401.retried' }] },
          // Upstream model ids Node would refuse in a header as they are (the fake answers any id).
          { name: 'fake-unicode', deployments: [{ provider: 'fake', model: 'usage-模型 100%' }] },
          { name: 'fake-newline', deployments: [{ provider: 'fake', model: 'two\nlines' }] },
          { name: 'patient-slow-3000', deployments: [{ provider: 'patient', model: 'slow-3000' }] },
          { name: 'patient-stall', deployments: [{ provider: 'patient', model: 'stall' }] },
        ],
      }),
    { env: { FAKE_UPSTREAM_KEY: 'sk-upstream-secret-123' } },
  );
  const upstream = setup.upstream;
  /** Until the upstream has a request sent after it had `before` (a fixed 300 ms could end first on a busy host). */
  const reached = async (before: number) =>
    assert.ok(await eventually(async () => upstream.received.length > before), 'the upstream has the request');
  let gateway: GatewayProcess;
  let client: OpenAI;
  before(() => {
    gateway = setup.gateway;
    client = gateway.client();
  });

  it('forwards a chat completion with the upstream model id and the provider key', async () => {
    const res = await client.chat.completions
      .create({ model: 'fake-ok', messages: [{ role: 'user', content: 'hello' }], temperature: 0.2, seed: 7, user: 'u1' })
      .withResponse();
    assert.equal(res.data.choices[0].message.content, 'fake answer to: hello');
    assert.deepEqual(res.data.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    const sent = upstream.last();
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.body.model, 'ok');
    assert.equal(sent.body.temperature, 0.2);
    assert.equal(sent.body.seed, 7);
    assert.equal(sent.body.user, 'u1');
    assert.equal(sent.headers.authorization, 'Bearer sk-upstream-secret-123');
    assert.equal(res.response.headers.get('x-gateway-provider'), 'fake');
    assert.equal(res.response.headers.get('x-gateway-upstream-model'), 'ok');
    assert.match(res.response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('percent-encodes an upstream model id that is not visible ASCII in x-gateway-upstream-model, and keeps serving', async () => {
    for (const [model, id] of [
      ['fake-unicode', 'usage-模型 100%'],
      ['fake-newline', 'two\nlines'],
    ]) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 200);
      assert.equal(upstream.last().body.model, id);
      const header = res.headers.get('x-gateway-upstream-model') ?? '';
      assert.match(header, /^[\x20-\x7e]+$/);
      assert.equal(decodeURIComponent(header), id);
    }
    assert.equal(gateway.exitCode, null);
  });

  it('keeps a client-supplied x-request-id', async () => {
    const res = await client.chat.completions
      .create({ model: 'fake-ok', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-request-id': 'trace-abc.123' } })
      .withResponse();
    assert.equal(res.response.headers.get('x-request-id'), 'trace-abc.123');
  });

  it('streams chunks that reassemble, with the usage chunk and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake-ok',
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    let finish;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'fake answer to: stream me please');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    assert.ok(chunks >= 6, `expected many chunks, got ${chunks}`);
    assert.equal((upstream.last().body.stream_options as { include_usage: boolean }).include_usage, true);
  });

  it('delivers stream chunks as they arrive, not buffered', async () => {
    // The upstream sends two words, then nothing, its answer never ended (and the patient provider waits 60 s): the client
    // gets them all the same, which a gateway holding chunks back for the answer's end or for more bytes could not do.
    // (Words 200 ms apart were to arrive at least 400 ms apart: a test process descheduled meanwhile read them at once.)
    const stream = await client.chat.completions.create(
      { model: 'patient-stall', messages: [{ role: 'user', content: 'one two three four' }], stream: true },
      { signal: AbortSignal.timeout(30_000) },
    );
    const words: string[] = [];
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) words.push(chunk.choices[0].delta.content);
      if (words.length === 2) break;
    }
    assert.equal(words.join(''), 'fake answer ');
  });

  it('round-trips a tool call (call, result, answer)', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ];
    const first = await client.chat.completions.create({
      model: 'fake-tool',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools,
      tool_choice: 'auto',
    });
    const call = first.choices[0].message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(upstream.last().body.tools, tools);

    const second = await client.chat.completions.create({
      model: 'fake-ok',
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' },
      ],
      tools,
    });
    assert.match(second.choices[0].message.content ?? '', /fake answer/);
    const sent = upstream.last().body.messages as { role: string; tool_call_id?: string }[];
    assert.equal(sent[2].role, 'tool');
    assert.equal(sent[2].tool_call_id, 'call_fake_1');
  });

  it('streams tool-call argument fragments that reassemble to valid JSON', async () => {
    const stream = await client.chat.completions.create({
      model: 'fake-tool',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      stream: true,
    });
    let args = '';
    let name = '';
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
    }
    assert.equal(name, 'get_weather');
    assert.deepEqual(JSON.parse(args), { city: 'Paris', unit: 'celsius' });
  });

  // Found by an independent check (stream33 D1): the chat stream went on as the upstream sent it, so parallel calls
  // streamed without `index` (Mistral) or all at 0 (Ollama) reached the openai SDK's stream helper as they came: it threw
  // ("invalid tool call index: undefined"), or joined both calls' arguments into one call and failed to parse them.
  for (const model of ['parallel-noindex', 'parallel-sameindex'])
    it(`the openai SDK's stream helper gets each parallel call whole, at its own index (${model})`, async () => {
      const tools = PARALLEL_CALLS.map(({ name }) => ({
        type: 'function' as const,
        function: { name, parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      }));
      const completion = await client.chat.completions
        .stream({ model: `fake-${model}`, messages: [{ role: 'user', content: 'Weather in Paris, time in Berlin?' }], tools })
        .finalChatCompletion();
      const calls = completion.choices[0].message.tool_calls ?? [];
      assert.deepEqual(
        calls.map((call) =>
          call.type === 'function' ? { call_id: call.id, name: call.function.name, arguments: call.function.arguments } : call,
        ),
        PARALLEL_CALLS,
      );
      assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    });

  it('passes embeddings through in float and base64', async () => {
    const floats = await client.embeddings.create({ model: 'fake-embed', input: ['a', 'b'], encoding_format: 'float' });
    assert.equal(floats.data.length, 2);
    assert.deepEqual(floats.data[1].embedding, [0.5, -0.25, 0.125]);
    // The SDK asks for base64 by default and decodes it.
    const decoded = await client.embeddings.create({ model: 'fake-embed', input: 'a' });
    assert.deepEqual(decoded.data[0].embedding, [0.5, -0.25, 0.125]);
    assert.equal(upstream.last().body.encoding_format, 'base64');
    assert.equal(upstream.last().path, '/v1/embeddings');
  });

  describe('upstream failures become OpenAI errors', () => {
    /** Model, status, code, message, and `x-should-retry` (false where an SDK would retry in vain). */
    const cases: [string, number, string | null, RegExp, string | null][] = [
      ['fake-status-400', 400, null, /Invalid value for 'temperature'/, null],
      ['fake-status-401', 502, 'upstream_auth_failed', /rejected the gateway's API key/, 'false'],
      ['fake-status-404', 502, 'upstream_not_found', /check the deployment/, 'false'],
      ['fake-status-429', 429, 'rate_limit_exceeded', /rate limiting/, null],
      ['fake-status-500', 502, 'upstream_error', /HTTP 500/, null],
      ['fake-status-503', 503, 'upstream_overloaded', /HTTP 503/, null],
      ['fake-quota', 502, 'upstream_quota_exceeded', /Provider fake has no quota left/, 'false'],
      ['fake-html-502', 502, 'upstream_error', /Bad Gateway/, null],
      ['fake-reset', 502, 'upstream_unreachable', /Could not reach provider fake/, null],
      ['fake-hang', 504, 'upstream_timeout', /timed out/, null],
    ];
    for (const [model, status, code, message, shouldRetry] of cases) {
      it(`${model} -> ${status}`, async () => {
        const err = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).then(
          () => assert.fail('expected an error'),
          (e: unknown) => e,
        );
        assert.ok(err instanceof OpenAI.APIError, String(err));
        assert.equal(err.status, status);
        assert.equal(err.code ?? null, code);
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /sk-upstream-secret/);
        assert.equal(err.headers?.get('retry-after') ?? null, status === 429 ? '7' : null);
        assert.equal(err.headers?.get('x-should-retry') ?? null, shouldRetry);
      });
    }

    it("the SDK's own retries (2 by default) do not repeat an error no retry can fix", async () => {
      const mark = upstreamMark(upstream);
      const retrying = gateway.client({ maxRetries: 2 });
      const err = await retrying.chat.completions
        .create({ model: 'fake-401-retried', messages: [{ role: 'user', content: 'x' }] })
        .catch((e) => e);
      assert.equal((err as InstanceType<typeof OpenAI.APIError>).status, 502);
      assert.equal(upstream.received.length - mark.received, 1);
    });

    it('keeps the vendor param on a 400', async () => {
      const err = (await client.chat.completions
        .create({ model: 'fake-status-400', messages: [{ role: 'user', content: 'x' }] })
        .catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
      assert.equal(err.param, 'temperature');
    });

    it('a stream whose upstream dies mid-way ends with an error event', async () => {
      const { text, err } = await brokenStream(client, 'fake-cut');
      assert.equal(text, 'fake answer ');
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.match(err.message, /provider fake/i);
    });

    it('a stream whose upstream goes silent mid-way ends with a timeout error event, and the upstream request is closed', async () => {
      const mark = upstreamMark(upstream);
      const { text, err } = await brokenStream(client, 'fake-stall');
      assert.equal(text, 'fake answer ');
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.match(err.message, /provider fake timed out/i);
      await assertUpstreamCut(upstream, mark);
    });

    it('an upstream error before the stream starts is a plain JSON error', async () => {
      const err = await client.chat.completions
        .create({ model: 'fake-429-stream', messages: [{ role: 'user', content: 'x' }], stream: true })
        .then(
          () => assert.fail('expected an error'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 429);
    });
  });

  it("a JSON answer's upstream call, let finish when its client disconnects, is still cut at the provider's timeout", async () => {
    await assertAbortReachesUpstream(upstream, async (signal, abort) => {
      const before = upstream.received.length;
      const pending = client.chat.completions.create({ model: 'fake-slow-3000', messages: [{ role: 'user', content: 'x' }] }, { signal });
      await reached(before);
      abort();
      await pending;
    });
  });

  it("a client that disconnects lets a JSON answer's upstream call finish, and the request is logged as its (499)", async () => {
    // No timeout here: the upstream answers in full after 3 s, and the gateway waits for that answer to charge it.
    const mark = upstreamMark(upstream);
    const ac = new AbortController();
    const pending = client.chat.completions.create(
      { model: 'patient-slow-3000', messages: [{ role: 'user', content: 'x' }] },
      { signal: ac.signal, headers: { 'x-request-id': 'left-json-answer' } },
    );
    await reached(mark.received);
    ac.abort();
    await pending.catch(() => undefined);
    await assertUpstreamAnswered(upstream, mark);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === 'left-json-answer' });
    assert.equal(line.status, 499);
    assert.ok((line.completionTokens as number) > 0, `the answer's usage: ${JSON.stringify(line)}`);
  });

  it('a client that disconnects mid-stream aborts the upstream stream', async () => {
    await assertAbortReachesUpstream(upstream, async (signal, abort) => {
      const stream = await client.chat.completions.create(
        { model: 'fake-drip-200', messages: [{ role: 'user', content: 'a b c d e f g h i j' }], stream: true },
        { signal },
      );
      await abortAfter(stream, 2, abort);
    });
    const records = await gateway.logged('request', { where: (l) => l.status === 499 });
    assert.ok(records.length >= 1, 'the aborted request is logged as 499');
  });

  it('never writes the upstream key or the client Authorization to the logs', async () => {
    const res = await client.chat.completions
      .create({ model: 'fake-ok', messages: [{ role: 'user', content: 'secret prompt text' }] })
      .withResponse();
    const id = res.response.headers.get('x-request-id');
    assert.equal((await gateway.logged('request', { where: (l) => l.reqId === id })).length, 1, 'its access line was written');
    const all = gateway.rawOutput.join('\n');
    assert.doesNotMatch(all, /sk-upstream-secret-123/);
    assert.doesNotMatch(all, /test-client-key/);
    assert.doesNotMatch(all, /secret prompt text/, 'prompts are not logged by default');
  });
});
