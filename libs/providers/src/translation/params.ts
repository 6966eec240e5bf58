import { GatewayError } from '../gateway-error';
import type { ChatCompletionCreateParams } from '../wire';

/**
 * How a vendor adapter treats one OpenAI request parameter:
 * - `mapped`: translated to the vendor's own field (request.ts of the vendor);
 * - `dropped`: accepted and not sent. Only for parameters whose absence cannot change
 *   the shape of the answer (sampling hints, caching hints, storage); each vendor's
 *   list is documented in docs/providers.md;
 * - a rule: returns why the given value cannot be honoured, which becomes a 400.
 */
export type ParamRule = 'mapped' | 'dropped' | ((value: unknown) => string | undefined);
export type ParamTable<T = ChatCompletionCreateParams> = Record<keyof T, ParamRule>;

/** A rule that refuses the values `refuse` matches, saying why. */
export function refuse(when: (value: unknown) => boolean, why: string): ParamRule {
  return (value) => (when(value) ? why : undefined);
}

export const isTrue = (value: unknown) => value === true;
export const moreThanOne = (value: unknown) => typeof value === 'number' && value > 1;

/**
 * Parameters every vendor adapter treats the same way: OpenAI-only features that
 * would silently change the answer if dropped are refused; the rest are hints.
 */
export const COMMON_PARAMS = {
  messages: 'mapped',
  model: 'mapped',
  stream: 'mapped',
  stream_options: 'mapped',
  max_tokens: 'mapped',
  max_completion_tokens: 'mapped',
  stop: 'mapped',
  tools: 'mapped',
  tool_choice: 'mapped',
  parallel_tool_calls: 'mapped',
  response_format: 'mapped',
  reasoning_effort: 'mapped',
  logit_bias: refuse((v) => Object.keys(v as object).length > 0, 'does not support logit_bias.'),
  logprobs: refuse(isTrue, 'does not return log probabilities (logprobs).'),
  top_logprobs: refuse((v) => typeof v === 'number' && v > 0, 'does not return log probabilities (top_logprobs).'),
  audio: refuse(() => true, 'does not produce audio output.'),
  modalities: refuse((v) => Array.isArray(v) && v.some((m) => m !== 'text'), 'only produces text output (modalities).'),
  functions: refuse(() => true, 'is reachable with `tools` only; the deprecated `functions` parameter is not translated.'),
  function_call: refuse(() => true, 'is reachable with `tool_choice` only; the deprecated `function_call` parameter is not translated.'),
  web_search_options: refuse(() => true, 'does not run OpenAI web search (web_search_options).'),
  moderation: 'dropped',
  metadata: 'dropped',
  store: 'dropped',
  service_tier: 'dropped',
  prediction: 'dropped',
  prompt_cache_key: 'dropped',
  prompt_cache_options: 'dropped',
  prompt_cache_retention: 'dropped',
  verbosity: 'dropped',
} satisfies Partial<ParamTable>;

/**
 * Refuses, with a 400 naming the parameter, every value the vendor's table cannot
 * honour. Parameters OpenAI does not define are not in the table and are ignored.
 * (The Responses API codec checks its own parameters with the same function.)
 */
export function checkParams<T extends object>(request: T, table: ParamTable<T>, vendor: string): void {
  for (const key of Object.keys(request) as (keyof T)[]) {
    const why = refusal(table, key, request[key]);
    if (why) throw GatewayError.badRequest(`${vendor} ${why}`, String(key), 'unsupported_parameter');
  }
}

/** Why the table cannot honour `value` for parameter `key`; undefined when it can (an unset value, or no rule that refuses). */
export function refusal<T extends object>(table: ParamTable<T>, key: keyof T, value: unknown): string | undefined {
  // Own entries only: a field named like an Object.prototype member (`valueOf`, `constructor`) is not a rule.
  const rule = Object.hasOwn(table, key) ? table[key] : undefined;
  return typeof rule === 'function' && value != null ? rule(value) : undefined;
}

/** The completion budget the client asked for, by either of OpenAI's names. */
export function maxTokensOf(request: ChatCompletionCreateParams): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/**
 * The client's stop strings without empty ones, which stop at nothing (and Anthropic refuses them);
 * undefined when none is left.
 */
export function stopSequences(request: ChatCompletionCreateParams): string[] | undefined {
  const stop = request.stop;
  if (stop == null) return undefined;
  const sequences = (typeof stop === 'string' ? [stop] : stop).filter((s) => s !== '');
  return sequences.length ? sequences : undefined;
}

/** True when the client asked to see the model's reasoning. */
export function wantsReasoning(request: ChatCompletionCreateParams): boolean {
  return request.reasoning_effort != null && request.reasoning_effort !== 'none';
}

/** What `response_format` asks for, independent of how a vendor enforces it. */
export type OutputFormat =
  { kind: 'text' } | { kind: 'json_object' } | { kind: 'json_schema'; name: string; schema: Record<string, unknown> };

export function outputFormat(request: ChatCompletionCreateParams): OutputFormat {
  const format = request.response_format;
  if (!format || format.type === 'text') return { kind: 'text' };
  if (format.type === 'json_object') return { kind: 'json_object' };
  if (format.type === 'json_schema' && format.json_schema?.schema) {
    return { kind: 'json_schema', name: format.json_schema.name, schema: format.json_schema.schema };
  }
  throw GatewayError.badRequest("response_format json_schema needs a 'schema'.", 'response_format.json_schema.schema', 'invalid_value');
}

export type Effort = Exclude<NonNullable<ChatCompletionCreateParams['reasoning_effort']>, 'none'>;

/** Thinking tokens granted per effort level, for models that take a budget rather than a level. */
export const THINKING_BUDGET: Record<Effort, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 32768,
  max: 65536,
};

/**
 * The thinking budget for an effort level (THINKING_BUDGET), capped at half the output limit: Claude's
 * max_tokens and Gemini 2.5's maxOutputTokens count the thinking too, so an uncapped budget could leave the
 * answer a token (or Gemini's nothing at all, finish_reason length). Undefined when the capped budget is
 * under the vendor's `minimum`: no room to think worth the name, so no thinking is asked for.
 */
export function thinkingBudget(effort: Effort, outputLimit: number | undefined, minimum: number, maximum = Infinity): number | undefined {
  const budget = Math.min(THINKING_BUDGET[effort], maximum, outputLimit === undefined ? Infinity : Math.floor(outputLimit / 2));
  return budget >= minimum ? budget : undefined;
}
