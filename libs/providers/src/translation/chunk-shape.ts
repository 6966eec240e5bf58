/**
 * The type checks of a chat completion chunk parsed from an OpenAI-format upstream: the fields the
 * codecs read (the Messages and Responses encoders, the cache, the pass-through's first event), each
 * of the type they read it as. Missing or `null`, each is allowed: servers' first and last chunks leave
 * out what they have not got. A field of another type (a tool call `id` that is a number, `arguments`
 * an object, `content` an object, `index` a string) made the codecs throw a TypeError, the gateway's
 * "internal error", or write it out as it was. Fields the codecs do not read are not looked at.
 */

export type Check = (value: unknown) => boolean;

export const isString: Check = (value) => typeof value === 'string';
const isNumber: Check = (value) => typeof value === 'number';
/** A token count: a whole number, not negative (accounting.ts bills nothing else). */
const isCount: Check = (value) => Number.isSafeInteger(value) && (value as number) >= 0;
/**
 * A delta's `content`: text, or a list of parts (Mistral's reasoning models stream `thinking` and `text`
 * parts so): the chat pass-through carries such a stream as it came; the codecs read it as text and
 * reasoning (flattenContentParts).
 */
const isContent: Check = (value) => typeof value === 'string' || (Array.isArray(value) && value.every(isObject));

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Where in a chunk the first field of the wrong type is (`choices[0].delta.content`), undefined when none is.
 * Each level returns the path below it, which its caller prefixes: no path is built for a chunk that passes.
 */
export function misTypedField(chunk: Record<string, unknown>): string | undefined {
  return fieldsOf(chunk, CHUNK_FIELDS) ?? listOf(chunk.choices, 'choices', chunkChoiceField);
}

/**
 * The same checks on a non-streamed `chat.completion` (the cache and the Messages and Responses codecs
 * read it as they read chunks, with a choice's `message` where a chunk has its `delta`), which must have
 * `choices`: a list of objects. `"choices":[null]` went out as a 200, then the cache's store threw on it.
 * Its usage's counts are not looked at here: usage that is not counts is no usage (misTypedUsageField).
 */
export function misTypedAnswerField(answer: Record<string, unknown>): string | undefined {
  if (!Array.isArray(answer.choices)) return 'choices';
  return fieldsOf(answer, CHUNK_FIELDS) ?? listOf(answer.choices, 'choices', answerChoiceField);
}

/**
 * Where in an answer's usage a count of the wrong type is (`usage.prompt_tokens`), undefined when none is.
 * Such usage is no usage: the answer is served without it, and billed as estimated (as on a stream).
 */
export function misTypedUsageField(answer: Record<string, unknown>): string | undefined {
  return misTypedUsage(answer.usage);
}

export type Fields = readonly (readonly [string, Check])[];

const CHUNK_FIELDS: Fields = [
  ['id', isString],
  ['model', isString],
  ['usage', isObject],
  ['choices', Array.isArray],
];
const CHOICE_FIELDS: Fields = [
  ['index', isNumber],
  ['finish_reason', isString],
];
const DELTA_FIELDS: Fields = [
  ['role', isString],
  ['content', isContent],
  ['refusal', isString],
  ['reasoning_content', isString],
  ['tool_calls', Array.isArray],
  ['thinking_blocks', Array.isArray],
  // The cache joins a stream's audio pieces and annotations, and replays a stored answer's.
  ['audio', isObject],
  ['annotations', Array.isArray],
];
const AUDIO_FIELDS: Fields = [
  ['id', isString],
  ['data', isString],
  ['transcript', isString],
  ['expires_at', isNumber],
];
const CALL_FIELDS: Fields = [
  ['index', isNumber],
  ['id', isString],
  ['type', isString],
  ['function', isObject],
];
const FUNCTION_FIELDS: Fields = [
  ['name', isString],
  ['arguments', isString],
];
const BLOCK_FIELDS: Fields = [
  ['type', isString],
  ['thinking', isString],
  ['signature', isString],
  ['data', isString],
];

const chunkChoiceField = choiceField('delta');
const answerChoiceField = choiceField('message');

/** A choice's checks, its text (and calls) under `key`: a chunk's `delta`, an answer's `message`. */
function choiceField(key: 'delta' | 'message'): (choice: unknown) => string | undefined {
  return (choice) => {
    if (!isObject(choice)) return '';
    const body = choice[key];
    if (body != null && !isObject(body)) return key;
    return fieldsOf(choice, CHOICE_FIELDS) ?? (isObject(body) ? under(key, deltaField(body)) : undefined);
  };
}

function deltaField(delta: Record<string, unknown>): string | undefined {
  return (
    fieldsOf(delta, DELTA_FIELDS) ??
    listOf(delta.tool_calls, 'tool_calls', callField) ??
    listOf(delta.thinking_blocks, 'thinking_blocks', blockField) ??
    (isObject(delta.audio) ? under('audio', fieldsOf(delta.audio, AUDIO_FIELDS)) : undefined)
  );
}

