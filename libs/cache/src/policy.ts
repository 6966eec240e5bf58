import type { CacheConfig } from '@gateway/config';
import type { ChatCompletion, ChatCompletionCreateParams } from '@gateway/providers';

/** Finish reasons of a complete answer worth replaying; tool calls only when configured. */
const COMPLETE = new Set(['stop', 'length']);
const TOOL_CALLS = new Set(['tool_calls', 'function_call']);

type Message = ChatCompletion['choices'][number]['message'] & { function_call?: { arguments?: unknown } | null };

/**
 * A sampling temperature above the ceiling asks for variety: such requests bypass the cache. OpenAI's default is 1.
 * So do requests with an image by URL, unless `remoteMediaUrls` (sendsRemoteMedia).
 */
export function cacheableRequest(request: ChatCompletionCreateParams, config: CacheConfig): boolean {
  return (request.temperature ?? 1) <= config.maxTemperature && (config.remoteMediaUrls || !sendsRemoteMedia(request));
}

/**
 * Whether a message sends media by URL (chat `image_url`, which the Messages and Responses URL sources become; vLLM's
 * `video_url` and `audio_url`, each also as a bare string, which vLLM takes): the key holds the URL, not what the vendor
 * fetches when it answers (a chart render, a webcam, `latest.png`), so a hit could answer about what the URL served
 * before (media34 D5, recheck34c D1). A miss costs a call; that hit is a wrong answer. Files go inline or by an OpenAI
 * file id, whose content never changes.
 */
function sendsRemoteMedia(request: ChatCompletionCreateParams): boolean {
  return request.messages.some(
    (message) => Array.isArray(message.content) && (message.content as unknown as Record<string, unknown>[]).some(isRemoteMedia),
  );
}

const URL_PARTS = ['image_url', 'video_url', 'audio_url'];

function isRemoteMedia(part: Record<string, unknown>): boolean {
  if (typeof part.type !== 'string' || !URL_PARTS.includes(part.type)) return false;
  const value = part[part.type] as { url?: unknown } | string | undefined;
  const url = typeof value === 'string' ? value : value?.url;
  return typeof url === 'string' && !/^data:/i.test(url);
}

/** What a completion that may be stored was billed for, and how long it may be served at most. */
export interface Cacheable {
  promptTokens: number;
  completionTokens: number;
  /**
   * Unix seconds: the first `expires_at` of its audio. A later turn refers to an audio answer by its id, which
   * OpenAI forgets then: a hit after it would hand out an id no longer known.
   */
  expiresAt?: number;
}

/**
 * The usage of a completion that may be stored, or undefined when it must not be (an audio answer already expired too).
 * `limitOwn`: false when the output limit the upstream was sent was not the request's (its key's budget set it): an
 * answer cut by it (`length`) is no answer to replay to a request that has no such limit.
 */
export function cacheableCompletion(
  body: string,
  config: CacheConfig,
  nowSeconds = Date.now() / 1000,
  limitOwn = true,
): Cacheable | undefined {
  let completion: ChatCompletion;
  try {
    completion = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (completion?.object !== 'chat.completion' || !completion.choices?.length) return undefined;
  let expiresAt: number | undefined;
  for (const choice of completion.choices) {
    const reason = choice.finish_reason;
    if (!COMPLETE.has(reason) && !(config.toolCallResponses && TOOL_CALLS.has(reason))) return undefined;
    if (reason === 'length' && !limitOwn) return undefined;
    // By what the answer holds, not only by its finish reason: some servers end tool calls with
    // `stop` (and one cut short by `length` is no call to replay). A refusal is not replayed either.
    const message = choice.message as Message | undefined;
    const calls = callsTools(message);
    if (message?.refusal || (calls && (!config.toolCallResponses || reason === 'length' || !wellFormedCalls(message!)))) return undefined;
    // Nothing in it (a glitch, or a reasoning model that spent its whole max_tokens thinking): replayed for the
    // TTL it would answer every retry with nothing.
    if (!calls && !message?.audio && !(typeof message?.content === 'string' ? message.content.trim() : message?.content)) return undefined;
    const audioExpiry = message?.audio?.expires_at;
    if (typeof audioExpiry === 'number') expiresAt = Math.min(expiresAt ?? audioExpiry, audioExpiry);
  }
  if (expiresAt !== undefined && expiresAt <= nowSeconds) return undefined;
  return {
    promptTokens: completion.usage?.prompt_tokens ?? 0,
    completionTokens: completion.usage?.completion_tokens ?? 0,
    ...(expiresAt !== undefined && { expiresAt }),
  };
}

/** Whether a message calls tools (or a function), by what it holds, not by its finish reason. */
function callsTools(message: Message | undefined): boolean {
  return Boolean(message?.tool_calls?.length || message?.function_call);
}

/** A field only an answer that may call tools has: only such a body is parsed by servableAnswer. */
const TOOL_CALL_FIELD = /"(tool_calls|function_call)"/;

/**
 * Whether a stored answer may be served under the config as it is now. One calling tools is not while
 * `toolCallResponses` is off: it was stored while it was on (before a rolling restart turned it off, or by a replica
 * still on the old config), and would not be stored now. Answers that cannot call tools are not parsed.
 */
export function servableAnswer(body: string, config: CacheConfig): boolean {
  if (config.toolCallResponses || !TOOL_CALL_FIELD.test(body)) return true;
  try {
    const completion = JSON.parse(body) as ChatCompletion;
    return !completion.choices?.some((choice) => callsTools(choice.message as Message));
  } catch {
    return false;
  }
}

/** The TTL an answer is stored with: `ttlSeconds`, or less when its audio expires sooner (Cacheable.expiresAt). */
export function keptSeconds(ttlSeconds: number, expiresAt: number | undefined, nowSeconds = Date.now() / 1000): number {
  if (expiresAt === undefined) return ttlSeconds;
  return Math.max(1, Math.min(ttlSeconds, Math.floor(expiresAt - nowSeconds)));
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
