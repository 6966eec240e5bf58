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

/** USD per million prompt tokens written to the cache (the 5-minute cache for Anthropic). */
function cacheWritePrice(price: Price): number {
  return price.cacheWrite ?? price.input;
}

/** USD per million prompt tokens written to Anthropic's 1-hour cache. */
function cacheWrite1hPrice(price: Price): number {
  return price.cacheWrite1h ?? cacheWritePrice(price);
}

/**
 * The most one prompt token can cost at this price (fresh, read from or written to a cache),
 * for the budget hold taken before the answer says which it was.
 */
export function dearestPromptPrice(price: Price): number {
  return Math.max(price.input, price.cachedInput ?? 0, cacheWritePrice(price), cacheWrite1hPrice(price));
}

/**
 * USD for one request from actual usage and the deployment's price per million
 * tokens. Cached input is billed at `cachedInput` (input price when unset); prompt
 * tokens written to the cache at `cacheWrite`, those of Anthropic's 1-hour cache at
 * `cacheWrite1h` (unset: `cacheWrite`, then input; Anthropic deployments get Anthropic's
 * rates for cache reads and writes when the config loads); reasoning tokens, part of
 * completion tokens, at `reasoning` (output price when unset); web searches an upstream
 * ran at `webSearch` a thousand (free when unset).
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
  const usd = price
    ? (input * price.input +
        cached * (price.cachedInput ?? price.input) +
        (writes - writes1h) * cacheWritePrice(price) +
        writes1h * cacheWrite1hPrice(price) +
        output * price.output +
        reasoning * (price.reasoning ?? price.output)) /
        1e6 +
      (searches * (price.webSearch ?? 0)) / 1000
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
