import type { ChatCompletionCreateParams, EmbeddingCreateParams } from '../wire';

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
  if (!request.stream || request.stream_options?.include_usage) return JSON.stringify({ ...request, model: upstreamModel });
  return JSON.stringify({ ...request, model: upstreamModel, stream_options: { ...request.stream_options, include_usage: true } });
}
