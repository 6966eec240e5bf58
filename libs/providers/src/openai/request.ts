import type { MaxTokensField, ProviderConfig } from '@gateway/config';
import { maxTokensOf } from '../translation/params';
import { allowedTools } from '../translation/tools';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam, EmbeddingCreateParams } from '../wire';
import { fitEndUserFields, withFittedCallIds } from './fitted-ids';

/**
 * OpenAI-format upstreams take the client's embeddings request as it is; only the model id
 * changes (public name -> upstream id), and the provider's `omitRequestFields` (and the routing
 * fields it does not forward, ROUTING_FIELDS) are left out, as from chat requests (Mistral's
 * embeddings API defines no `user` nor `dimensions`, and answers 422 extra_forbidden to them).
 * Every other parameter passes through.
 */
export function toUpstreamBody(request: EmbeddingCreateParams, upstreamModel: string, dialect: ChatDialect): string {
  const body: Record<string, unknown> = { ...request, model: upstreamModel };
  for (const field of dialect.omitRequest) body[field] = undefined;
  return JSON.stringify(body);
}

/** How a provider's upstream wants a chat request written, beyond OpenAI's own format (chatDialect). */
export interface ChatDialect {
  /** Message fields it is not sent (see GATEWAY_FIELDS and omittedMessageFields). */
  omit: readonly string[];
  /** Request fields it is not sent (ProviderConfig.omitRequestFields, and ROUTING_FIELDS unless forwarded). */
  omitRequest: readonly string[];
  /** The field the output limit goes in (ProviderConfig.maxTokensField). */
  maxTokensField: MaxTokensField;
  /** Whether it takes `stream_options` (ProviderConfig.streamOptions). */
  streamOptions: boolean;
  /**
   * Whether it takes only the classic Chat Completions forms, not the ones OpenAI alone defines: a
   * `developer` message goes as `system` (withClassicRoles), an `allowed_tools` tool_choice as the
   * tools it allows and its mode (classicToolChoice).
   */
  classic: boolean;
}

/**
 * Request fields no OpenAI API defines by which a client of an aggregating OpenAI-compatible upstream changes
 * the model served or adds paid features: OpenRouter's `models` (fallback models, billed at the model that
 * answered), `route`, `provider` (its routing and price limits), `plugins` (web search, billed per result),
 * `preset` (a stored configuration naming model and settings). The gateway bills the deployment's price, so
 * they are not sent unless the provider lists them in `forwardRoutingFields`. Other fields the gateway does
 * not know still go as they came: servers' own sampling extras (vLLM's and Ollama's `top_k`, `min_p`, guided
 * decoding) change neither the model nor the price.
 */
const ROUTING_FIELDS = ['models', 'route', 'provider', 'plugins', 'preset'];

export function chatDialect(provider: ProviderConfig): ChatDialect {
  const forwarded = provider.forwardRoutingFields ?? [];
  return {
    omit: omittedMessageFields(provider),
    omitRequest: [...(provider.omitRequestFields ?? []), ...ROUTING_FIELDS.filter((field) => !forwarded.includes(field))],
    maxTokensField: provider.maxTokensField ?? (provider.type === 'openai' ? 'max_completion_tokens' : 'max_tokens'),
    streamOptions: provider.streamOptions,
    // Only OpenAI defines `developer` (Azure OpenAI's v1 API too, reached as type openai with its baseUrl).
    classic: provider.type !== 'openai',
  };
}

/**
 * The client's request as the upstream takes it. The output limit, by either of OpenAI's names (the
 * Messages and Responses codecs use `max_completion_tokens`), goes in the one field the upstream
 * reads: strict servers refuse the other (Mistral: 422 extra_forbidden; OpenAI's reasoning models:
 * 400 on `max_tokens`), and a 4xx does not fail over. A request that sets none gets `defaultLimit`
 * (the deployment's `maxOutputTokens`), as the Anthropic and Gemini adapters send it: unsent, a
 * reasoning model may think far past what the gateway held and judges its usage by. Streams also ask for their usage chunk, so
 * cost is known even when the client did not ask (stream.ts strips that chunk again for such
 * clients), unless the upstream takes no `stream_options` at all: then none is sent. An end-user
 * identifier or tool-call id longer than OpenAI takes goes as a stable digest (fitted-ids.ts).
 */
