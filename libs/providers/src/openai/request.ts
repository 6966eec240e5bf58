import type { ChatCompletionCreateParams, EmbeddingCreateParams } from '../wire';

/**
 * OpenAI-format upstreams take the client's request as it is; only the model id
 * changes (public name -> upstream id). Every other parameter passes through.
 */
export function toUpstreamBody(request: ChatCompletionCreateParams | EmbeddingCreateParams, upstreamModel: string): string {
  return JSON.stringify({ ...request, model: upstreamModel });
}
