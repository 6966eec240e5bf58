import type { ChatCompletionCreateParams, ChatCompletionMessageParam, EmbeddingCreateParams } from '../wire';

/**
 * OpenAI-format upstreams take the client's request as it is; only the model id
 * changes (public name -> upstream id). Every other parameter passes through.
 */
export function toUpstreamBody(request: EmbeddingCreateParams, upstreamModel: string): string {
  return JSON.stringify({ ...request, model: upstreamModel });
}

/**
 * Chat requests also always ask a stream for its usage chunk, so cost is known even
 * when the client did not ask; stream.ts strips that chunk again for such clients.
 */
export function toUpstreamChat(request: ChatCompletionCreateParams, upstreamModel: string): string {
  const body = { ...request, model: upstreamModel, messages: withoutThinkingBlocks(request.messages) };
  if (request.stream && !request.stream_options?.include_usage) body.stream_options = { ...request.stream_options, include_usage: true };
  return JSON.stringify(body);
}

type WithThinking = ChatCompletionMessageParam & { thinking_blocks?: unknown };

/**
 * Claude's signed thinking rides in assistant history as `thinking_blocks` (the gateway's
 * answers from Anthropic carry it, and clients send it back) for Anthropic deployments alone:
 * it is no OpenAI field, and strict servers refuse a message that has one (Mistral: 422
 * extra_forbidden; a 4xx does not fail over), so it never leaves for an OpenAI-format upstream.
 */
function withoutThinkingBlocks(messages: ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  if (!messages.some((message) => (message as WithThinking).thinking_blocks !== undefined)) return messages;
  return messages.map((message) => {
    const { thinking_blocks: _, ...rest } = message as WithThinking;
    return rest as ChatCompletionMessageParam;
  });
}
