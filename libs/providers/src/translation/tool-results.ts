import type { ChatCompletionContentPart, ChatCompletionToolMessageParam } from 'openai/resources/chat/completions';

/**
 * What a tool returned, for the ingress codecs (Messages tool_result blocks, Responses
 * function_call_output items). Chat Completions tool messages hold text only, and no upstream
 * takes an image there: the text is the tool message, the images and files go in a user message
 * after the round's tool messages (a user message between them would break the round).
 */
export function toolResult(
  toolCallId: string,
  parts: ChatCompletionContentPart[],
): { message: ChatCompletionToolMessageParam; media: ChatCompletionContentPart[] } {
  const text = parts.flatMap((p) => (p.type === 'text' ? [p.text] : []));
  return { message: { role: 'tool', tool_call_id: toolCallId, content: text.join('\n') }, media: parts.filter((p) => p.type !== 'text') };
}
