import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { ask, metric, settle } from '../support/cache';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

/** gpt-4.1's standard and priority rates, flex at half the standard ones. */
const TIERED = { input: 2, cachedInput: 0.5, output: 8, tiers: { priority: { input: 3.5, output: 14 }, flex: { input: 1, output: 4 } } };
/** TIERED with Ultrafast's rates: 6x the standard ones, as OpenAI prices it. */
const WITH_ULTRAFAST = { ...TIERED, tiers: { ...TIERED.tiers, ultrafast: { input: 12, output: 48 } } };
/** The fake's `reasoning` usage (1,000 prompt tokens, 400 of them cached; 500 completion tokens) at a tier's rates. */
const cost = (input: number, output: number) => (600 * input + 400 * input * 0.25 + 500 * output) / 1e6;
const USD = 1e-12;
const REDIS_URL = process.env.TEST_REDIS_URL;
/** `service_tier: "ultrafast"`, which the OpenAI SDK's chat types do not list yet (its Responses types do). */
const ULTRAFAST = 'ultrafast' as OpenAI.ChatCompletionCreateParams['service_tier'];

/**
 * Found by an independent check: OpenAI's Ultrafast answers (`service_tier: "ultrafast"`, 6x the standard rates)
 * were billed at the standard price, `price.tiers.ultrafast` was refused at start-up, and a cache hit's saving was
 * valued at the standard price whatever tier had served the answer replayed.
 */
describe('service tiers an upstream names: each priced, one without rates at the standard price, cache savings at the tier', () => {
  const openai = new FakeOpenAI();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const url = await openai.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl: url }],
        models: [
          { name: 'ultrafast-priced', deployments: [{ provider: 'fake', model: 'reasoning', price: WITH_ULTRAFAST }] },
          { name: 'ultrafast-unpriced', deployments: [{ provider: 'fake', model: 'reasoning', price: TIERED }] },
          { name: 'tier-cached', deployments: [{ provider: 'fake', model: 'reasoning', price: TIERED }] },
        ],
        // On Redis where the run has one (the entry's tier is a field of its hash there), else in process.
        cache: { enabled: true, semantic: { enabled: false }, redis: { keyPrefix: `tiers${process.pid}:`, timeoutMs: 2_000 } },
      }),
      { env: REDIS_URL ? { REDIS_URL } : {} },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await openai.stop();
  });

  const billed = (response: Response) => Number(response.headers.get('x-gateway-cost-usd'));
  const near = (actual: number, expected: number, what: string) =>
    assert.ok(Math.abs(actual - expected) < USD, `${what}: billed ${actual}, the vendor bills ${expected}`);

  it('an answer served at ultrafast bills price.tiers.ultrafast, on chat and Responses', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'ultrafast-priced', service_tier: ULTRAFAST, messages: [{ role: 'user', content: 'ultrafast chat' }] })
      .withResponse();
    assert.equal(data.service_tier, 'ultrafast');
    near(billed(response), cost(12, 48), 'chat');
    const responses = await client.responses
      .create({ model: 'ultrafast-priced', service_tier: 'ultrafast', input: 'ultrafast responses' })
      .withResponse();
    assert.equal(responses.data.service_tier, 'ultrafast');
    near(billed(responses.response), cost(12, 48), 'responses');
  });

  // Not at the dearest configured rates, as first built: an Anthropic priority answer was billed fast mode's, 6x (recheck32a).
  it('a tier without rates that may cost more than standard bills the standard rates, warned once, counted each time', async () => {
    for (const n of [1, 2]) {
      const { response } = await client.chat.completions
        .create({ model: 'ultrafast-unpriced', service_tier: ULTRAFAST, messages: [{ role: 'user', content: `unpriced ${n}` }] })
        .withResponse();
      near(billed(response), cost(2, 8), `answer ${n}, at the standard rates, not priority's, the dearest set`);
    }
    const answers = await gateway.metric('gateway_unpriced_tier_answers_total', 'deployment="ultrafast-unpriced/0",tier="ultrafast"');
    assert.equal(answers, 2);
    const warned = await gateway.logged(/ultrafast-unpriced\/0 answered in service tier "ultrafast"/, { count: 2, timeoutMs: 1_000 });
    assert.equal(warned.length, 1, 'logged once for the deployment and tier');
    // A tier that costs no more than standard (flex here has rates; scale has none) is not an unpriced one.
    await client.chat.completions.create({
      model: 'ultrafast-unpriced',
      service_tier: 'scale',
      messages: [{ role: 'user', content: 'scale' }],
    });
    assert.equal(await gateway.metric('gateway_unpriced_tier_answers_total', 'deployment="ultrafast-unpriced/0",tier="scale"'), 0);
  });

  it("a cache hit's saving is valued at the tier that served the answer it replays", async () => {
    const prompt = 'a priority answer, cached';
    const first = await client.chat.completions
      .create({ model: 'tier-cached', service_tier: 'priority', messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    near(billed(first.response), cost(3.5, 14), 'the answer, billed at priority');
    await settle();
    const before = await metric(gateway, 'gateway_cache_saved_usd_total');
    const hit = await ask(client, prompt, { model: 'tier-cached' });
    assert.equal(hit.cache, 'hit-exact');
    near((await metric(gateway, 'gateway_cache_saved_usd_total')) - before, cost(3.5, 14), 'saved');
  });
});
