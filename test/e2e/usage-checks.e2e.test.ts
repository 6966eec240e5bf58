import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { metric } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';
import { FakeOpenAI } from '../support/fake-openai';

/** Every rate its own, so a cost shows which of them it was priced at. */
const PRICE = { input: 1, output: 2, cachedInput: 0.25, cacheWrite: 1.5, reasoning: 4 };

/**
 * Found by an independent check of what requests cost: an answer whose upstream usage was not
 * believed was billed as estimated but cached with that usage, and every identical request then got
 * a 500 (a Prometheus counter refuses a negative increment); a negative cache write or a fractional
 * count passed the usage check, and 1e15 output tokens for `max_tokens: 100` were billed as they came;
 * DeepSeek's cache reads were billed but not shown to Responses and Messages clients; a cache hit's
 * access line had no tokens and no cost; the USD a hit saved was not priced as the bill prices it.
 */
describe('usage the gateway believes, bills, caches and shows', () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  let client: OpenAI;
  const deploy = (name: string, model: string, extra: object = {}) => ({
    name,
    deployments: [{ provider: 'fake', model, price: PRICE, ...extra }],
  });

  before(async () => {
    const baseUrl = await upstream.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
        models: [
          deploy('negative', 'usage-negative'),
          deploy('fraction', 'usage-fraction'),
          deploy('neg-write', 'usage-neg-write'),
          deploy('huge', 'usage-huge', { contextWindow: 8000 }),
          deploy('dscache', 'usage-dscache'),
          deploy('reasoning', 'reasoning'),
        ],
        cache: { enabled: true },
      }),
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const line = async (id: string | null) => (await gateway.logged('request', { where: (l) => l.reqId === id }))[0] ?? {};
  const stores = () => metric(gateway, 'gateway_cache_stores_total{result="stored"}');
  /** Waits until the cache has stored an answer since it had stored `before`: a store happens after its response is sent. */
  const storedSince = (before: number) => eventually(async () => (await stores()) > before);
  const ask = (model: string, content: string, params: object = {}) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content }], ...params }).withResponse();

  it('an answer whose usage is not believed is cached with the usage it was billed with: its hits are served, at no cost, with those tokens logged', async () => {
    let before = await stores();
    const first = await ask('negative', 'cache me');
    assert.match(first.response.headers.get('x-gateway-cost-usd') ?? '', /; estimated$/);
    const billed = await line(first.response.headers.get('x-request-id'));
    assert.equal(billed.usageEstimated, true);
    await storedSince(before);
    for (let i = 0; i < 2; i++) {
      const hit = await ask('negative', 'cache me');
      assert.equal(hit.response.headers.get('x-gateway-cache'), 'hit-exact');
      assert.equal(hit.response.headers.get('x-gateway-cost-usd'), '0');
      assert.deepEqual([hit.data.usage?.prompt_tokens, hit.data.usage?.completion_tokens], [billed.promptTokens, billed.completionTokens]);
      const logged = await line(hit.response.headers.get('x-request-id'));
      assert.deepEqual(
        [logged.status, logged.cache, logged.costUsd, logged.promptTokens, logged.completionTokens],
        [200, 'hit-exact', 0, billed.promptTokens, billed.completionTokens],
      );
    }
    // Streamed: the answer assembled from the stream is stored with the estimate too.
    const streamOnce = async () => {
      const { data, response } = await client.chat.completions
        .create({
          model: 'negative',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'stream me' }],
        })
        .withResponse();
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of data) usage = chunk.usage ?? usage;
      return { response, usage };
    };
    before = await stores();
    const streamed = await streamOnce();
    const streamBilled = await line(streamed.response.headers.get('x-request-id'));
    assert.equal(streamBilled.usageEstimated, true);
    await storedSince(before);
    const replayed = await streamOnce();
    assert.equal(replayed.response.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual(
      [replayed.usage?.prompt_tokens, replayed.usage?.completion_tokens],
      [streamBilled.promptTokens, streamBilled.completionTokens],
    );
  });

  it('a negative cache write or a fractional count is no count: estimated, never a negative cost', async () => {
    for (const model of ['neg-write', 'fraction']) {
      const { response } = await ask(model, `count ${model}`);
      assert.match(response.headers.get('x-gateway-cost-usd') ?? '', /^\d+(\.\d+)?; estimated$/, model);
      const logged = await line(response.headers.get('x-request-id'));
      assert.equal(logged.usageEstimated, true, model);
      assert.ok((logged.costUsd as number) >= 0 && Number.isInteger(logged.promptTokens), model);
    }
  });

  it('counts beyond what the request allows are estimated, with one warning for the deployment', async () => {
    for (const content of ['huge one', 'huge two']) {
      const { response } = await ask('huge', content, { max_tokens: 100 });
      assert.match(response.headers.get('x-gateway-cost-usd') ?? '', /; estimated$/);
      const logged = await line(response.headers.get('x-request-id'));
      assert.ok((logged.completionTokens as number) < 1000, `completion ${logged.completionTokens}`);
    }
    await gateway.logged('request', { where: (l) => l.model === 'huge', count: 2 });
    const warnings = gateway.logs.filter((l) => /beyond what the request allows/.test(String(l.msg)));
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
  });

  it('DeepSeek`s prompt_cache_hit_tokens are the cached tokens Responses and Messages clients see, as billed', async () => {
    const content = 'read from the cache';
    const response = await client.responses.create({ model: 'dscache', input: content });
    assert.equal(response.usage?.input_tokens_details.cached_tokens, 400);
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    const message = await claude.messages.create({
      model: 'dscache',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'other words' }],
    });
    assert.deepEqual([message.usage.input_tokens, message.usage.cache_read_input_tokens], [600, 400]);
    const stream = claude.messages.stream({ model: 'dscache', max_tokens: 100, messages: [{ role: 'user', content: 'streamed words' }] });
    const streamed = await stream.finalMessage();
    assert.deepEqual([streamed.usage.input_tokens, streamed.usage.cache_read_input_tokens], [600, 400]);
  });

  it('what a hit saved is priced as the bill priced its answer (cache reads, reasoning)', async () => {
    const savedBefore = await metric(gateway, 'gateway_cache_saved_usd_total');
    const storesBefore = await stores();
    const miss = await ask('reasoning', 'think about savings');
    const billed = await line(miss.response.headers.get('x-request-id'));
    // 600 fresh, 400 cached, 200 output, 300 reasoning.
    assert.equal(billed.costUsd, (600 * 1 + 400 * 0.25 + 200 * 2 + 300 * 4) / 1e6);
    await storedSince(storesBefore);
    const hit = await ask('reasoning', 'think about savings');
    assert.equal(hit.response.headers.get('x-gateway-cache'), 'hit-exact');
    const saved = (await metric(gateway, 'gateway_cache_saved_usd_total')) - savedBefore;
    assert.ok(Math.abs(saved - (billed.costUsd as number)) < 1e-12, `saved ${saved}, billed ${billed.costUsd}`);
  });
});
