import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { FakeGemini } from '../support/fake-gemini';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

/** gpt-4.1's standard and priority rates (OpenAI's priority page), and flex at half the standard ones. */
const TIERED = { input: 2, cachedInput: 0.5, output: 8, tiers: { priority: { input: 3.5, output: 14 }, flex: { input: 1, output: 4 } } };
/** The fake's `reasoning` usage (1,000 prompt tokens, 400 of them cached; 500 completion tokens) at TIERED's rates by tier. */
const REASONING_COST = {
  priority: (600 * 3.5 + 400 * 0.875 + 500 * 14) / 1e6,
  flex: (600 * 1 + 400 * 0.25 + 500 * 4) / 1e6,
  default: (600 * 2 + 400 * 0.5 + 500 * 8) / 1e6,
};
const USD = 1e-12;

/**
 * Found by an independent check of what requests cost: priority answers were billed at the standard price
 * (1.75x under), flex ones at it too (2x over); audio tokens at the text price (2.9x under on Gemini
 * 2.5 Flash-Lite); and the `cost` strategy ranked by input and output prices only, sending a cached prompt to
 * the deployment without a cache discount (3.44x dearer) and a reasoning request to the one whose reasoning is dear.
 */
describe('what a request costs: service tiers, audio, and the cost strategy priced as billed', () => {
  const openai = new FakeOpenAI();
  const gemini = new FakeGemini('g-key');
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const [openaiUrl, geminiUrl] = await Promise.all([openai.start(), gemini.start()]);
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'fake', type: 'openai-compatible', baseUrl: openaiUrl },
          { name: 'gem', type: 'gemini', baseUrl: geminiUrl, apiKeyEnv: 'FAKE_GEMINI_KEY' },
        ],
        models: [
          { name: 'tiered', deployments: [{ provider: 'fake', model: 'reasoning', price: TIERED }] },
          {
            name: 'audio-chat',
            deployments: [{ provider: 'fake', model: 'audio-counted', price: { input: 2.5, output: 10, audioInput: 40, audioOutput: 80 } }],
          },
          {
            name: 'gemini-audio',
            deployments: [
              {
                provider: 'gem',
                model: 'gemini-audio',
                price: { input: 0.1, cachedInput: 0.01, output: 0.4, audioInput: 0.3, audioOutput: 2 },
                capabilities: ['audio'],
              },
            ],
          },
          {
            name: 'cheapest',
            strategy: 'cost',
            deployments: [
              { provider: 'fake', model: 'reasoning', price: { input: 1, cachedInput: 0.1, output: 2 } },
              { provider: 'fake', model: 'reasoning', price: { input: 0.8, output: 2 } },
            ],
          },
          {
            name: 'thinker',
            strategy: 'cost',
            deployments: [
              { provider: 'fake', model: 'ok', price: { input: 1, output: 2, reasoning: 12 }, capabilities: ['reasoning'] },
              { provider: 'fake', model: 'ok', price: { input: 1, output: 4 }, capabilities: ['reasoning'] },
            ],
          },
        ],
      }),
      { env: { FAKE_GEMINI_KEY: 'g-key' } },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await Promise.all([openai.stop(), gemini.stop()]);
  });

  const line = async (id: string | null) => (await gateway.logged('request', { where: (l) => l.reqId === id }))[0] ?? {};
  const cost = (response: Response) => Number(response.headers.get('x-gateway-cost-usd'));
  const near = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < USD, `${what}: billed ${actual}, the vendor bills ${expected}`);
  const say = (content: string) => [{ role: 'user' as const, content }];

  it('an answer the upstream says priority or flex served is billed at that tier, on chat and Responses; default at the standard price', async () => {
    for (const tier of ['priority', 'flex', 'default'] as const) {
      const { data, response } = await client.chat.completions
        .create({ model: 'tiered', service_tier: tier, messages: say(`tier ${tier}`) })
        .withResponse();
      assert.equal(data.service_tier, tier);
      near(cost(response), REASONING_COST[tier], `chat ${tier}`);
    }
    const { response } = await client.responses
      .create({ model: 'tiered', service_tier: 'priority', input: 'tier via responses' })
      .withResponse();
    near(cost(response), REASONING_COST.priority, 'responses priority');
  });

  it('a stream is billed at the tier its usage chunk names, whether or not the client asked for usage', async () => {
    for (const includeUsage of [true, false]) {
      const { data, response } = await client.chat.completions
        .create({
          model: 'tiered',
          service_tier: 'priority',
          stream: true,
          ...(includeUsage && { stream_options: { include_usage: true } }),
          messages: say(`streamed tier ${includeUsage}`),
        })
        .withResponse();
      for await (const chunk of data) void chunk;
      near(
        (await line(response.headers.get('x-request-id'))).costUsd as number,
        REASONING_COST.priority,
        `stream, include_usage ${includeUsage}`,
      );
    }
  });

  it("OpenAI's audio prompt and completion tokens are billed at the audio prices", async () => {
    const { response } = await client.chat.completions.create({ model: 'audio-chat', messages: say('speak') }).withResponse();
    near(cost(response), (100 * 2.5 + 900 * 40 + 100 * 10 + 700 * 80) / 1e6, 'audio chat');
  });

  it("Gemini's AUDIO prompt and answer tokens are billed at the audio prices, JSON and streamed", async () => {
    const expected = (2000 * 0.1 + 8000 * 0.3 + 60 * 0.4 + 40 * 2) / 1e6;
    const { response } = await client.chat.completions.create({ model: 'gemini-audio', messages: say('transcribe') }).withResponse();
    near(cost(response), expected, 'gemini JSON');
    const streamed = await client.chat.completions
      .create({ model: 'gemini-audio', stream: true, messages: say('transcribe') })
      .withResponse();
    for await (const chunk of streamed.data) void chunk;
    near((await line(streamed.response.headers.get('x-request-id'))).costUsd as number, expected, 'gemini stream');
  });

  it('cost routing learns the cached share answers report, and prices it at the cached rate', async () => {
    const ask = async (n: number) =>
      (await client.chat.completions.create({ model: 'cheapest', messages: say(`cached prompt ${n}`) }).withResponse()).response;
    // Nothing known yet: no prompt is assumed cached, and the deployment without a cache discount is cheaper.
    assert.equal((await ask(0)).headers.get('x-gateway-deployment'), 'cheapest/1');
    // Its answer said 40% of the prompt was cached: at 0.1 for those, the first deployment is the cheaper one.
    for (let n = 1; n <= 3; n++) {
      const response = await ask(n);
      assert.equal(response.headers.get('x-gateway-deployment'), 'cheapest/0', `request ${n}`);
      near(cost(response), (600 * 1 + 400 * 0.1 + 500 * 2) / 1e6, `request ${n}`);
    }
  });

  it('cost routing prices a reasoning request at the reasoning rate', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'thinker', reasoning_effort: 'high', max_tokens: 1000, messages: say('think hard') })
      .withResponse();
    assert.equal(response.headers.get('x-gateway-deployment'), 'thinker/1');
  });
});
