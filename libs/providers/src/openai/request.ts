import type { ProviderConfig } from '@gateway/config';
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
 * `omit`: message fields this upstream refuses (see GATEWAY_FIELDS and omittedMessageFields).
 */
export function toUpstreamChat(request: ChatCompletionCreateParams, upstreamModel: string, omit: readonly string[]): string {
  const body = { ...request, model: upstreamModel, messages: withoutFields(request.messages, omit) };
  if (request.stream && !request.stream_options?.include_usage) body.stream_options = { ...request.stream_options, include_usage: true };
  return JSON.stringify(body);
}

/**
 * Claude's signed thinking rides in assistant history as `thinking_blocks` (the gateway's
 * answers from Anthropic carry it, and clients send it back) for Anthropic deployments alone:
 * it is no OpenAI field, and strict servers refuse a message that has one (Mistral: 422
 * extra_forbidden; a 4xx does not fail over), so it never leaves for an OpenAI-format upstream.
 */
const GATEWAY_FIELDS = ['thinking_blocks'];

/**
 * The message fields a provider's upstream is not sent: the gateway's own, and the provider's
 * `omitMessageFields`. Unset, OpenAI's own API is not sent `reasoning_content` (the reasoning
 * text the Responses API's reasoning items and other vendors' answers carry back), which it
 * never defined; OpenAI-compatible servers get it, as DeepSeek's and Kimi's thinking models want
 * it back within a tool turn (Cerebras and Mistral refuse it: set `omitMessageFields` for them).
 */
export function omittedMessageFields(provider: ProviderConfig): readonly string[] {
  return [...GATEWAY_FIELDS, ...(provider.omitMessageFields ?? (provider.type === 'openai' ? ['reasoning_content'] : []))];
}

function withoutFields(messages: ChatCompletionMessageParam[], omit: readonly string[]): ChatCompletionMessageParam[] {
  const has = (message: ChatCompletionMessageParam) => omit.some((field) => field in message);
  if (!messages.some(has)) return messages;
  return messages.map((message) => {
    if (!has(message)) return message;
    const kept: Record<string, unknown> = { ...message };
    for (const field of omit) delete kept[field];
    return kept as unknown as ChatCompletionMessageParam;
  });
}
