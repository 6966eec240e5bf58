import {
  type ChatCompletion,
  type CompletionUsage,
  geminiSignatures,
  refuseAnswerImages,
  wholeUsage,
  withCacheHits,
  withTextContent,
} from '@gateway/providers';
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import type {
  Response,
  ResponseCustomToolCallItem,
  ResponseFunctionToolCall,
  ResponseInputItem,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
  ResponseToolSearchCall,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { customInput } from './custom-tools';
import { encodeThinking, type ItemKind, itemId } from './ids';
import { type CallName, inputMessages, type ResponsesRequest } from './request';
import { toolSearchCallItem } from './tool-search';

/** What a response knows before the model answers: its id, time and the request it echoes. */
export interface ResponseContext {
  id: string;
  createdAt: number;
  request: ResponsesRequest;
  /** Whether the response is kept for previous_response_id and GET (see store.ts). */
  store: boolean;
  /** How calls of the request's namespaced, custom and tool search tools are named, by chat name (request.ts, callNames). */
  callNames?: Map<string, CallName>;
}

type FinishReason = ChatCompletion.Choice['finish_reason'] | null;

/** Chat finish reasons that leave a response `incomplete`, with OpenAI's reason. */
const INCOMPLETE: Partial<Record<NonNullable<FinishReason>, Response.IncompleteDetails['reason']>> = {
  length: 'max_output_tokens',
  content_filter: 'content_filter',
};

/** The response object with the request's settings echoed, as `response.created` shows it. */
export function responseShell(ctx: ResponseContext, model: string): Response {
  const r = ctx.request;
  return {
    id: ctx.id,
    object: 'response',
    created_at: ctx.createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: r.reasoning?.effort ?? null, summary: r.reasoning?.summary ?? null },
    store: ctx.store,
    temperature: r.temperature ?? null,
    text: { format: r.text?.format ?? { type: 'text' }, ...(r.text?.verbosity ? { verbosity: r.text.verbosity } : {}) },
    tool_choice: r.tool_choice ?? 'auto',
    tools: r.tools ?? [],
    top_p: r.top_p ?? null,
    truncation: 'disabled',
    usage: undefined,
    user: r.user,
    safety_identifier: r.safety_identifier,
    prompt_cache_key: r.prompt_cache_key,
    metadata: r.metadata ?? {},
    // `output_text` is computed by the SDKs, not sent by the API.
  } as unknown as Response;
}

/**
 * The finished response: output items, status and usage filled in, and the service tier that served it
 * when the upstream said (an OpenAI-format one's `service_tier`), as OpenAI reports the tier used.
 */
export function finishResponse(
  shell: Response,
  output: ResponseOutputItem[],
  finish: FinishReason,
  usage?: CompletionUsage,
  serviceTier?: Response['service_tier'],
): Response {
  const reason = finish ? INCOMPLETE[finish] : undefined;
  return {
    ...shell,
    status: reason ? 'incomplete' : 'completed',
    incomplete_details: reason ? { reason } : null,
    output,
    usage: responseUsage(usage),
    ...(serviceTier ? { service_tier: serviceTier } : {}),
    completed_at: Math.floor(Date.now() / 1000),
  };
}

/** A non-streamed chat completion as the Responses API answer. */
export function toResponse(completion: ChatCompletion, ctx: ResponseContext): Response {
  const finish = completion.choices[0]?.finish_reason ?? null;
  const message = answerOf(completion);
  const output = message ? outputItems(ctx, message, finish && INCOMPLETE[finish] ? 'incomplete' : 'completed') : [];
  return finishResponse(responseShell(ctx, completion.model), output, finish, completion.usage, completion.service_tier);
}

/** The completion's assistant message as the response shows it (a call without arguments has `{}`). */
function answerOf(completion: ChatCompletion): Assistant | undefined {
  const message = completion.choices[0]?.message as Assistant | undefined;
  if (!message?.tool_calls) return message;
  const withArguments = (call: ChatCompletionMessageToolCall) =>
    call.type === 'function' && !call.function.arguments ? { ...call, function: { ...call.function, arguments: NO_ARGUMENTS } } : call;
  return { ...message, tool_calls: message.tool_calls.map(withArguments) };
}

/**
 * The chat turn a response's output amounts to, stored for previous_response_id: the output items
 * read as a client sends them back (request.ts), so a chain sends upstream what a stateless client
 * would, streamed or not, and none of the fields the upstream answered with (`refusal: null`,
 * `annotations`), which strict servers refuse in a request (Mistral: 422 extra_forbidden).
 */
export function answerMessages(output: ResponseOutputItem[]): ChatCompletionMessageParam[] {
  const messages = inputMessages(output as ResponseInputItem[]);
  return messages.length ? messages : [{ role: 'assistant', content: '' }];
}

/** A chat assistant message, with the thinking fields the gateway's translators add. */
type Assistant = ChatCompletion.Choice['message'] & { reasoning_content?: string | null; thinking_blocks?: unknown[] };

/**
 * The arguments of a call that has none: OpenAI sends `{}`, and clients JSON.parse them; some
 * OpenAI-compatible servers send an empty string, or no arguments at all when streaming.
 */
