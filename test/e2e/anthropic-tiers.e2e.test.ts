import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { FakeAnthropic } from '../support/fake-anthropic';
import { configWith, GatewayProcess } from '../support/gateway';

const ANTHROPIC_KEY = 'sk-ant-tiers';
/**
 * Opus 4.8's rates ($5 / $25; fast mode $10 / $50, Anthropic's fast mode page), and Priority Tier rates an operator
 * set for its committed capacity. The cache rates are Anthropic's multiples of input (applyVendorPrices).
 */
const OPUS = { input: 5, output: 25, tiers: { fast: { input: 10, output: 50 }, priority: { input: 6, output: 30 } } };
/**
 * The fake's usage (11 fresh prompt tokens, 5 read from the cache, 2 written to the 5-minute cache, 7 output tokens)
 * at OPUS's rates by the tier that served it: the cache read at 0.1x and the write at 1.25x that tier's input.
 */
const COST = {
  fast: (11 * 10 + 5 * 1 + 2 * 12.5 + 7 * 50) / 1e6,
  priority: (11 * 6 + 5 * 0.6 + 2 * 7.5 + 7 * 30) / 1e6,
  standard: (11 * 5 + 5 * 0.5 + 2 * 6.25 + 7 * 25) / 1e6,
};
const USD = 1e-12;

/**
 * Found by an independent check: an Anthropic answer its usage says fast mode (`speed: "fast"`, priced at a premium)
 * or the Priority Tier served was billed at the standard price, on every API, JSON and streamed.
 */
describe("Anthropic's fast mode and service tier: billed as the answer says it was served", () => {
  const anthropic = new FakeAnthropic(ANTHROPIC_KEY);
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const url = await anthropic.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'ant', type: 'anthropic', baseUrl: url, apiKeyEnv: 'FAKE_ANT_KEY' }],
        models: ['claude-fast', 'claude-priority', 'claude-echo'].map((model) => ({
          name: model,
          deployments: [{ provider: 'ant', model, price: OPUS, maxOutputTokens: 1000 }],
        })),
        cache: { enabled: false },
      }),
      { env: { FAKE_ANT_KEY: ANTHROPIC_KEY } },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await anthropic.stop();
  });

  const logged = async (response: Response) =>
    (await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') }))[0]?.costUsd as number;
  const near = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < USD, `${what}: billed ${actual}, Anthropic bills ${expected}`);
  /** The cost header and the access log's cost of a whole answer, both what Anthropic bills. */
  const billed = async (response: Response, expected: number, what: string) => {
    near(Number(response.headers.get('x-gateway-cost-usd')), expected, `${what}, x-gateway-cost-usd`);
    near(await logged(response), expected, `${what}, access log`);
  };
  const say = (content: string) => [{ role: 'user' as const, content }];
  const TIERS = [
    ['claude-fast', COST.fast],
    ['claude-priority', COST.priority],
    ['claude-echo', COST.standard],
  ] as const;

  it('chat completions, JSON and streamed', async () => {
    for (const [model, expected] of TIERS) {
      const { response } = await client.chat.completions.create({ model, messages: say(`chat ${model}`) }).withResponse();
      await billed(response, expected, `${model} chat JSON`);
      const streamed = await client.chat.completions.create({ model, stream: true, messages: say(`chat stream ${model}`) }).withResponse();
      for await (const chunk of streamed.data) void chunk;
      near(await logged(streamed.response), expected, `${model} chat stream`);
    }
  });

  it('Responses API, JSON and streamed', async () => {
    for (const [model, expected] of TIERS) {
      const { response } = await client.responses.create({ model, input: `responses ${model}` }).withResponse();
      await billed(response, expected, `${model} responses JSON`);
      const streamed = await client.responses.create({ model, stream: true, input: `responses stream ${model}` }).withResponse();
      for await (const event of streamed.data) void event;
      near(await logged(streamed.response), expected, `${model} responses stream`);
    }
  });

  it('Messages API (the client asks for fast mode itself), JSON and streamed', async () => {
    const post = (model: string, stream: boolean) =>
      fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'fast-mode-2026-02-01',
          authorization: 'Bearer test-client-key',
        },
        body: JSON.stringify({ model, max_tokens: 100, speed: 'fast', stream, messages: say(`messages ${model} ${stream}`) }),
      });
    for (const [model, expected] of TIERS) {
      const json = await post(model, false);
      assert.equal(json.status, 200);
      const answer = (await json.json()) as { usage: { speed?: string } };
      assert.equal(answer.usage.speed, { 'claude-fast': 'fast', 'claude-priority': 'standard', 'claude-echo': undefined }[model]);
      await billed(json, expected, `${model} messages JSON`);
      const streamed = await post(model, true);
      assert.match(await streamed.text(), /event: message_stop/);
      near(await logged(streamed), expected, `${model} messages stream`);
    }
  });
});

/**
 * Found by a re-check: with `tiers.fast` set, every request to an Anthropic deployment was held at fast mode's rates,
 * though Anthropic serves fast mode only to a request asking for it (`speed: "fast"`): a key with $0.01 left was
 * refused 429 a chat request that could cost at most $0.009 at any tier it may be served in.
 */
describe('budget holds: fast mode only for a request that asks for it', () => {
  const anthropic = new FakeAnthropic(ANTHROPIC_KEY);
  const KEY = 'anthropic-tiers-budgeted-key-0123456789';
  let gateway: GatewayProcess;

  before(async () => {
    const url = await anthropic.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'ant', type: 'anthropic', baseUrl: url, apiKeyEnv: 'FAKE_ANT_KEY' }],
        models: [{ name: 'claude-echo', deployments: [{ provider: 'ant', model: 'claude-echo', price: OPUS }] }],
        security: { keys: [{ id: 'budgeted', keyEnv: 'BUDGETED_KEY', budget: { usd: 0.01, period: 'daily' } }] },
        cache: { enabled: false },
      }),
      { env: { FAKE_ANT_KEY: ANTHROPIC_KEY, BUDGETED_KEY: KEY, GATEWAY_MASTER_KEY: 'anthropic-tiers-master-key-0123456789' } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await anthropic.stop();
  });

  // 300 output tokens: $0.009 at priority's $30 a million, the dearest but fast; $0.015 at fast mode's $50.
  const post = (path: string, body: object) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'claude-echo', max_tokens: 300, messages: [{ role: 'user', content: 'hi' }], ...body }),
    });

  it('a request asking for fast mode is held at its rates; others at the dearest other tier', async () => {
    const fast = await post('/v1/messages', { speed: 'fast' });
    assert.equal(fast.status, 429, await fast.text());
    const chat = await post('/v1/chat/completions', {});
    assert.equal(chat.status, 200, await chat.text());
    const messages = await post('/v1/messages', {});
    assert.equal(messages.status, 200, await messages.text());
  });
});
