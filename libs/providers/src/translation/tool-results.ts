import type { ChatCompletionContentPart, ChatCompletionToolMessageParam } from 'openai/resources/chat/completions';

/**
 * How a tool message says its tool failed (a Messages tool_result's `is_error`): chat tool messages have
 * no such field, so the text says it, for the model to read. The Gemini adapter sends a tool message
 * that starts with it as Gemini's documented `error` key of the function response (toolResponse).
 */
export const TOOL_ERROR_MARK = 'Error: ';

/**
 * What a tool returned, for the ingress codecs (Messages tool_result blocks, Responses
 * function_call_output items). Chat Completions tool messages hold text only, and no upstream
 * takes an image there: the text is the tool message, the images and files go in a user message
 * after the round's tool messages (a user message between them would break the round).
 * `failed`: the tool reported a failure (`is_error`): the text is marked (TOOL_ERROR_MARK).
 */
export function toolResult(
  toolCallId: string,
  parts: ChatCompletionContentPart[],
  failed = false,
): { message: ChatCompletionToolMessageParam; media: ChatCompletionContentPart[] } {
  const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
  const content = failed ? `${TOOL_ERROR_MARK}${text || 'the tool failed and returned no output.'}` : text;
  return { message: { role: 'tool', tool_call_id: toolCallId, content }, media: parts.filter((p) => p.type !== 'text') };
}
