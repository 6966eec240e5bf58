import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { assertUpstreamCut, brokenStream, upstreamMark } from '../support/chat';
import { configWith, GatewayProcess } from '../support/gateway';
import { HostileUpstream } from '../support/hostile-upstream';

const VENDORS = ['oa', 'ant', 'gem'] as const;
const STREAM_MS = 1_500;
/** What the client is told, in every protocol. */
const BOUND = new RegExp(`did not end within ${STREAM_MS} ms of the request \\(router\\.timeouts\\.streamMs\\)`);

/**
 * An upstream whose stream never ends (an event every 20 ms, never idle long enough for the provider's timeout) held
 * the request, its upstream connection and its budget hold for good: a streamed request's deadline ends at its first
 * chunk (found by an independent check, hostile3 doubtful B). router.timeouts.streamMs cuts it, from the request's
 * start, with the protocol's mid-stream error, on the three APIs, for each vendor.
 */
describe('a stream that never ends is cut at router.timeouts.streamMs', () => {
  const upstream = new HostileUpstream();
  let gateway: GatewayProcess;

  before(async () => {
    const url = await upstream.start();
    const settings = { apiKeyEnv: 'FAKE_KEY', timeoutMs: 5_000 };
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl: `${url}/v1`, ...settings },
          { name: 'ant', type: 'anthropic', baseUrl: url, ...settings },
          { name: 'gem', type: 'gemini', baseUrl: url, ...settings },
        ],
        models: VENDORS.map((vendor) => ({
          name: `${vendor}-endless`,
          deployments: [{ provider: vendor, model: `${vendor}-endless`, capabilities: ['tools'] }],
        })),
        router: { timeouts: { attemptMs: 5_000, deadlineMs: 5_000, streamMs: STREAM_MS }, retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { FAKE_KEY: 'sk-fake-upstream' } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  /** The access line of the last request to `path`. */
  const accessLine = async (path: string) =>
    (await gateway.logged('request', { where: (l) => l.route === path && l.status === 200 && l.error !== undefined })).at(-1);

  for (const vendor of VENDORS) {
    const model = `${vendor}-endless`;

    it(`chat (${vendor}): the openai SDK gets the error after the events, the upstream is cut, the failure logged and counted`, async () => {
      const mark = upstreamMark(upstream);
      const before = await gateway.metric('gateway_stream_errors_total', `model="${model}",provider="${vendor}",reason="upstream_timeout"`);
      const { text, err } = await brokenStream(gateway.client(), model);
      assert.ok(text.startsWith('hi 1 2'), text.slice(0, 40));
      assert.ok(err instanceof OpenAI.APIError, String(err));
      assert.match(err.message, BOUND);
      await assertUpstreamCut(upstream, mark);
      assert.equal((await accessLine('/v1/chat/completions'))?.error, 'upstream_timeout');
      const after = await gateway.metric('gateway_stream_errors_total', `model="${model}",provider="${vendor}",reason="upstream_timeout"`);
      assert.equal(after - before, 1);
    });

    it(`Messages (${vendor}): the Anthropic SDK gets an error event`, async () => {
      const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
      let text = '';
      const err = await claude.messages
        .stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .on('text', (delta) => (text += delta))
        .finalMessage()
        .then(
          () => assert.fail('the stream completed'),
          (e: unknown) => e,
        );
      assert.ok(text.startsWith('hi 1 2'), text.slice(0, 40));
      assert.ok(err instanceof Anthropic.APIError, String(err));
      assert.match(err.message, BOUND);
    });

    it(`Responses (${vendor}): response.failed, as for any failure mid-stream`, async () => {
      const events: { type: string; response?: { error?: { message?: string } | null } }[] = [];
      const err = await (async () => {
        for await (const event of gateway.client().responses.stream({ model, input: 'hi', store: false })) events.push(event);
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      const failed = events.find((e) => e.type === 'response.failed');
      assert.ok(failed, `${events.map((e) => e.type).join(' ')} / ${String(err)}`);
      assert.match(failed.response?.error?.message ?? '', BOUND);
      assert.ok(events.some((e) => e.type === 'response.output_text.delta'));
    });
  }
});
