import type { CacheConfig } from '@gateway/config';
import type { ChatCompletion, ChatCompletionCreateParams } from '@gateway/providers';

/** Finish reasons of a complete answer worth replaying; tool calls only when configured. */
const COMPLETE = new Set(['stop', 'length']);
const TOOL_CALLS = new Set(['tool_calls', 'function_call']);

/** A sampling temperature above the ceiling asks for variety: such requests bypass the cache. OpenAI's default is 1. */
export function cacheableRequest(request: ChatCompletionCreateParams, config: CacheConfig): boolean {
  return (request.temperature ?? 1) <= config.maxTemperature;
}

/** The usage of a completion that may be stored, or undefined when it must not be. */
export function cacheableCompletion(body: string, config: CacheConfig): { promptTokens: number; completionTokens: number } | undefined {
  let completion: ChatCompletion;
  try {
    completion = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (completion?.object !== 'chat.completion' || !completion.choices?.length) return undefined;
  for (const choice of completion.choices) {
    const reason = choice.finish_reason;
    if (!COMPLETE.has(reason) && !(config.toolCallResponses && TOOL_CALLS.has(reason))) return undefined;
    // By what the answer holds, not only by its finish reason: some servers end tool calls with
    // `stop` (and one cut short by `length` is no call to replay). A refusal is not replayed either.
    const message = choice.message as (typeof choice.message & { function_call?: unknown }) | undefined;
    const calls = Boolean(message?.tool_calls?.length || message?.function_call);
    if (message?.refusal || (calls && (!config.toolCallResponses || reason === 'length'))) return undefined;
  }
  return { promptTokens: completion.usage?.prompt_tokens ?? 0, completionTokens: completion.usage?.completion_tokens ?? 0 };
}
