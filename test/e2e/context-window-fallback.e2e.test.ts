import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

// Found by an independent check: the gateway estimated every prompt at 4 characters a token, so a 20,000-character
// Chinese prompt (~12k tokens or more) counted ~5k and went to a group's 8k deployment, whose context-length 400
// reached the client though the group's 128k deployment would have served it. The estimate now counts CJK a token a
// character; and an upstream's context-window refusal falls back to a deployment whose configured window is larger.
describe('a prompt over a deployment`s context window goes to one whose window holds it', () => {
  const vendors = new FakeVendors();
  const upstream = vendors.openai;
  let gateway: GatewayProcess, client: OpenAI;
  // `window-<n>` refuses a prompt of more than n characters (a token a character) in OpenAI's words.
  const deployment = (window: number) => ({ provider: 'oa', model: `window-${window}`, contextWindow: window });
  before(async () => {
    const providers = await vendors.start();
    const models = [
      { name: 'g', deployments: [deployment(8192), deployment(128_000)] },
      { name: 'lone', deployments: [deployment(8192)] },
      { name: 'both-small', deployments: [deployment(8192), deployment(10_000)] },
      // Anthropic's and Gemini's words for a prompt over the window (every prompt, to these fake models).
      { name: 'claude', deployments: [{ provider: 'ant', model: 'claude-too-long', contextWindow: 200_000 }, deployment(1_000_000)] },
      { name: 'gemini', deployments: [{ provider: 'gem', model: 'gemini-too-long', contextWindow: 1_048_576 }, deployment(2_000_000)] },
      // No window configured: the one Anthropic's words name (200000 maximum) is the refusing one's.
      { name: 'unconfigured', deployments: [{ provider: 'ant', model: 'claude-too-long' }, deployment(1_000_000)] },
      // A deployment that declares no window is not known to hold more: not asked after a refusal.
      { name: 'unknown-larger', deployments: [deployment(8192), { provider: 'oa', model: 'ok' }] },
    ];
    gateway = await GatewayProcess.start(configWith({ providers, models }), { env: vendors.env });
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  /** The upstream models asked since `from` (an index into the fake's requests). */
  const asked = (from: number) => upstream.received.slice(from).map((r) => r.body.model);
  const chat = (model: string, content: string, stream = false) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content }], stream } as never).withResponse();
  const refusal = (model: string, content: string) =>
    chat(model, content).then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
  // ~20,000 characters of Chinese: ~12k tokens at DeepSeek's 0.6 a character, 5k at 4 characters a token.
  const chinese = '请总结下面的合同条款。' + '本合同由甲乙双方在平等自愿的基础上签订，双方应当遵守。'.repeat(740);
  // 12,000 characters of Latin text that the fake's tokenizer counts a token each: ~3k by the estimate, fairly.
  const dense = 'x '.repeat(6000);

  it('a long Chinese prompt is estimated over the 8k window: the 128k deployment serves it, the 8k one is never asked', async () => {
    const from = upstream.received.length;
    const { response } = await chat('g', chinese);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-gateway-deployment'), 'g/1');
    assert.deepEqual(asked(from), ['window-128000']);
  });

  for (const stream of [false, true]) {
    it(`an upstream that refuses a prompt the estimate let through: the larger deployment serves it (${stream ? 'stream' : 'JSON'})`, async () => {
      const from = upstream.received.length;
      const { data, response } = await chat('g', dense, stream);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-gateway-deployment'), 'g/1');
      assert.equal(response.headers.get('x-gateway-fallbacks'), 'g/0=context_length_exceeded');
      assert.deepEqual(asked(from), ['window-8192', 'window-128000']);
      if (stream) for await (const chunk of data as unknown as AsyncIterable<unknown>) assert.ok(chunk);
    });
  }

  for (const group of ['claude', 'gemini', 'unconfigured']) {
    it(`a refusal in another vendor's words falls back too (${group})`, async () => {
      const from = upstream.received.length;
      const { response } = await chat(group, 'hi');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-gateway-deployment'), `${group}/1`);
      assert.equal(response.headers.get('x-gateway-fallbacks'), `${group}/0=context_length_exceeded`);
      assert.equal(upstream.received.length, from + 1);
    });
  }

  it('a larger deployment whose window is not configured is not asked: the 400', async () => {
    const from = upstream.received.length;
    const err = await refusal('unknown-larger', dense);
    assert.equal(err.code, 'context_length_exceeded');
    assert.deepEqual(asked(from), ['window-8192']);
  });

  it('no deployment with a larger window: the upstream`s 400 in OpenAI`s words, asked once', async () => {
    const from = upstream.received.length;
    const err = await refusal('lone', dense);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'context_length_exceeded');
    assert.match(err.message, /maximum context length is 8192 tokens\. However, your messages resulted in 12000 tokens/);
    assert.deepEqual(asked(from), ['window-8192']);
  });

  it('the larger deployment refuses it too: its 400, each asked once', async () => {
    const from = upstream.received.length;
    const err = await refusal('both-small', dense);
    assert.equal(err.status, 400);
    assert.match(err.message, /maximum context length is 10000 tokens/);
    // Every refusal, the last one included (README Headers; embed34 D3: the last was left out).
    assert.equal(err.headers?.get('x-gateway-fallbacks'), 'both-small/0=context_length_exceeded, both-small/1=context_length_exceeded');
    assert.deepEqual(asked(from), ['window-8192', 'window-10000']);
  });

  it('on the Messages API, a refusal with no larger deployment is worded as Anthropic words it', async () => {
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'test-client-key', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'lone', max_tokens: 100, messages: [{ role: 'user', content: dense }] }),
    });
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /^prompt is too long: 12000 tokens > 8192 maximum/);
  });
});
