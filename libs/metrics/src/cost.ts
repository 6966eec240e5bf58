import type { Price } from '@gateway/config';

/** Token counts as OpenAI reports them (completion includes reasoning; prompt includes cached and cache writes). */
export interface UsageCounts {
  prompt_tokens: number;
  /** Absent for embeddings. */
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /**
   * The part of `cache_write_tokens` written to Anthropic's 1-hour cache, billed dearer than the
   * 5-minute cache. The gateway's own: never sent to clients (see clientUsage), OpenAI has no field for it.
   */
  cache_write_1h_tokens?: number | null;
  /** Searches the upstream ran itself (Anthropic's server tools); not in OpenAI's usage. */
  server_tool_use?: { web_search_requests?: number | null } | null;
}

export interface CostBreakdown {
  usd: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  webSearches: number;
}

/** The token rates of a price: its own, or its long-context tier's. */
type Rates = Pick<Price, 'input' | 'output' | 'cachedInput' | 'cacheWrite' | 'cacheWrite1h' | 'reasoning'>;

/** The rates a request with this many prompt tokens is billed at: the long-context tier's above its length. */
export function ratesFor(price: Price, promptTokens: number): Rates {
  return price.longContext && promptTokens > price.longContext.above ? price.longContext : price;
}

/** USD per million prompt tokens written to the cache (the 5-minute cache for Anthropic). */
function cacheWritePrice(rates: Rates): number {
  return rates.cacheWrite ?? rates.input;
}

/** USD per million prompt tokens written to Anthropic's 1-hour cache. */
function cacheWrite1hPrice(rates: Rates): number {
  return rates.cacheWrite1h ?? cacheWritePrice(rates);
}

/** Both rate sets of a price, for a bound that holds at any prompt length. */
function everyRates(price: Price): Rates[] {
  return price.longContext ? [price, price.longContext] : [price];
}

/**
 * The most one prompt token can cost at this price (fresh, read from or written to a cache, at any
 * prompt length: the prompt is only estimated), for the budget hold taken before the answer says.
 */
export function dearestPromptPrice(price: Price): number {
  return Math.max(...everyRates(price).map((r) => Math.max(r.input, r.cachedInput ?? 0, cacheWritePrice(r), cacheWrite1hPrice(r))));
}

/** The most one completion token can cost at this price (output or reasoning, at any prompt length). */
export function dearestCompletionPrice(price: Price): number {
  return Math.max(...everyRates(price).map((r) => Math.max(r.output, r.reasoning ?? 0)));
}

/**
 * USD for one request from actual usage and the deployment's price per million
 * tokens. Cached input is billed at `cachedInput` (input price when unset); prompt
 * tokens written to the cache at `cacheWrite`, those of Anthropic's 1-hour cache at
 * `cacheWrite1h` (unset: `cacheWrite`, then input; Anthropic deployments get Anthropic's
 * rates for cache reads and writes when the config loads); reasoning tokens, part of
 * completion tokens, at `reasoning` (output price when unset); web searches an upstream
 * ran at `webSearch` a thousand (free when unset). A prompt over `longContext.above` tokens bills
 * the whole request at the long-context rates, as the vendors that price by prompt length do.
 */
export function costOf(usage: UsageCounts, price: Price | undefined): CostBreakdown {
  const cached = Math.min(usage.prompt_tokens, usage.prompt_tokens_details?.cached_tokens ?? 0);
  const writes = Math.min(usage.prompt_tokens - cached, usage.prompt_tokens_details?.cache_write_tokens ?? 0);
  const writes1h = Math.min(writes, usage.cache_write_1h_tokens ?? 0);
  const completion = usage.completion_tokens ?? 0;
  const reasoning = Math.min(completion, usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const input = usage.prompt_tokens - cached - writes;
  const output = completion - reasoning;
  const searches = usage.server_tool_use?.web_search_requests ?? 0;
  const rates = price && ratesFor(price, usage.prompt_tokens);
  const usd = rates
    ? (input * rates.input +
        cached * (rates.cachedInput ?? rates.input) +
        (writes - writes1h) * cacheWritePrice(rates) +
        writes1h * cacheWrite1hPrice(rates) +
        output * rates.output +
        reasoning * (rates.reasoning ?? rates.output)) /
        1e6 +
      (searches * (price!.webSearch ?? 0)) / 1000
    : 0;
  return {
    usd,
    inputTokens: input,
    cachedInputTokens: cached,
    cacheWriteTokens: writes,
    outputTokens: output,
    reasoningTokens: reasoning,
    webSearches: searches,
  };
}
