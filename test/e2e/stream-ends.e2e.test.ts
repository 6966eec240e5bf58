import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { assertUpstreamCut, upstreamMark } from '../support/chat';
import { FakeAnthropic } from '../support/fake-anthropic';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const ANTHROPIC_KEY = 'sk-ant-upstream-secret-7';

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
  let gateway: GatewayProcess;

  before(async () => {
    const [oaUrl, antUrl] = await Promise.all([openai.start(), anthropic.start()]);
    const deploy = (name: string, ...models: [string, string][]) => ({
      name,
      deployments: models.map(([provider, model]) => ({ provider, model, capabilities: ['tools'] })),
    });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl: oaUrl, apiKeyEnv: 'FAKE_OA_KEY', timeoutMs: 1_500 },
          { name: 'ant', type: 'anthropic', baseUrl: antUrl, apiKeyEnv: 'FAKE_ANT_KEY', timeoutMs: 1_500 },
        ],
        models: [
          deploy('never', ['oa', 'neverclose']),
          deploy('a-never', ['ant', 'claude-neverclose']),
          deploy('pings-then-ok', ['oa', 'pings-3'], ['oa', 'ok']),
          deploy('pings-only', ['oa', 'pings-60']),
          deploy('unframed-then-ok', ['oa', 'unframed'], ['oa', 'ok']),
        ],
        router: { timeouts: { attemptMs: 2_000, deadlineMs: 2_000 }, retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { FAKE_OA_KEY: 'sk-oa', FAKE_ANT_KEY: ANTHROPIC_KEY } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([openai.stop(), anthropic.stop()]);
  });

  const post = (path: string, body: object) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
  });

  describe('SSE comments are no first chunk', () => {
    it('a deployment that sends `: ping` comments and then drops falls back to the next one', async () => {
      const res = await post('/v1/chat/completions', { model: 'pings-then-ok', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      const text = await res.text();
      assert.equal(res.status, 200);
      assert.ok(text.endsWith('data: [DONE]\n\n'));
      assert.equal(text.includes('"error"'), false);
      assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /pings-then-ok\/0=upstream_stream_truncated/);
    });

    it('a stream of comments only is ended by the attempt`s timeout, before anything is sent', async () => {
      const res = await post('/v1/chat/completions', { model: 'pings-only', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(res.status, 504, await res.text());
    });
  });

  it('a body with no event boundary in its first 8 MiB is an invalid answer: the next deployment answers', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'unframed-then-ok',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.match(res.headers.get('x-gateway-fallbacks') ?? '', /unframed-then-ok\/0=upstream_invalid_response/);
  });
});
