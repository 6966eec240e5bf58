import { hash } from 'node:crypto';
import { type ChatCompletionCreateParams, type ChatCompletionMessageParam, maxTokensOf } from '@gateway/providers';

/** Whose cache a request may use: one tenant never receives another's answer. */
export interface CacheScope {
  /** A gateway key, or a configured cache scope. */
  tenant: string;
  /** The gateway key the request came with, whatever the scope: its share of the embedder's queue. */
  keyId?: string;
  /** The resolved public model group (aliases share one cache). */
  modelGroup: string;
  /** What the client's protocol asked that the chat params do not carry (NativeRequest.keyExtras). */
  extras?: Record<string, unknown>;
}

export interface CacheKeys {
  /**
   * Everything but the last message's content: tenant, model group, system prompt, tools,
   * response_format, every output-changing parameter, the earlier turns and the last
   * message's other fields (its `name`). A semantic hit is only possible inside one namespace.
   */
  namespace: string;
  /** The namespace plus the last message: the exact layer's key. */
  exact: string;
  /**
   * The last message's text when it is a plain-text user turn with something visible in it, no longer than the
   * semantic layer embeds: what it embeds. A prompt of nothing but HIDDEN characters and white space, or a
   * longer one, is cached exactly only.
   */
  prompt?: string;
}

/**
 * Request fields that cannot change the answer. Everything else (including parameters
 * the gateway does not know yet) is part of the key, so an unknown parameter can only
 * cause a miss, never a wrong hit. `model` is replaced by the model group.
 */
const NOT_IN_KEY = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/**
 * OpenAI's two names of the output limit. The upstream receives one of them (maxTokensOf), so a
 * chat client's `max_tokens` and the `max_completion_tokens` the Messages and Responses codecs
 * write ask the same: the key holds the limit once, under one name.
 */
const OUTPUT_LIMIT = new Set(['max_tokens', 'max_completion_tokens']);

/**
 * `maxPromptChars`: the longest prompt the semantic layer embeds (semantic.maxPromptChars). A longer one is looked
 * for no hidden characters: it has no semantic neighbours, and its exact key holds them with the rest of its text.
 * A scan of a prompt up to the 4 MB body limit took 185 ms for 1M zero-width characters, on the event loop.
 */
export function cacheKeys(request: ChatCompletionCreateParams, scope: CacheScope, maxPromptChars = Infinity): CacheKeys {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    // An explicit null means "the default", as an absent field does.
    if (!NOT_IN_KEY.has(key) && !OUTPUT_LIMIT.has(key) && value !== null && value !== undefined) params[key] = value;
  }
  const limit = maxTokensOf(request);
  if (limit !== undefined) params.max_completion_tokens = limit;
  const messages = request.messages;
  const last = messages[messages.length - 1];
  const { content: _content, ...lastFields } = last;
  const text = last.role === 'user' ? plainText(last) : undefined;
  const prompt = text !== undefined && text.length <= maxPromptChars ? text : undefined;
  const hidden = prompt?.replace(SHOWN, '');
  // Only a prompt that hides characters has them in its namespace: every other request keeps its key across an upgrade.
  const fields = [scope.tenant, scope.modelGroup, params, messages.slice(0, -1), lastFields, scope.extras, ...(hidden ? [hidden] : [])];
  const namespace = sha256(canonicalJson(fields));
  const exact = sha256(`${namespace}:${canonicalJson(last)}`);
  return { namespace, exact, prompt: prompt !== undefined && VISIBLE.test(prompt) ? prompt : undefined };
}

/**
 * Characters that show nothing, as a character class's contents: format characters (zero-width ones, bidi
 * controls, the soft hyphen, Unicode tags, which spell ASCII unseen: "ASCII smuggling"), variation selectors
 * (bytes hidden after an emoji: "emoji smuggling") and fillers (Default_Ignorable_Code_Point), controls (but tab
 * and line breaks, which show: SHOWN), lone surrogates, private-use and unassigned code points. A model reads
 * them; the embedder and the guard do not, so a prompt with a hidden instruction would embed as the same prompt
 * without it, and be served its answer or poison it. Those hidden in a prompt are part of its namespace, where
 * every semantic neighbour is looked for: prompts whose hidden characters differ are never each other's
 * neighbours, whatever the embedder or the guard make of them, while a prompt keeps its paraphrases that hide the
 * same (a ZWJ emoji sequence, a flag's tag sequence, VS16 after an emoji) and an identical prompt its exact hit.
 */
const HIDDEN = String.raw`\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cs}\p{Co}\p{Cn}`;
/**
 * What shows, in runs, removed to leave the hidden characters: a quarter of the time of matching each hidden
 * character and joining them (26 ms against 103 for 1M zero-width characters), and no array of them.
 */
const SHOWN = new RegExp(String.raw`[^${HIDDEN}]+|[\t\n\r]+`, 'gu');
/** A character that shows and is not white space: found at the first one, without a copy of the prompt. */
const VISIBLE = new RegExp(String.raw`[^${HIDDEN}\s]`, 'u');

/** JSON with object keys sorted at every level, so equal requests hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object)
    .filter((k) => object[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
}

/** The message's text when it is text only (a string, or text parts); images and audio are not embedded. */
function plainText(message: ChatCompletionMessageParam): string | undefined {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type !== 'text') return undefined;
    texts.push(part.text);
  }
  return texts.join('\n');
}

/** One-shot `crypto.hash`: a third of `createHash().update().digest()`'s time for short inputs (no Hash object). */
function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}
