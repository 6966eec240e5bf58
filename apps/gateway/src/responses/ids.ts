import { randomBytes } from 'node:crypto';
import { GatewayError, requestJson } from '@gateway/providers';

/**
 * Ids of a response and of its output items. An item id carries its response's
 * id (`msg_<response>_<n>`), so an `item_reference` finds its stored response
 * without an index of items.
 */
export function newResponseId(): string {
  return `resp_${randomBytes(18).toString('hex')}`;
}

export type ItemKind = 'msg' | 'fc' | 'ctc' | 'tsc' | 'rs';

export function itemId(responseId: string, kind: ItemKind, index: number): string {
  return `${kind}_${responseId.slice('resp_'.length)}_${index}`;
}

/**
 * Id of the item at `index` in a response's input items list that has no id of the client's
 * (`msg_<response>_in<n>`, input-items.ts): apart from output item ids, and carrying its
 * response's id too, so an `item_reference` to an item the list shows finds it.
 */
export function inputItemId(responseId: string, prefix: string, index: number): string {
  return `${prefix}_${responseId.slice('resp_'.length)}_in${index}`;
}

/** The response an item id belongs to (as an output or an input item), when it is one of ours. */
export function responseIdOfItem(id: string): string | undefined {
  const m = /^(?:msg|fc|fco|ctc|ctco|tsc|tso|rs)_([0-9a-f]{36})_(?:in)?\d+$/.exec(id);
  return m ? `resp_${m[1]}` : undefined;
}

const RESPONSE_ID = /^resp_[0-9a-f]{36}$/;

export function isResponseId(id: string): boolean {
  return RESPONSE_ID.test(id);
}

/**
 * Vendor reasoning state (Anthropic's signed thinking blocks) travels in the
 * reasoning item's `encrypted_content`, which clients send back unchanged: the
 * next turn then replays the signed blocks, as Anthropic requires in tool loops.
 */
export function encodeThinking(blocks: unknown[] | undefined): string | undefined {
  return blocks?.length ? Buffer.from(JSON.stringify(blocks)).toString('base64url') : undefined;
}

/**
 * The blocks in `encrypted` (at `param` in the request), or undefined when it is not the gateway's
 * (OpenAI's own, say): nothing to replay. JSON that decodes to an array is the gateway's format, so a
 * block in it of another shape was altered, and a 400 naming the parameter, not a failure further in.
 */
export function decodeThinking(encrypted: string | null | undefined, param: string): unknown[] | undefined {
  if (!encrypted) return undefined;
  // Someone else's encrypted content (e.g. from OpenAI itself) is no JSON: nothing we can replay.
  const blocks = requestJson(Buffer.from(encrypted, 'base64url').toString('utf8'), param);
  if (!Array.isArray(blocks)) return undefined;
  if (!blocks.every(isThinkingBlock)) {
    throw GatewayError.badRequest(`Invalid '${param}': it is not encrypted content this gateway returned.`, param, 'invalid_value');
  }
  return blocks;
}

/** The block types encodeThinking is given (Anthropic's, and gemini/signatures.ts's), and their string fields. */
const BLOCK_FIELDS: Record<string, { required: string[]; optional: string[] }> = {
  thinking: { required: ['thinking'], optional: ['signature'] },
  redacted_thinking: { required: ['data'], optional: [] },
};

function isThinkingBlock(block: unknown): boolean {
  if (typeof block !== 'object' || block === null) return false;
  const fields = BLOCK_FIELDS[(block as { type?: unknown }).type as string];
  const value = (field: string) => (block as Record<string, unknown>)[field];
  return (
    fields !== undefined &&
    fields.required.every((field) => typeof value(field) === 'string') &&
    fields.optional.every((field) => value(field) === undefined || typeof value(field) === 'string')
  );
}