export const NO_ARGUMENTS = '{}';

/**
 * Output items in OpenAI's order: reasoning, the message, then tool calls (each after the
 * reasoning item carrying its Gemini thought signature, if it has one: see signatureItem).
 * `status` is the last item's: a cut-off answer was cut in its last item.
 */
export function outputItems(ctx: ResponseContext, answer: Assistant, status: Status): ResponseOutputItem[] {
  refuseAnswerImages(answer, 'the Responses API');
  // Content as a list of parts (Mistral's reasoning models): its text and, as reasoning, its thinking.
  const message = withTextContent(answer);
  const items: ResponseOutputItem[] = [];
  const responseId = ctx.id;
  if (message.reasoning_content || message.thinking_blocks?.length) {
    items.push(reasoningItem(itemId(responseId, 'rs', items.length), message.reasoning_content ?? '', message.thinking_blocks));
  }
  if (message.content || message.refusal) {
    items.push(messageItem(itemId(responseId, 'msg', items.length), message.content ?? '', message.refusal ?? null, 'completed'));
  }
  for (const call of message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    const signature = signatureItem(itemId(responseId, 'rs', items.length), call.id, call);
    if (signature) items.push(signature);
    const id = itemId(responseId, callPrefix(call.function.name, ctx.callNames), items.length);
    // A call the upstream gave no id (or an empty one) gets one, as in a stream: the client pairs its output by it.
    items.push(toolCallItem(id, call.id || `call_${id}`, call.function.name, call.function.arguments, 'completed', ctx.callNames));
  }
  if (items.length) (items[items.length - 1] as { status?: Status }).status = status;
  return items;
}

type Status = 'in_progress' | 'completed' | 'incomplete';

/** `refusalFirst`: a stream whose refusal began before its text lists its parts in that order. */
export function messageItem(id: string, text: string, refusal: string | null, status: Status, refusalFirst = false): ResponseOutputMessage {
  const content: ResponseOutputMessage['content'] = [];
  if (text || !refusal) content.push({ type: 'output_text', text, annotations: [], logprobs: [] });
  if (refusal) content[refusalFirst ? 'unshift' : 'push']({ type: 'refusal', refusal });
  return { id, type: 'message', role: 'assistant', status, content };
}

/** The id prefix of each kind of call's item; a function call's is `fc`. */
const CALL_PREFIX: Record<NonNullable<CallName['kind']>, ItemKind> = { custom: 'ctc', tool_search: 'tsc' };

export function callPrefix(chatName: string, names: ResponseContext['callNames']): ItemKind {
  const kind = names?.get(chatName)?.kind;
  return kind ? CALL_PREFIX[kind] : 'fc';
}

/**
 * A chat tool call as its output item: a `custom_tool_call` when it calls a custom tool's function,
 * a `tool_search_call` when it calls `tool_search`, else a `function_call`.
 */
export function toolCallItem(
  id: string,
  callId: string,
  chatName: string,
  args: string,
  status: Status,
  names?: ResponseContext['callNames'],
): ResponseFunctionToolCall | ResponseCustomToolCallItem | ResponseToolSearchCall {
  const { name, namespace, kind } = names?.get(chatName) ?? { name: chatName };
  if (kind === 'tool_search') return toolSearchCallItem(id, callId, args, status);
  const named = { call_id: callId, name, ...(namespace && { namespace }) };
  if (kind === 'custom') return { id, type: 'custom_tool_call', status, ...named, input: customInput(args) };
  return { id, type: 'function_call', status, ...named, arguments: args };
}

/**
 * The provider's thinking text as the reasoning summary (what Responses clients
 * display), and its signed blocks, if any, as `encrypted_content` to send back.
 */
export function reasoningItem(
  id: string,
  text: string,
  blocks: unknown[] | undefined,
  status: Status = 'completed',
): ResponseReasoningItem {
  const encrypted = encodeThinking(blocks);
  return {
    id,
    type: 'reasoning',
    status,
    summary: text ? [{ type: 'summary_text', text }] : [],
    ...(encrypted ? { encrypted_content: encrypted } : {}),
  };
}

/**
 * A Gemini tool call's thought signature as a reasoning item of its own, in `encrypted_content`
 * (gemini/signatures.ts): what a stateless client (`store: false`) sends back verbatim with the
 * call, and request.ts puts the signature back on the call with id `callId`.
 */
export function signatureItem(id: string, callId: string, call: object | undefined): ResponseReasoningItem | undefined {
  const signature = geminiSignatures.thoughtSignatureOf(call);
  return signature ? reasoningItem(id, '', [geminiSignatures.signatureBlock(callId, signature)]) : undefined;
}

/**
 * Cache reads as the bill reads them (DeepSeek's `prompt_cache_hit_tokens` too: withCacheHits). None when the usage
 * reported is not whole (wholeUsage: an OpenAI-format server's without `completion_tokens`): the SDKs type every count.
 */
export function responseUsage(reported: CompletionUsage | undefined): ResponseUsage | undefined {
  const usage = withCacheHits(wholeUsage(reported));
  if (!usage) return undefined;
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: {
      cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
      cache_write_tokens: usage.prompt_tokens_details?.cache_write_tokens ?? 0,
    },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}
