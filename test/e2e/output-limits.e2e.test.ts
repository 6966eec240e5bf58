import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { metric } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';
import { FakeGemini } from '../support/fake-gemini';
import { FakeUpstream, sendJson } from '../support/fake-upstream';

/** USD per million tokens: output dear enough that hidden reasoning shows in the bill. */
const PRICE = { input: 1, output: 10 };
/** What a reasoning model thinks and writes when nothing stops it. */
const UNBOUNDED_OUTPUT = 20_000;
const KEY = 'output-limits-key-0123456789abcdef';

/**
 * A reasoning model behind an OpenAI-format API: it writes `UNBOUNDED_OUTPUT` tokens (all but ten of them
 * hidden reasoning) unless the request's limit stops it first, as OpenAI's models honour max_completion_tokens.
 * `ignores-limit` writes them whatever it is sent.
 */
class ThinkingUpstream extends FakeUpstream {
  protected async handle(_req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const limit = (body.max_completion_tokens ?? body.max_tokens ?? Infinity) as number;
    const completion = body.model === 'ignores-limit' ? UNBOUNDED_OUTPUT : Math.min(UNBOUNDED_OUTPUT, limit);
    sendJson(res, 200, {
      id: 'chatcmpl-think',
      object: 'chat.completion',
      created: 1,
      model: body.model,
      choices: [
        { index: 0, message: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: completion === limit ? 'length' : 'stop' },
      ],
      usage: {
        prompt_tokens: 20,
        completion_tokens: completion,
        total_tokens: 20 + completion,
        completion_tokens_details: { reasoning_tokens: completion - 10 },
      },
    });
  }
}

const usd = (prompt: number, completion: number) => (prompt * PRICE.input + completion * PRICE.output) / 1e6;

/**
 * Found by an independent security check (sec30, defect 1): a chat or Responses request without an output
 * limit went to an OpenAI-format deployment with no limit, though the deployment's `maxOutputTokens` is
 * documented as the limit "when the client sends none" (the Anthropic and Gemini adapters sent it); the
 * gateway then judged the upstream's usage against the limit it never sent and billed the estimate of the
 * visible text: 20,000 completion tokens (19,990 reasoning, $0.20) billed $0.000062.
 */
describe('output limits an OpenAI-format deployment is sent, and the usage billed against them', () => {
  const upstream = new ThinkingUpstream();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const baseUrl = await upstream.start();
    const reasoner = (name: string, model: string) => ({
      name,
      deployments: [{ provider: 'oa', model, price: PRICE, maxOutputTokens: 4096, capabilities: ['reasoning'] }],
    });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'oa', type: 'openai', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
        models: [
          reasoner('reasoner', 'thinks'),
          reasoner('unruly', 'ignores-limit'),
          {
            name: 'windowed',
            deployments: [{ provider: 'oa', model: 'thinks', price: PRICE, maxOutputTokens: 4096, contextWindow: 8192 }],
          },
        ],
        security: { keys: [{ id: 'tenant', keyEnv: 'TENANT_KEY', budget: { usd: 5, period: 'daily' } }] },
      }),
      { env: { FAKE_KEY: 'sk-fake', TENANT_KEY: KEY } },
    );
    client = gateway.client({ apiKey: KEY });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const question = [{ role: 'user' as const, content: 'Prove the Riemann hypothesis.' }];

  it('a chat request without max_tokens is sent the deployment`s maxOutputTokens, and billed the usage it reports', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'reasoner', reasoning_effort: 'high', messages: question })
      .withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(upstream.last().body.max_tokens, undefined);
    assert.equal(data.usage?.completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), String(usd(20, 4096)));
  });

  it('a Responses request without max_output_tokens is sent it too', async () => {
    const { response } = await client.responses
      .create({ model: 'reasoner', reasoning: { effort: 'high' }, input: 'Prove it.' })
      .withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), String(usd(20, 4096)));
  });

  it('the client`s own limit is sent as it asked', async () => {
    await client.chat.completions.create({ model: 'reasoner', max_tokens: 300, messages: question });
    assert.equal(upstream.last().body.max_completion_tokens, 300);
  });

  // recheck30b D1: the limit went as it was, and a server that checks prompt + limit against its window (vLLM,
  // OpenAI, Azure) refused a prompt that alone fits with a 400 that does not fail over; unsent, it was answered.
  it('the limit the gateway adds leaves the prompt its room in the context window; none is sent when the window is full', async () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i % 50}`).join(' '); // ~1 token a word, by the estimate too
    await client.chat.completions.create({ model: 'windowed', messages: [{ role: 'user', content: words(6_000) }] });
    const sent = upstream.last().body.max_completion_tokens as number;
    assert.ok(sent > 0 && 6_000 + sent < 8_192, `limit ${sent} with a prompt of ~6,000 tokens in 8,192`);
    await client.chat.completions.create({ model: 'windowed', messages: [{ role: 'user', content: words(7_900) }] });
    assert.equal(upstream.last().body.max_completion_tokens, undefined, 'no room by the estimate: the upstream decides');
    await client.chat.completions.create({ model: 'windowed', messages: question });
    assert.equal(upstream.last().body.max_completion_tokens, 4096, 'a short prompt: the deployment`s own');
  });

  it('an output past what the request allows is billed at that allowance (estimated), not at the visible text', async () => {
    const { response } = await client.chat.completions.create({ model: 'unruly', messages: question }).withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), `${usd(20, 4096)}; estimated`);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') });
    assert.deepEqual([line.completionTokens, line.usageEstimated], [4096, true]);
  });
});

/**
 * Found by the same check (sec30, defect 5): a request without an output limit to a deployment without
 * `maxOutputTokens` was held against its key's budget as 256 tokens but sent upstream with no limit: a key with
 * a $0.05 daily budget spent $2.002 in one request (40 times its budget).
 */
