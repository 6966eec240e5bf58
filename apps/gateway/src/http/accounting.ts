import { costOf, type UsageCounts } from '@gateway/metrics';
import type { CompletionUsage } from '@gateway/providers';
import type { Bill, RequestState } from './request-state';

/** Characters of a chat completion (JSON) or of its chunks in SSE per generated token, for the rough estimate below. */
const CHARS_PER_TOKEN_JSON = 4;
const CHARS_PER_TOKEN_SSE = 160;

/**
 * Usage and cost of a request an upstream served. Usage the upstream did not report
 * is estimated (prompt from the request, completion from the length of the upstream's
 * answer, before any codec re-encoded it) and marked as such, never counted as zero.
 * A stream that ended early (a client that left) is billed for what its upstream had
 * reported by then: Anthropic's message_start has the prompt's counts, cache reads and
 * writes included, and Gemini repeats its running counts.
 */
export function bill(state: RequestState): Bill | undefined {
  if (!state.deployment) return undefined;
  return (state.bill ??= settle(state));
}

function settle(state: RequestState): Bill {
  const reported = wellFormed(state.usage);
  if (reported) return priced(reported, false, state);
  const soFar = state.runningUsage?.soFar();
  const prompt = soFar && wellFormed(soFar.usage);
  if (prompt && soFar.outputCounted) return priced(prompt, false, state);
  const completion = estimatedCompletion(state);
  const usage: CompletionUsage = prompt
    ? { ...prompt, completion_tokens: completion, total_tokens: prompt.prompt_tokens + completion, completion_tokens_details: undefined }
    : { prompt_tokens: state.promptEstimate ?? 0, completion_tokens: completion, total_tokens: (state.promptEstimate ?? 0) + completion };
  return priced(usage, true, state);
}

function estimatedCompletion(state: RequestState): number {
  if (state.embeddings) return 0;
  if (state.stream) return Math.ceil((state.streamed?.chars ?? 0) / CHARS_PER_TOKEN_SSE);
  return Math.ceil((state.answerLength ?? 0) / CHARS_PER_TOKEN_JSON);
}

function priced(usage: CompletionUsage, estimated: boolean, state: RequestState): Bill {
  const { usd, webSearches } = costOf(usage, state.price);
  return { usage, estimated, costUsd: usd, webSearches };
}

const isCount = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
const isCountOrNone = (n: unknown) => n == null || isCount(n);

/**
 * Usage an upstream reported, when its counts are counts: `{"total_tokens":1500}` alone or a
 * string or NaN where a number belongs is as good as none (estimated), and never reaches a
 * cost, a key's limits or Redis as NaN.
 */
function wellFormed(usage: CompletionUsage | undefined): CompletionUsage | undefined {
  const ok =
    usage &&
    isCount(usage.prompt_tokens) &&
    isCountOrNone(usage.completion_tokens) &&
    isCountOrNone(usage.prompt_tokens_details?.cached_tokens) &&
    isCountOrNone(usage.completion_tokens_details?.reasoning_tokens) &&
    isCountOrNone((usage as UsageCounts).server_tool_use?.web_search_requests);
  return ok ? usage : undefined;
}

/** Cost as a header value: plain decimal, no exponent, trailing zeros dropped. */
export function formatUsd(usd: number): string {
  // Trimmed by hand: the regular expression this replaces cost as much as toFixed itself.
  const fixed = usd.toFixed(10);
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 0x30 /* 0 */) end--;
  if (fixed.charCodeAt(end - 1) === 0x2e /* . */) end--;
  return fixed.slice(0, end);
}
