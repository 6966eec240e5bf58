import { Logger } from '@nestjs/common';
import { costOf, type UsageCounts } from '@gateway/metrics';
import { answerWeight, type CompletionUsage, tokensOf } from '@gateway/providers';
import type { Bill, RequestState } from './request-state';

/**
 * Usage and cost of a request an upstream served. Usage the upstream did not report
 * is estimated (prompt from the request, completion from the output in the
 * upstream's answer, streamed or not, before any codec re-encoded it) and marked as such, never counted as zero.
 * A stream that ended early (a client that left) is billed for what its upstream had
 * reported by then: Anthropic's message_start has the prompt's counts, cache reads and
 * writes included, and Gemini repeats its running counts.
 */
export function bill(state: RequestState): Bill | undefined {
  if (!state.deployment) return undefined;
  return (state.bill ??= settle(state));
}

/**
 * The usage a complete answer is billed with, `reported` checked (else estimated): what the cache
 * stores with the answer, so a hit replays it. Not the request's bill (bill() settles that once). Taken, `reported`
 * is given back itself: a Messages pass-through shows its own usage only then (messages/output-count.ts).
 */
export function billedUsage(
  state: RequestState,
  reported: CompletionUsage | undefined,
): { usage: CompletionUsage; estimated: boolean; deployment?: string; serviceTier?: string } {
  const checked = believable(wellFormed(reported, generated(state)), state);
  const deployment = state.deployment;
  const serviceTier = state.served?.serviceTier;
  return checked
    ? { ...checked, deployment, serviceTier }
    : { usage: estimatedUsage(state, promptCounts(reported, state)), estimated: true, deployment, serviceTier };
}

function settle(state: RequestState): Bill {
  const reported = believable(wellFormed(state.usage, generated(state)), state);
  if (reported) return priced(reported.usage, reported.estimated, state);
  const soFar = state.runningUsage?.soFar();
  // The counts reported by then: the prompt's, and the output's only once the upstream counted it.
  const counted = soFar && believable(wellFormed(soFar.usage, false), state);
  if (counted && soFar.outputCounted && isCount(counted.usage.completion_tokens)) return priced(counted.usage, counted.estimated, state);
  return priced(estimatedUsage(state, promptCounts(state.usage, state) ?? counted?.usage), true, state);
}

/**
 * Usage reported without its output's count (Anthropic's without output_tokens, Gemini's without candidatesTokenCount
 * for an answer with content, an OpenAI-format answer's without completion_tokens), streamed or not: the prompt's
 * counts, billed as reported while the output is estimated.
 */
function promptCounts(usage: CompletionUsage | undefined, state: RequestState): CompletionUsage | undefined {
  return believable(wellFormed(usage, false), state)?.usage;
}

/**
 * The usage of an answer whose upstream reported none believable: the prompt's (as reported, else estimated) and its
 * length's. Reasoning the upstream counted without the output (Gemini's thoughtsTokenCount without
 * candidatesTokenCount, OpenAI's reasoning_tokens without completion_tokens) is output too, hidden or not, and billed
 * so: a floor the estimate of the answer's characters adds to (OpenAI's completion_tokens include its reasoning_tokens,
 * and Gemini's thoughts, counted apart from its candidates, are billed as output). A reasoning text the answer shows
 * is counted twice (in the count and in the characters): an over-estimate by its length, where dropping the count under-billed.
 */
function estimatedUsage(state: RequestState, prompt: CompletionUsage | undefined): CompletionUsage {
  const reasoning = reasoningOf(prompt);
  const completion = reasoning + estimatedCompletion(state);
  const details = reasoning ? { reasoning_tokens: reasoning } : undefined;
  return prompt
    ? { ...prompt, completion_tokens: completion, total_tokens: prompt.prompt_tokens + completion, completion_tokens_details: details }
    : { prompt_tokens: state.promptEstimate ?? 0, completion_tokens: completion, total_tokens: (state.promptEstimate ?? 0) + completion };
}

/** The reasoning tokens `usage` counts (a count: wellFormed checked it). */
function reasoningOf(usage: CompletionUsage | undefined): number {
  return usage?.completion_tokens_details?.reasoning_tokens ?? 0;
}

function estimatedCompletion(state: RequestState): number {
  if (state.embeddings) return 0;
  const weight = state.stream ? (state.streamed?.weight ?? 0) : state.answer ? answerWeight(state.answer.body, state.answer.native) : 0;
  return tokensOf(weight);
}