describe('a budgeted key`s request without an output limit is sent what its budget left pays for', () => {
  const upstream = new ThinkingUpstream();
  const gemini = new FakeGemini('gem-key');
  let gateway: GatewayProcess;
  let client: OpenAI;
  const BUDGET = 0.05;
  /** USD per million tokens, both ways: 500 tokens are the whole budget. */
  const DEAR = { input: 100, output: 100 };

  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai', baseUrl: await upstream.start(), apiKeyEnv: 'FAKE_KEY' },
          { name: 'gem', type: 'gemini', baseUrl: await gemini.start(), apiKeyEnv: 'GEM_KEY' },
        ],
        models: [
          { name: 'dear', deployments: [{ provider: 'oa', model: 'thinks', price: DEAR }] },
          { name: 'dear-gemini', deployments: [{ provider: 'gem', model: 'gemini-echo', price: DEAR }] },
          { name: 'roomy', deployments: [{ provider: 'oa', model: 'thinks', price: { input: 0.01, output: 0.01 } }] },
        ],
        cache: { enabled: true, scope: 'shared' },
        security: {
          keys: [
            { id: 'small', keyEnv: 'SMALL_KEY', budget: { usd: BUDGET, period: 'daily' } },
            { id: 'gem', keyEnv: 'GEM_TENANT_KEY', budget: { usd: BUDGET, period: 'daily' } },
            { id: 'large', keyEnv: 'LARGE_KEY', budget: { usd: 1000, period: 'daily' } },
            { id: 'medium', keyEnv: 'MEDIUM_KEY', budget: { usd: 0.3, period: 'daily' } },
            { id: 'free', keyEnv: 'FREE_KEY' },
          ],
        },
      }),
      {
        env: {
          FAKE_KEY: 'sk-fake',
          GEM_KEY: 'gem-key',
          SMALL_KEY: 'budget-small-key-0123456789abcdef',
          GEM_TENANT_KEY: 'budget-gem-key-0123456789abcdef',
          LARGE_KEY: 'budget-large-key-0123456789abcdef',
          MEDIUM_KEY: 'budget-medium-key-0123456789abcdef',
          FREE_KEY: 'budget-free-key-0123456789abcdef',
          GATEWAY_MASTER_KEY: 'budget-master-key-0123456789abcdef',
        },
      },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
    await gemini.stop();
  });

  const ask = (key: string, model: string, content = 'Write as much as you can.') =>
    client.chat.completions
      .create({ model, messages: [{ role: 'user', content }] }, { headers: { authorization: `Bearer ${key}` } })
      .withResponse();
  it('OpenAI-format: the limit sent is what the budget left pays for, and one request spends no more than the budget', async () => {
    const { data, response } = await ask('budget-small-key-0123456789abcdef', 'dear');
    const limit = upstream.last().body.max_completion_tokens as number;
    // $0.05 at $100 a million is 500 tokens, the prompt's estimate taken off.
    assert.ok(limit > 400 && limit < 500, `limit ${limit}`);
    assert.equal(data.usage?.completion_tokens, limit);
    assert.equal(response.headers.get('x-gateway-cost-usd'), String(((20 + limit) * 100) / 1e6));
    // The prompt the upstream counted (20) is denser than its estimate: that alone is what passes the budget.
    assert.ok(((20 + limit) * 100) / 1e6 <= BUDGET + (20 * 100) / 1e6);
    await assert.rejects(ask('budget-small-key-0123456789abcdef', 'dear'), (e: { status?: number }) => e.status === 429);
  });

  it('Gemini: the same limit, as generationConfig.maxOutputTokens', async () => {
    await ask('budget-gem-key-0123456789abcdef', 'dear-gemini');
    const limit = (gemini.last().body.generationConfig as { maxOutputTokens?: number }).maxOutputTokens!;
    assert.ok(limit > 400 && limit < 500, `limit ${limit}`);
  });

  it('a budget that pays for 4,096 tokens or more, to a deployment without maxOutputTokens: no limit (the answer is not cut); nor for a key without a budget', async () => {
    await ask('budget-large-key-0123456789abcdef', 'roomy');
    assert.equal(upstream.last().body.max_completion_tokens, undefined);
    await ask('budget-free-key-0123456789abcdef', 'roomy');
    assert.equal(upstream.last().body.max_completion_tokens, undefined);
  });

  it('an answer the budget`s limit cut is not stored for the cache to give requests without that limit', async () => {
    const notCacheable = () => metric(gateway, 'gateway_cache_stores_total{result="not_cacheable"}');
    const before = await notCacheable();
    // $0.30 at $100 a million: under 3,000 tokens, a limit the budget sets.
    const cut = await ask('budget-medium-key-0123456789abcdef', 'dear', 'Tell me everything.');
    assert.ok((upstream.last().body.max_completion_tokens as number) < 3000);
    assert.equal(cut.data.choices[0].finish_reason, 'length');
    assert.ok(await eventually(async () => (await notCacheable()) > before), 'the cut answer was offered and refused');
    const unbudgeted = await ask('budget-free-key-0123456789abcdef', 'dear', 'Tell me everything.');
    assert.equal(unbudgeted.response.headers.get('x-gateway-cache'), 'miss');
    assert.equal(unbudgeted.data.choices[0].finish_reason, 'stop');
    // Its own whole answer is stored and served.
    const hit = async () =>
      (await ask('budget-free-key-0123456789abcdef', 'dear', 'Tell me everything.')).response.headers.get('x-gateway-cache');
    assert.ok(await eventually(async () => (await hit()) === 'hit-exact'));
  });
});
