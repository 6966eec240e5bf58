import type { Price } from '@gateway/config';

/** Token counts as OpenAI reports them (completion includes reasoning; prompt includes cached). */
export interface UsageCounts {
  prompt_tokens: number;
  /** Absent for embeddings. */
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** Searches the upstream ran itself (Anthropic's server tools); not in OpenAI's usage. */
  server_tool_use?: { web_search_requests?: number | null } | null;
}

export interface CostBreakdown {
  usd: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  webSearches: number;
}

/**
 * USD for one request from actual usage and the deployment's price per million
 * tokens. Cached input is billed at `cachedInput` (input price when unset);
 * reasoning tokens, part of completion tokens, at `reasoning` (output price when unset);
 * web searches an upstream ran at `webSearch` a thousand (free when unset).
 */
export function costOf(usage: UsageCounts, price: Price | undefined): CostBreakdown {
  const cached = Math.min(usage.prompt_tokens, usage.prompt_tokens_details?.cached_tokens ?? 0);
  const completion = usage.completion_tokens ?? 0;
  const reasoning = Math.min(completion, usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const input = usage.prompt_tokens - cached;
  const output = completion - reasoning;
  const searches = usage.server_tool_use?.web_search_requests ?? 0;
  const usd = price
    ? (input * price.input +
        cached * (price.cachedInput ?? price.input) +
        output * price.output +
        reasoning * (price.reasoning ?? price.output)) /
        1e6 +
      (searches * (price.webSearch ?? 0)) / 1000
    : 0;
  return { usd, inputTokens: input, cachedInputTokens: cached, outputTokens: output, reasoningTokens: reasoning, webSearches: searches };
}
