import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Price } from '@gateway/config';
import { costOf, dearestCompletionPrice, dearestPromptPrice, isUnpricedTier, tierPrice, type UsageCounts } from '@gateway/metrics';

const price = (p: Partial<Price>) => Object.assign(new Price(), p);
const usage = (prompt: number, completion: number, cached = 0, reasoning = 0, writes = 0): UsageCounts => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  prompt_tokens_details: { cached_tokens: cached, cache_write_tokens: writes },
  completion_tokens_details: { reasoning_tokens: reasoning },
});
/** Anthropic's Sonnet prices with its cache-write rates, as applyVendorPrices fills them in. */
const SONNET = { input: 3, cachedInput: 0.3, output: 15, cacheWrite: 3.75, cacheWrite1h: 6 };
/** Gemini 3.1 Pro as the shipped config prices it: dearer over 200K prompt tokens (found by an independent check: billed flat). */
const GEMINI_PRO = { input: 2, cachedInput: 0.2, output: 12, longContext: { above: 200_000, input: 4, cachedInput: 0.4, output: 18 } };

describe('cost from usage and price (USD per 1M tokens)', () => {
  const golden: [string, UsageCounts, Partial<Price> | undefined, number][] = [
    ['plain input and output', usage(1_000_000, 1_000_000), { input: 2.5, output: 10 }, 12.5],
    ['gpt-4o-mini small request', usage(11, 7), { input: 0.15, output: 0.6 }, (11 * 0.15 + 7 * 0.6) / 1e6],
    ['cached input at the cached price', usage(1000, 0, 400), { input: 2, cachedInput: 0.5, output: 8 }, (600 * 2 + 400 * 0.5) / 1e6],
    ['cached input at the input price when no cached price', usage(1000, 0, 400), { input: 2, output: 8 }, (1000 * 2) / 1e6],
    ['reasoning at the output price by default', usage(0, 500, 0, 300), { input: 1, output: 4 }, (500 * 4) / 1e6],
    ['reasoning at its own price', usage(0, 500, 0, 300), { input: 1, output: 4, reasoning: 10 }, (200 * 4 + 300 * 10) / 1e6],
    [
      'everything together',
      usage(1000, 500, 400, 300),
      { input: 1.1, cachedInput: 0.275, output: 4.4 },
      (600 * 1.1 + 400 * 0.275 + 200 * 4.4 + 300 * 4.4) / 1e6,
    ],
    ['embeddings (no completion tokens)', { prompt_tokens: 1000 }, { input: 0.02 }, (1000 * 0.02) / 1e6],
    ['no price configured', usage(1000, 1000), undefined, 0],
    ['cached tokens over the prompt are capped', usage(100, 0, 500), { input: 1, cachedInput: 0.5 }, (100 * 0.5) / 1e6],
    [
      'web searches an upstream ran, at their price a thousand',
      { ...usage(1000, 200), server_tool_use: { web_search_requests: 3 } },
      { input: 3, output: 15, webSearch: 10 },
      (1000 * 3 + 200 * 15) / 1e6 + (3 * 10) / 1000,
    ],
    [
      'web searches are free without a price for them',
      { ...usage(1000, 200), server_tool_use: { web_search_requests: 3 } },
      { input: 3, output: 15 },
      (1000 * 3 + 200 * 15) / 1e6,
    ],
    // Found by an independent check: cache writes were billed as plain input.
    ['cache writes at the cache-write price', usage(10_000, 0, 0, 0, 10_000), SONNET, (10_000 * 3.75) / 1e6],
    [
      '1-hour cache writes at their own price, the rest of the writes at the 5-minute one',
      { ...usage(1000, 100, 200, 0, 500), cache_write_1h_tokens: 300 },
      SONNET,
      (300 * 3 + 200 * 0.3 + 200 * 3.75 + 300 * 6 + 100 * 15) / 1e6,
    ],
    ['cache writes at the input price when no cache-write price', usage(1000, 0, 0, 0, 600), { input: 2 }, (1000 * 2) / 1e6],
    [
      '1-hour writes at the cache-write price when no 1-hour price',
      { ...usage(1000, 0, 0, 0, 600), cache_write_1h_tokens: 100 },
      { input: 2, cacheWrite: 2.5 },
      (400 * 2 + 600 * 2.5) / 1e6,
    ],
    [
      'writes are capped by the prompt left after cache reads, 1-hour ones by the writes',
      { ...usage(100, 0, 60, 0, 500), cache_write_1h_tokens: 900 },
      SONNET,
      (60 * 0.3 + 40 * 6) / 1e6,
    ],
    [
      'a prompt over the long-context length: the whole request at the long-context rates',
      usage(250_075, 1000, 4000),
      GEMINI_PRO,
      (246_075 * 4 + 4000 * 0.4 + 1000 * 18) / 1e6,
    ],
    [
      'a prompt of exactly the long-context length: the base rates',
      usage(200_000, 1000, 4000),
      GEMINI_PRO,
      (196_000 * 2 + 4000 * 0.2 + 1000 * 12) / 1e6,
    ],
    [
      'long-context reasoning and cache reads default as the base ones do: output and input',
      usage(300_000, 1000, 1000, 600),
      { input: 1, output: 5, longContext: { above: 100, input: 2, output: 10 } },
      (299_000 * 2 + 1000 * 2 + 1000 * 10) / 1e6,
    ],
    // Found by an independent check: audio was billed at the text price.
    [
      'audio prompt tokens at the audio input price, the rest of the fresh prompt at input',
      { ...usage(10_000, 100), prompt_tokens_details: { audio_tokens: 8000 } },
      { input: 0.1, output: 0.4, audioInput: 0.3 },
      (2000 * 0.1 + 8000 * 0.3 + 100 * 0.4) / 1e6,
    ],
    [
      'audio completion tokens at the audio output price',
      { ...usage(900, 800), prompt_tokens_details: { audio_tokens: 900 }, completion_tokens_details: { audio_tokens: 700 } },
      { input: 2.5, output: 10, audioInput: 40, audioOutput: 80 },
      (900 * 40 + 100 * 10 + 700 * 80) / 1e6,
    ],
    [
      'audio at the text prices when no audio price',
      { ...usage(1000, 10), prompt_tokens_details: { audio_tokens: 1000 } },
      { input: 1, output: 2 },
      (1000 + 20) / 1e6,
    ],
    [
      'audio counts are capped by the fresh prompt and the non-reasoning output',
      {
        ...usage(1000, 100),
        prompt_tokens_details: { cached_tokens: 600, audio_tokens: 1000 },
        completion_tokens_details: { reasoning_tokens: 60, audio_tokens: 100 },
      },
      { input: 1, cachedInput: 0.1, output: 2, audioInput: 3, audioOutput: 5 },
      (400 * 3 + 600 * 0.1 + 40 * 5 + 60 * 2) / 1e6,
    ],
  ];
  for (const [name, u, p, expected] of golden) {
    it(name, () => {
      assert.ok(Math.abs(costOf(u, p && price(p)).usd - expected) < 1e-15, `${costOf(u, p && price(p)).usd} != ${expected}`);
    });
  }

  // Found by an independent check: priority answers were billed at the standard price (under-billed 1.75x), flex ones over-billed 2x.
  describe('service tiers', () => {
    const GPT_41 = {
      input: 2,
      cachedInput: 0.5,
      output: 8,
      tiers: { priority: { input: 3.5, output: 14 }, flex: { input: 1, output: 4 } },
    };
    const cost = (p: object, tier?: string) => costOf(usage(10_000, 1000, 2000), price(p), tier).usd;
    it('an answer served by priority bills its rates, the cached input scaled as its input is (OpenAI: $0.875)', () => {
      assert.equal(cost(GPT_41, 'priority'), (8000 * 3.5 + 2000 * 0.875 + 1000 * 14) / 1e6);
    });
    it('flex bills its own rates', () => {
      assert.equal(cost(GPT_41, 'flex'), (8000 * 1 + 2000 * 0.25 + 1000 * 4) / 1e6);
    });
    it('default, scale, batch and none bill the standard price, as does flex without prices: no dearer than standard', () => {
      const standard = (8000 * 2 + 2000 * 0.5 + 1000 * 8) / 1e6;
      for (const tier of ['default', 'standard', 'scale', 'auto', 'batch', 'on_demand', undefined])
        assert.equal(cost(GPT_41, tier), standard, String(tier));
      assert.equal(cost({ input: 2, cachedInput: 0.5, output: 8 }, 'flex'), standard);
      assert.equal(
        cost({ input: 2, cachedInput: 0.5, output: 8 }, 'priority'),
        standard,
        'no tier priced: the standard rates are the dearest',
      );
    });
    // Found by an independent check: OpenAI's ultrafast answers (6x the standard rates) were billed at the standard
    // price, and price.tiers.ultrafast was refused at start-up.
    it('any tier name takes rates: ultrafast bills its own, and a budget hold covers them', () => {
      const p = { ...GPT_41, tiers: { ...GPT_41.tiers, ultrafast: { input: 12, output: 48 } } };
      assert.equal(cost(p, 'ultrafast'), (8000 * 12 + 2000 * 3 + 1000 * 48) / 1e6);
      assert.equal(dearestPromptPrice(price(p)), 12);
      assert.equal(dearestCompletionPrice(price(p)), 48);
    });
    // Found by an independent check (recheck32a): such a tier was billed each rate at its dearest configured, so an Anthropic
    // Priority Tier answer (standard rates: committed capacity) on a deployment pricing only fast mode was billed 6x.
    it('a tier that may cost more than standard without rates (priority, ultrafast, a new name) bills the standard price, not another tier`s', () => {
      const p = { input: 5, cachedInput: 0.5, output: 25, tiers: { fast: { input: 30, output: 150 }, flex: { input: 1, output: 4 } } };
      const standard = (8000 * 5 + 2000 * 0.5 + 1000 * 25) / 1e6;
      for (const tier of ['priority', 'ultrafast', 'hyperfast', 'toString', '__proto__']) assert.equal(cost(p, tier), standard, tier);
      const priced = price(p);
      assert.equal(tierPrice(priced, 'priority'), priced, 'the standard price itself');
      assert.ok(
        standard <=
          (8000 * dearestPromptPrice(price(p)) + 2000 * dearestPromptPrice(price(p)) + 1000 * dearestCompletionPrice(price(p))) / 1e6,
      );
    });
    it('isUnpricedTier: a tier that may cost more than standard and has no rates', () => {
      const p = price(GPT_41);
      assert.deepEqual(
        ['ultrafast', 'fast', 'hyperfast', 'priority', 'flex', 'scale', 'default', 'standard', 'batch', 'on_demand'].filter((t) =>
          isUnpricedTier(p, t),
        ),
        ['ultrafast', 'fast', 'hyperfast'],
      );
      assert.equal(isUnpricedTier(p, undefined), false);
    });
    it("a tier's own rates win; unset ones scale, prompt ones with input, completion ones with output, long-context ones too", () => {
      const p = price({
        input: 2,
        output: 10,
        cachedInput: 0.2,
        cacheWrite: 2.5,
        reasoning: 20,
        audioInput: 6,
        webSearch: 10,
        longContext: { above: 100, input: 4, output: 15 },
        tiers: { priority: { input: 3, output: 20, cacheWrite: 5 } },
      });
      const t = tierPrice(p, 'priority');
      assert.deepEqual(
        [t.input, t.output, t.cachedInput, t.cacheWrite, t.reasoning, t.audioInput, t.audioOutput, t.webSearch],
        [3, 20, 0.2 * 1.5, 5, 40, 6 * 1.5, undefined, 10],
      );
      assert.deepEqual({ ...t.longContext }, { above: 100, input: 6, output: 30 });
      assert.equal(tierPrice(p, 'priority'), t, 'derived once per price');
      assert.equal(
        tierPrice(price({ input: 2, output: 8, tiers: { flex: { output: 4 } } }), 'flex').input,
        2,
        'an unset input is the standard one',
      );
    });
    it('a budget hold prices at the dearest tier: the upstream says which served only in its answer', () => {
      assert.equal(dearestPromptPrice(price(GPT_41)), 3.5);
      assert.equal(dearestCompletionPrice(price(GPT_41)), 14);
      assert.equal(dearestPromptPrice(price({ input: 1, output: 2, audioInput: 7 })), 7);
      assert.equal(dearestCompletionPrice(price({ input: 1, output: 2, audioOutput: 9 })), 9);
    });
  });

  // Found by an independent check: Anthropic's fast mode and priority tier were billed at the standard price.
  describe("Anthropic's tiers: fast mode and priority", () => {
    /** Opus 4.8 as Anthropic prices it ($5 / $25, fast mode $10 / $50), its cache rates as applyVendorPrices fills them. */
    const OPUS = { input: 5, cachedInput: 0.5, output: 25, cacheWrite: 6.25, cacheWrite1h: 10, tiers: { fast: { input: 10, output: 50 } } };
    // 6,000 fresh, 2,000 read from the cache, 1,000 written to the 5-minute cache and 1,000 to the 1-hour one.
    const counts = { ...usage(10_000, 1000, 2000, 0, 2000), cache_write_1h_tokens: 1000 };
    const cost = (p: object, tier?: string) => costOf(counts, price(p), tier).usd;
    it('an answer served in fast mode bills its rates, the cache reads and writes at their multiples of them', () => {
      assert.equal(cost(OPUS, 'fast'), (6000 * 10 + 2000 * 1 + 1000 * 12.5 + 1000 * 20 + 1000 * 50) / 1e6);
      assert.equal(cost(OPUS, 'fast'), 2 * cost(OPUS, 'standard'));
    });
    it('standard, batch and a tier without prices (priority here: committed capacity at the standard rates) bill the standard price', () => {
      const standard = (6000 * 5 + 2000 * 0.5 + 1000 * 6.25 + 1000 * 10 + 1000 * 25) / 1e6;
      for (const tier of ['standard', 'batch', 'priority', undefined]) assert.equal(cost(OPUS, tier), standard, String(tier));
    });
    it('priority bills the rates the operator set for its committed capacity', () => {
      const p = { ...OPUS, tiers: { priority: { input: 6, output: 30 } } };
      assert.equal(cost(p, 'priority'), (6000 * 6 + 2000 * 0.6 + 1000 * 7.5 + 1000 * 12 + 1000 * 30) / 1e6);
    });
    it('a budget hold prices at fast mode, the dearest, as only the answer says it ran fast', () => {
      assert.equal(dearestPromptPrice(price(OPUS)), 20, "the 1-hour cache write's rate in fast mode");
      assert.equal(dearestCompletionPrice(price(OPUS)), 50);
      // A request that cannot be served fast (no `speed: "fast"` to an Anthropic deployment): the dearest other tier.
      assert.ok(dearestCompletionPrice(price(OPUS), false) < 50);
      assert.ok(dearestPromptPrice(price(OPUS), false) < 20);
    });
  });

  it('reports the token breakdown', () => {
    assert.deepEqual(costOf(usage(1000, 500, 400, 300, 100), price({ input: 1 })), {
      usd: (600 + 400) / 1e6,
      inputTokens: 500,
      cachedInputTokens: 400,
      cacheWriteTokens: 100,
      outputTokens: 200,
      reasoningTokens: 300,
      audioInputTokens: 0,
      audioOutputTokens: 0,
      webSearches: 0,
    });
  });

  it('a budget hold prices the prompt at the dearest of input, cache reads and cache writes', () => {
    assert.equal(dearestPromptPrice(price(SONNET)), 6);
    assert.equal(dearestPromptPrice(price({ input: 2, cacheWrite: 2.5 })), 2.5);
    assert.equal(dearestPromptPrice(price({ input: 2, cachedInput: 0.5 })), 2);
  });

  it('a budget hold prices at the long-context rates too: the prompt is only estimated', () => {
    assert.equal(dearestPromptPrice(price(GEMINI_PRO)), 4);
    assert.equal(dearestCompletionPrice(price(GEMINI_PRO)), 18);
    assert.equal(dearestCompletionPrice(price({ input: 1, output: 4, reasoning: 10 })), 10);
  });
});
