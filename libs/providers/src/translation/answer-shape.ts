import { type Check, type Fields, fieldsOf, isObject, isString, listOf, under } from './chunk-shape';

/**
 * The type checks of Anthropic's and Gemini's non-streamed answers, the fields their translation to a chat
 * completion reads, on chunk-shape.ts's terms (missing or `null` allowed, unless named required here).
 * `content: null`, `parts: 7`, `[null]` threw a TypeError there ("content is not iterable": the gateway's
 * 500, not failed over) and a tool_use `id: 7, name: null` went out as a chat tool call of those types.
 */

const isList: Check = Array.isArray;

/** A Messages API `message`: `content` a list of blocks, each an object; the blocks the translation reads, their fields. */
export function misTypedMessageField(message: Record<string, unknown>): string | undefined {
  if (!isList(message.content)) return 'content';
  return listOf(message.content, 'content', blockField);
}

/**
 * The fields of each block type the translation reads that Anthropic's types give every such block
 * (`text`'s text, `thinking`'s text, `redacted_thinking`'s data, a call's id, name and input): missing or
 * `null` is no answer either. A text block with `text: null` or none went out to chat and Responses
 * clients as the words "null" / "undefined". A thinking block's `signature` is not among them: Anthropic
 * always sends one, but Anthropic-compatible servers (DeepSeek's, Kimi's) send their thinking unsigned.
 */
const REQUIRED_BLOCK_FIELDS: Record<string, Fields> = {
  text: [['text', isString]],
  tool_use: [
    ['id', isString],
    ['name', isString],
    ['input', isObject],
  ],
  thinking: [['thinking', isString]],
  redacted_thinking: [['data', isString]],
};
/** What a block may leave out, of the type the translation reads when it is there. */
const OPTIONAL_BLOCK_FIELDS: Record<string, Fields> = { thinking: [['signature', isString]] };

function blockField(block: unknown): string | undefined {
  if (!isObject(block) || !isString(block.type)) return isObject(block) ? 'type' : '';
  const type = block.type as string;
  const required = REQUIRED_BLOCK_FIELDS[type]?.find(([key, check]) => !check(block[key]))?.[0];
  const optional = OPTIONAL_BLOCK_FIELDS[type];
  return required ?? (optional && fieldsOf(block, optional));
}

/** A Gemini `GenerateContentResponse`: `candidates` a list of objects, each one's `content.parts` a list of parts. */
export function misTypedCandidatesField(response: Record<string, unknown>): string | undefined {
  return fieldsOf(response, [['candidates', isList]]) ?? listOf(response.candidates, 'candidates', candidateField);
}

function candidateField(candidate: unknown): string | undefined {
  if (!isObject(candidate)) return '';
  const content = candidate.content;
  if (content == null) return undefined;
  if (!isObject(content)) return 'content';
  return under('content', fieldsOf(content, [['parts', isList]]) ?? listOf(content.parts, 'parts', partField));
}

const PART_FIELDS: Fields = [
  ['text', isString],
  ['thoughtSignature', isString],
  ['functionCall', isObject],
];
const CALL_FIELDS: Fields = [
  ['id', isString],
  ['name', isString],
  ['args', isObject],
];

function partField(part: unknown): string | undefined {
  if (!isObject(part)) return '';
  const call = part.functionCall;
  return fieldsOf(part, PART_FIELDS) ?? (isObject(call) ? under('functionCall', fieldsOf(call, CALL_FIELDS)) : undefined);
}
