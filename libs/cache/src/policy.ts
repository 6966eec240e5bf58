import type { CacheConfig } from '@gateway/config';
import type { ChatCompletion, ChatCompletionCreateParams } from '@gateway/providers';

/** Finish reasons of a complete answer worth replaying; tool calls only when configured. */
const COMPLETE = new Set(['stop', 'length']);
const TOOL_CALLS = new Set(['tool_calls', 'function_call']);

type Message = ChatCompletion['choices'][number]['message'] & { function_call?: { arguments?: unknown } | null };

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
    const message = choice.message as Message | undefined;
    const calls = Boolean(message?.tool_calls?.length || message?.function_call);
    if (message?.refusal || (calls && (!config.toolCallResponses || reason === 'length' || !wellFormedCalls(message!)))) return undefined;
    // Nothing in it (a glitch, or a reasoning model that spent its whole max_tokens thinking): replayed for the
    // TTL it would answer every retry with nothing.
    if (!calls && !message?.audio && !(typeof message?.content === 'string' ? message.content.trim() : message?.content)) return undefined;
  }
  return { promptTokens: completion.usage?.prompt_tokens ?? 0, completionTokens: completion.usage?.completion_tokens ?? 0 };
}

/**
 * Every function call's arguments are a JSON object, as the tool's schema asks: a model's glitch or a
 * cut generation (`{"city": "Par`) is no complete answer, and replayed for the whole TTL it would fail
 * every retry of the agent's loop. None at all (`""`) is a call without arguments, as some servers send
 * it (the codecs read it as `{}`). A custom tool's call carries free text (`custom.input`), not JSON.
 */
function wellFormedCalls(message: Message): boolean {
  const functions = (message.tool_calls ?? []).flatMap((call) => ('function' in call && call.function ? [call.function] : []));
  if (message.function_call) functions.push(message.function_call as { name: string; arguments: string });
  return functions.every((fn) => noneOrJsonObject(fn.arguments));
}

function noneOrJsonObject(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  if (!text.trim()) return true;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
