import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type OpenAI from 'openai';
import {
  abortAfter,
  apiError,
  assertAbortReachesUpstream,
  assertUpstreamAnswered,
  assertUsageFields,
  collect,
  TIME_TOOL,
  upstreamMark,
  WEATHER_TOOL,
} from './chat';
import type { FakeUpstream } from './fake-upstream';
import { configWith, GatewayProcess } from './gateway';

/**
 * Starts (before the suite) and stops (after it) the fake vendor API and the gateway
 * in front of it: provider `main` (1 s timeout) and `patient` (default timeout), both
 * with the fake's key from the environment. `models()` gets the fake's base URL
 * and lists models on `main`; `patient-slow` and `patient-drip` on `patient` are
 * added for the disconnect tests. Returns the official client for the gateway.
 */
export function useVendorGateway(
  type: 'anthropic' | 'gemini',
  upstream: FakeUpstream,
  key: string,
  prefix: string,
  models: Record<string, unknown>[],
): () => OpenAI {
  let gateway: GatewayProcess | undefined;
  let client: OpenAI;
  before(async () => {
    const baseUrl = await upstream.start();
    gateway = await startGateway(type, baseUrl, key, prefix, models);
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });
  return () => client;
}

function startGateway(
  type: 'anthropic' | 'gemini',
  baseUrl: string,
  key: string,
  prefix: string,
  models: Record<string, unknown>[],
): Promise<GatewayProcess> {
  const provider = { type, baseUrl, apiKeyEnv: 'FAKE_VENDOR_KEY' };
  return GatewayProcess.start(
    configWith({
      providers: [
        { name: 'main', ...provider, timeoutMs: 1_000 },
        { name: 'patient', ...provider },
      ],
      models: [
        ...models,
        { name: 'patient-slow', deployments: [{ provider: 'patient', model: `${prefix}-slow-3000` }] },
        { name: 'patient-drip', deployments: [{ provider: 'patient', model: `${prefix}-drip-200` }] },
      ],
    }),
    { env: { FAKE_VENDOR_KEY: key } },
  );
}

/** A model name served by provider `main` with the same upstream model id (a chat model unless `deployment` says otherwise). */
export function model(id: string, deployment: Record<string, unknown> = {}) {
  return {
    name: id,
    deployments: [{ provider: 'main', model: id, capabilities: ['tools', 'vision', 'json', 'reasoning'], ...deployment }],
  };
}

export interface VendorUnderTest {
  /** Model ids of the fake: `<prefix>-echo`, `-midstream-error`, `-cut`, `-slow-3000`. */
  prefix: string;
  client: () => OpenAI;
  upstream: FakeUpstream;
  /** The completion id the fake's answers carry. */
  id: string;
  /** Usage of an echo answer, as the client must see it. */
  usage: OpenAI.CompletionUsage;
  /** What the fake says in an error event inside a stream. */
  overloaded: RegExp;
  /** Text streamed before the fake breaks a stream. */
  partial: string;
}

/** What any OpenAI client relies on in a stream and its failures, whatever the vendor behind it. */
export function streamingContract(v: VendorUnderTest): void {
  it('streams text with one id, a role delta first, a finish chunk and a usage chunk', async () => {
    const stream = await v.client().chat.completions.create({
      model: `${v.prefix}-echo`,
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const got = await collect(stream);
    assert.equal(got.text, 'echo: stream me please');
    assert.deepEqual([...got.ids], [v.id]);
    assert.deepEqual(got.firstDeltas[0], { role: 'assistant', content: '' });
    assert.equal(got.finish, 'stop');
    assert.deepEqual(got.chunks[got.chunks.length - 1].choices, []);
    assert.deepEqual(got.usage, v.usage);
    assert.ok(got.chunks.length > 6, `text arrives in many chunks (${got.chunks.length})`);
    assertUsageFields(got.chunks, true);
  });

  it('streams without a usage field on any chunk when the client did not ask for usage', async () => {
    const stream = await v.client().chat.completions.create({
      model: `${v.prefix}-echo`,
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
    });
    const got = await collect(stream);
    assert.equal(got.text, 'echo: stream me please');
    assertUsageFields(got.chunks, false);
  });

  for (const [kind, message] of [
    ['midstream-error', v.overloaded],
    ['cut', /ended the stream before it was complete/],
  ] as const) {
    it(`${kind}: a stream that fails after it began ends with an OpenAI error event`, async () => {
      const stream = await v.client().chat.completions.create({
        model: `${v.prefix}-${kind}`,
        messages: [{ role: 'user', content: 'a long enough prompt' }],
        stream: true,
      });
      let text = '';
      const err = await apiError(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        })(),
      );
      assert.equal(text, v.partial);
      assert.match(err.message, message);
    });
  }

  it('a slow upstream times out as 504', async () => {
    const err = await apiError(
      v.client().chat.completions.create({ model: `${v.prefix}-slow-3000`, messages: [{ role: 'user', content: 'x' }] }),
    );
    assert.equal(err.status, 504);
    assert.equal(err.code, 'upstream_timeout');
  });

  it("a client that disconnects lets a JSON answer's upstream call finish (it is charged) and aborts a stream's", async () => {
    const mark = upstreamMark(v.upstream);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await v
      .client()
      .chat.completions.create({ model: 'patient-slow', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal })
      .catch(() => undefined);
    await assertUpstreamAnswered(v.upstream, mark);
    await assertAbortReachesUpstream(v.upstream, async (signal, abort) => {
      const stream = await v
        .client()
        .chat.completions.create(
          { model: 'patient-drip', messages: [{ role: 'user', content: 'a b c d e f g h i j k l' }], stream: true },
          { signal },
        );
      await abortAfter(stream, 2, abort);
    });
  });
}

/**
 * Each tool_choice case reaches the vendor as `expected` (read back by `sent`), and a
 * named choice is answered with that tool (`<prefix>-tool` calls the forced tool).
 */
export function toolChoiceContract(
  v: VendorUnderTest,
  cases: [string, Partial<OpenAI.ChatCompletionCreateParams>, unknown][],
  sent: () => unknown,
): void {
  const ask = (params: Partial<OpenAI.ChatCompletionCreateParams>) =>
    v.client().chat.completions.create({
      model: `${v.prefix}-tool`,
      messages: [{ role: 'user', content: 'x' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      ...params,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  for (const [name, params, expected] of cases) {
    it(`${name} -> ${JSON.stringify(expected)}`, async () => {
      await ask(params);
      assert.deepEqual(sent(), expected);
    });
  }

  it('a named tool_choice is answered with that tool', async () => {
    const res = await ask({ tool_choice: { type: 'function', function: { name: 'get_time' } } });
    assert.equal((res.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.name, 'get_time');
  });
}