function priced(usage: CompletionUsage, estimated: boolean, state: RequestState): Bill {
  const { usd, webSearches } = costOf(usage, state.price, state.served?.serviceTier);
  return { usage, estimated, costUsd: usd, webSearches };
}

const isCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
const isCountOrNone = (n: unknown) => n == null || isCount(n);

/** True when the request generates output (a chat, Messages or Responses answer), whose usage must count it. */
const generated = (state: RequestState) => !state.embeddings;

/**
 * Usage an upstream reported, when every count the cost reads is a count: `{"total_tokens":1500}`
 * alone, an answer's usage without its `completion_tokens` (`withOutput`: only embeddings have
 * none), or a string, NaN, a negative number or a fraction where a count belongs, is as good as
 * none (estimated), and never reaches a cost, a key's limits, the cache or Redis.
 */
function wellFormed(usage: CompletionUsage | undefined, withOutput: boolean): CompletionUsage | undefined {
  const counts = usage as UsageCounts | undefined;
  const ok =
    counts &&
    isCount(counts.prompt_tokens) &&
    (withOutput ? isCount(counts.completion_tokens) : isCountOrNone(counts.completion_tokens)) &&
    isCountOrNone(counts.prompt_tokens_details?.cached_tokens) &&
    isCountOrNone(counts.prompt_tokens_details?.cache_write_tokens) &&
    isCountOrNone(counts.prompt_tokens_details?.audio_tokens) &&
    isCountOrNone(counts.completion_tokens_details?.audio_tokens) &&
    isCountOrNone(counts.cache_write_1h_tokens) &&
    isCountOrNone(counts.completion_tokens_details?.reasoning_tokens) &&
    isCountOrNone(counts.server_tool_use?.web_search_requests);
  return ok ? usage : undefined;
}

const logger = new Logger('Cost');
/** Deployments whose unbelievable usage was logged: once each, not once a request. */
const warned = new Set<string>();

/**
 * Usage no answer could have: a prompt over the deployment's context window, or an output over the
 * completion budget of the request's choices (usageLimits), each past a slack (twice the limit and
 * 1,024 more: tokenizers and thinking budgets differ by vendor). One faulty upstream must not bill
 * 1e15 tokens, lock a key's budget for its period and spoil the cost dashboards. Such a prompt is as
 * good as none (estimated); such an output is billed at the completion budget the request allowed,
 * marked estimated: the estimate of the answer's text alone would bill a reasoning model's hidden
 * thinking (20,000 tokens) as the few tokens it shows. Logged once per deployment as a warning.
 * Undefined when there is no usage or its prompt is not believed.
 */
function believable(usage: CompletionUsage | undefined, state: RequestState): { usage: CompletionUsage; estimated: boolean } | undefined {
  const limits = state.usageLimits;
  if (!usage) return undefined;
  if (!limits) return { usage, estimated: false };
  const over = (count: number | undefined, limit: number | undefined) => limit !== undefined && (count ?? 0) > 2 * limit + 1024;
  // Usage without an output count: its reasoning is billed as the output's floor (estimatedUsage), and judged so.
  const output = usage.completion_tokens ?? reasoningOf(usage);
  const promptOver = over(usage.prompt_tokens, limits.prompt);
  const outputOver = over(output, limits.completion);
  if (!promptOver && !outputOver) return { usage, estimated: false };
  if (!warned.has(state.deployment!)) {
    warned.add(state.deployment!);
    logger.warn(
      `${state.deployment} reported ${usage.prompt_tokens} prompt and ${output} completion tokens, beyond what the request allows (prompt ${limits.prompt ?? 'unbounded'}, completion ${limits.completion ?? 'unbounded'}): billed as estimated${promptOver ? '' : ', the output at the completion budget'} (logged once for this deployment)`,
    );
  }
  return promptOver ? undefined : { usage: outputAt(usage, limits.completion!), estimated: true };
}

/** `usage` with its output (and the reasoning it counts) at `limit`: the most the request allowed. */
function outputAt(usage: CompletionUsage, limit: number): CompletionUsage {
  const at: CompletionUsage = { ...usage };
  if (usage.completion_tokens_details?.reasoning_tokens != null)
    at.completion_tokens_details = { ...usage.completion_tokens_details, reasoning_tokens: Math.min(reasoningOf(usage), limit) };
  if (usage.completion_tokens != null) Object.assign(at, { completion_tokens: limit, total_tokens: usage.prompt_tokens + limit });
  return at;
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