function callField(call: unknown): string | undefined {
  if (!isObject(call)) return '';
  const fn = call.function;
  return fieldsOf(call, CALL_FIELDS) ?? (isObject(fn) ? under('function', fieldsOf(fn, FUNCTION_FIELDS)) : undefined);
}

function blockField(block: unknown): string | undefined {
  return isObject(block) ? fieldsOf(block, BLOCK_FIELDS) : '';
}

/**
 * Where in `usage` a token count (`*_tokens`, in the usage and in its breakdowns, `*_details`) is no count (a string,
 * a negative or fractional number), undefined when none is: cost and the codecs' usage add them up (a string made a
 * sum text), and the client would get them as they came though they are billed as estimated. A breakdown that is no object is
 * read as none, as before. Such usage is no usage, on every route, streamed or not: the answer is served without it
 * and billed as estimated.
 */
export function misTypedUsage(usage: unknown): string | undefined {
  if (!isObject(usage)) return undefined;
  for (const key in usage) {
    const value = usage[key];
    if (key.endsWith('_tokens') && value != null && !isCount(value)) return `usage.${key}`;
    if (key.endsWith('_details') && isObject(value))
      for (const count in value)
        if (count.endsWith('_tokens') && value[count] != null && !isCount(value[count])) return `usage.${key}.${count}`;
  }
  return undefined;
}

/** The first of `fields` present in `object` (not null) that fails its check, by name. */
export function fieldsOf(object: Record<string, unknown>, fields: Fields): string | undefined {
  for (let i = 0; i < fields.length; i++) {
    const [key, check] = fields[i]!;
    const value = object[key];
    if (value != null && !check(value)) return key;
  }
  return undefined;
}

/** The first path `field` finds in an item of `list` (when it is one), under `name[i]`; '' names the item itself. */
export function listOf(list: unknown, name: string, field: (item: unknown) => string | undefined): string | undefined {
  if (!Array.isArray(list)) return undefined;
  for (let i = 0; i < list.length; i++) {
    const found = field(list[i]);
    if (found !== undefined) return `${name}[${i}]${found && `.${found}`}`;
  }
  return undefined;
}

/** `path` (when there is one) under `name`. */
export function under(name: string, path: string | undefined): string | undefined {
  return path === undefined ? undefined : `${name}.${path}`;
}

/**
 * A delta whose `content` is a list of parts (Mistral's reasoning models: `{type: "thinking", thinking:
 * [{type: "text", text}]}` and `{type: "text", text}`) made text and reasoning as the codecs read them:
 * `content` its text parts, `reasoning_content` its thinking, in place. Parts of other types carry neither.
 */
export function flattenContentParts(chunk: Record<string, unknown>): void {
  if (!Array.isArray(chunk.choices)) return;
  for (const choice of chunk.choices as Record<string, unknown>[]) {
    if (isObject(choice.delta)) readParts(choice.delta);
  }
}

/** A non-streamed answer's message with `content` as text and reasoning, as flattenContentParts does a delta's (a copy). */
export function withTextContent<M extends object>(message: M): M {
  const content = (message as { content?: unknown }).content;
  if (!Array.isArray(content)) return message;
  const copy = { ...message } as M & Record<string, unknown>;
  readParts(copy);
  return copy;
}

function readParts(holder: Record<string, unknown>): void {
  if (!Array.isArray(holder.content)) return;
  let text = '';
  let thinking = '';
  for (const part of holder.content as unknown[]) {
    if (!isObject(part)) continue;
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
    else if (part.type === 'thinking') thinking += textOf(part.thinking);
  }
  holder.content = text || null;
  if (thinking) holder.reasoning_content = (typeof holder.reasoning_content === 'string' ? holder.reasoning_content : '') + thinking;
}

/** A thinking part's text: a string, or the text of its own `text` parts. */
function textOf(thinking: unknown): string {
  if (typeof thinking === 'string') return thinking;
  if (!Array.isArray(thinking)) return '';
  return thinking.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : '')).join('');
}

/**
 * Where in a chunk the gateway writes itself (a vendor's stream translated, ChunkFrames) the first field of the
 * wrong type is: its `id` or `model`, or in `delta` (under `choices[choice].delta`), as misTypedField reads a parsed
 * chunk. What a vendor sent of another type (Anthropic's `text` a number, a Gemini part's `text` an object) went out
 * in the chunk as it was, or made the cache's collector throw.
 */
export function misTypedFrame(head: Record<string, unknown>, delta: Record<string, unknown> | undefined, choice = 0): string | undefined {
  return fieldsOf(head, CHUNK_FIELDS) ?? (delta && under(`choices[${choice}].delta`, deltaField(delta)));
}