export function toUpstreamChat(
  request: ChatCompletionCreateParams,
  upstreamModel: string,
  dialect: ChatDialect,
  defaultLimit?: number,
): string {
  const { stream_options } = request;
  // One copy of the request, the fields written below cleared in it (JSON leaves undefined out):
  // a rest pattern and a spread copied every request twice.
  const body: Record<string, unknown> = {
    ...request,
    model: upstreamModel,
    messages: withFittedCallIds(withoutFields(dialect.classic ? withClassicRoles(request.messages) : request.messages, dialect.omit)),
    max_tokens: undefined,
    max_completion_tokens: undefined,
    stream_options: undefined,
  };
  if (dialect.classic) Object.assign(body, classicToolChoice(request));
  fitEndUserFields(request, body);
  for (const field of dialect.omitRequest) body[field] = undefined;
  const limit = maxTokensOf(request) ?? defaultLimit;
  if (limit !== undefined) body[dialect.maxTokensField] = limit;
  if (dialect.streamOptions) {
    if (stream_options !== undefined) body.stream_options = stream_options;
    if (request.stream && !stream_options?.include_usage) body.stream_options = { ...stream_options, include_usage: true };
  }
  return JSON.stringify(body);
}

/**
 * The messages with each `developer` one (OpenAI's name for system instructions since its o1 models;
 * Codex sends its context as such every turn, the Responses API's `developer` items become them) as
 * `system`, the role every chat server knows: DeepSeek answers 400 `unknown variant 'developer'`, and a
 * 4xx does not fail over. OpenAI takes both.
 */
function withClassicRoles(messages: ChatCompletionMessageParam[]): ChatCompletionMessageParam[] {
  if (!messages.some((message) => message.role === 'developer')) return messages;
  return messages.map((message) => (message.role === 'developer' ? { ...message, role: 'system' } : message));
}

/**
 * An `allowed_tools` tool_choice (OpenAI's own form, since GPT-5; the Responses API's becomes it) in the
 * classic forms every chat server takes: `tools` narrowed to the allowed ones, as the Anthropic and
 * Gemini translations narrow them, and its mode, `auto` or `required`. None allowed: no tools at all.
 */
function classicToolChoice(request: ChatCompletionCreateParams): Record<string, unknown> {
  const choice = request.tool_choice;
  if (typeof choice !== 'object' || choice?.type !== 'allowed_tools') return {};
  const tools = allowedTools(request.tools ?? [], choice);
  if (!tools.length) return { tools: undefined, tool_choice: undefined, parallel_tool_calls: undefined };
  return { tools, tool_choice: choice.allowed_tools.mode };
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
function omittedMessageFields(provider: ProviderConfig): readonly string[] {
  return [...GATEWAY_FIELDS, ...(provider.omitMessageFields ?? (provider.type === 'openai' ? ['reasoning_content'] : []))];
}

/**
 * A Gemini tool call's thought signature rides on the call as `extra_content` (gemini/signatures.ts)
 * for the gemini adapter alone, which reads it from the chat request: a signature means nothing to
 * another model, and strict servers refuse the field (Mistral: 422 extra_forbidden on
 * `tool_calls[0].extra_content`). The same request goes to every deployment of a model group, so it
 * is left out here, where a request leaves for an OpenAI-format upstream.
 */
const GATEWAY_CALL_FIELDS = ['extra_content'];

const hasCallFields = (message: ChatCompletionMessageParam) =>
  message.role === 'assistant' && !!message.tool_calls?.some((call) => GATEWAY_CALL_FIELDS.some((field) => field in call));

function withoutFields(messages: ChatCompletionMessageParam[], omit: readonly string[]): ChatCompletionMessageParam[] {
  const has = (message: ChatCompletionMessageParam) => omit.some((field) => field in message) || hasCallFields(message);
  if (!messages.some(has)) return messages;
  return messages.map((message) => {
    if (!has(message)) return message;
    const kept = without(message, omit) as unknown as ChatCompletionMessageParam;
    if (hasCallFields(message))
      Object.assign(kept, {
        tool_calls: (message as { tool_calls: object[] }).tool_calls.map((call) => without(call, GATEWAY_CALL_FIELDS)),
      });
    return kept;
  });
}

function without(object: object, fields: readonly string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = { ...object };
  for (const field of fields) delete kept[field];
  return kept;
}
