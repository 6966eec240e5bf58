import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Price } from '@gateway/config';
import { costOf, type UsageCounts } from '@gateway/metrics';

const price = (p: Partial<Price>) => Object.assign(new Price(), p);
const usage = (prompt: number, completion: number, cached = 0, reasoning = 0): UsageCounts => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  prompt_tokens_details: { cached_tokens: cached },
  completion_tokens_details: { reasoning_tokens: reasoning },
});

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
  ];
  for (const [name, u, p, expected] of golden) {
    it(name, () => {
      assert.ok(Math.abs(costOf(u, p && price(p)).usd - expected) < 1e-15, `${costOf(u, p && price(p)).usd} != ${expected}`);
    });
  }

  it('reports the token breakdown', () => {
    assert.deepEqual(costOf(usage(1000, 500, 400, 300), price({ input: 1 })), {
      usd: (600 + 400) / 1e6,
      inputTokens: 600,
      cachedInputTokens: 400,
      outputTokens: 200,
      reasoningTokens: 300,
      webSearches: 0,
    });
  });
});
