import { createHash } from 'node:crypto';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../wire';

/**
 * OpenAI's longest end-user identifier (`user`, `safety_identifier`): a longer one is a 400
 * (`string_above_max_length`), and Claude Code sends a ~150-character `metadata.user_id`
 * (Messages API), which becomes `user`, with every request.
 */
const END_USER_MAX = 64;
/** OpenAI's longest tool-call id (`tool_calls[].id`, `tool_call_id`): a longer one is a 400. */
const CALL_ID_MAX = 40;
const END_USER_FIELDS = ['user', 'safety_identifier'] as const;

/**
 * An end-user identifier OpenAI takes: as it is when it fits, else the SHA-256 hex of it (64
 * characters). The same identifier always gives the same value, so OpenAI's per-user abuse
 * tracking still tells users apart, where a cut to 64 characters would merge every identifier
 * sharing that prefix (Claude Code's all begin `{"device_id":"` and differ after).
 */
export function fittedEndUser(value: string): string {
  return value.length <= END_USER_MAX ? value : createHash('sha256').update(value).digest('hex');
}

/**
 * A tool-call id OpenAI takes: as it is when it fits, else `call_` and 35 characters of its
 * SHA-256 (base64url), 40 in all. Stateless and the same for a call and its result, so a request's
 * history keeps its pairs without the gateway remembering anything (another vendor's or a
 * client's long ids: vLLM's `chatcmpl-tool-<uuid>` is 46).
 */
export function fittedCallId(id: string): string {
  if (id.length <= CALL_ID_MAX) return id;
  return `call_${createHash('sha256')
    .update(id)
    .digest('base64url')
    .slice(0, CALL_ID_MAX - 5)}`;
}

/** `user` and `safety_identifier` as fittedEndUser has them, written into `body` (the upstream's copy of the request). */
export function fitEndUserFields(request: ChatCompletionCreateParams, body: Record<string, unknown>): void {
  for (const field of END_USER_FIELDS) {
    const value = request[field];
    if (typeof value === 'string' && value.length > END_USER_MAX) body[field] = fittedEndUser(value);
  }
}

const longId = (id: unknown) => typeof id === 'string' && id.length > CALL_ID_MAX;
const hasLongIds = (message: ChatCompletionMessageParam) =>
  message.role === 'tool'
    ? longId(message.tool_call_id)
    : message.role === 'assistant' && !!message.tool_calls?.some((call) => longId(call.id));

/** The history with every tool-call id over 40 characters fitted (fittedCallId); the same array when none is. */
export function withFittedCallIds(messages: ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  if (!messages.some(hasLongIds)) return messages;
  return messages.map((message) => {
    if (!hasLongIds(message)) return message;
    if (message.role === 'tool') return { ...message, tool_call_id: fittedCallId(message.tool_call_id) };
    const calls = (message as { tool_calls: { id: string }[] }).tool_calls;
    return { ...message, tool_calls: calls.map((call) => ({ ...call, id: fittedCallId(call.id) })) } as ChatCompletionMessageParam;
  });
}
