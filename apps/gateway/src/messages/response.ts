import {
  answerJsonFits,
  type ChatCompletion,
  type CompletionUsage,
  GatewayError,
  geminiSignatures,
  refuseAnswerImages,
  wholeUsage,
  withCacheHits,
  withTextContent,
} from '@gateway/providers';
import { cutInput, jsonObject } from './cut-input';
import { type AnthropicBlock, newMessageId, STOP_REASONS, toolUseIdOf } from './wire';

type AssistantMessage = ChatCompletion.Choice['message'] & { reasoning_content?: string; thinking_blocks?: AnthropicBlock[] };

/**
 * Anthropic's usage object from OpenAI's: cache reads and writes are counted apart from fresh input.
 * Cache reads as the bill reads them (DeepSeek's `prompt_cache_hit_tokens` too: withCacheHits).
 */
export function anthropicUsage(reported: CompletionUsage | undefined) {
  const usage = withCacheHits(reported);
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const writes = usage?.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: (usage?.prompt_tokens ?? 0) - cached - writes,
    output_tokens: usage?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: writes,
  };
}

/**
 * `toolUse`: the message has tool_use blocks. Anthropic then says tool_use, and clients loop on
 * it; OpenAI says stop for a call forced by a named tool_choice (vLLM too), which is no end_turn.
 * `refused`: the answer is a refusal (OpenAI's `refusal`, no content), which OpenAI ends with `stop`:
 * Anthropic's `refusal`, so a client can tell it from an answer.
 */
export function stopReason(finish: string | null | undefined, toolUse: boolean, refused = false): string {
  const reason = STOP_REASONS[finish ?? 'stop'] ?? 'end_turn';
  if (reason !== 'end_turn') return reason;
  return toolUse ? 'tool_use' : refused ? 'refusal' : reason;
}

/**
 * The thinking block that carries a Gemini tool call's thought signature (libs/providers
 * gemini/signatures.ts), sent ahead of its tool_use block whether or not the client asked for
 * thinking: it is what the client sends back, and request.ts puts the signature back on the call.
 */
export function signatureBlocks(toolUseId: string, call: object | undefined): AnthropicBlock[] {
  const signature = geminiSignatures.thoughtSignatureOf(call);
  return signature ? [geminiSignatures.signatureBlock(toolUseId, signature)] : [];
}

/** A called tool's name as the client declared it (MessagesTranslation.toolNames: those fitted to 64 characters). */
export function declaredToolName(name: string, toolNames: ReadonlyMap<string, string> | undefined): string {
  return toolNames?.get(name) ?? name;
}

/**
 * A chat completion as a Messages API `message`: thinking first (only when the client
 * asked for it), then text, then tool_use blocks (each after the block carrying its Gemini
 * thought signature, if it has one), named as the client declared them. Choice 0 only: Anthropic has no `n`.
 * Its usage is `billed`'s, the usage the gateway bills for the upstream's (codec.ts: the prompt as counted, the output
 * counted, else estimated), so a client sizing its context by it (Claude Code) reads the bill's counts; without
 * `billed`, the upstream's when whole.
 * The id is a fresh one, as every Anthropic answer's is unique: an OpenAI-compatible server may repeat
 * its ids, and Claude Code joins assistant messages that share an id into one turn.
 */
export function toMessage(
  completion: ChatCompletion,
  thinking: boolean,
  toolNames?: ReadonlyMap<string, string>,
  billed?: () => CompletionUsage,
) {
  const choice = completion.choices[0];
  refuseAnswerImages(choice?.message, 'the Messages API');
  // Content as a list of parts (Mistral's reasoning models): its text and, as thinking, its reasoning.
  const message = withTextContent((choice?.message ?? {}) as AssistantMessage);
  const content: AnthropicBlock[] = thinking ? thinkingBlocks(message) : [];
  const refused = !message.content && !!message.refusal;
  const text = message.content || message.refusal;
  if (text) content.push({ type: 'text', text });
  let toolUse = false;
  for (const call of message.tool_calls ?? []) {
    // Some OpenAI-compatible servers leave out `type` (and `id`); a custom tool call is not translated.
    if (call.type !== undefined && call.type !== 'function') continue;
    const id = toolUseIdOf(call.id);
    content.push(...signatureBlocks(id, call), {
      type: 'tool_use',
      id,
      name: declaredToolName(call.function.name, toolNames),
      input: toolInput(call.function.arguments, choice?.finish_reason),
    });
    toolUse = true;
  }
  return {
    id: newMessageId(),
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReason(choice?.finish_reason, toolUse, refused),
    stop_sequence: null,
    usage: anthropicUsage(billed?.() ?? wholeUsage(completion.usage)),
  };
}

/** The Anthropic adapter's signed blocks as they were; other vendors' reasoning text as an unsigned block. */
function thinkingBlocks(message: AssistantMessage): AnthropicBlock[] {
  if (message.thinking_blocks?.length) return [...message.thinking_blocks];
  return message.reasoning_content ? [{ type: 'thinking', thinking: message.reasoning_content, signature: '' }] : [];
}

/**
 * A tool call's arguments as a tool_use block's input. Arguments that are no JSON object are a call
 * cut by the output limit (finish_reason `length`, which becomes stop_reason `max_tokens`): the input as
 * far as it parses (cutInput), as Anthropic answers such a call. Otherwise the upstream's answer is
 * invalid (invalidArguments).
 */
function toolInput(args: string, finish: string | null | undefined): Record<string, unknown> {
  const input = jsonObject(args || '{}');
  if (input && !answerJsonFits(args)) {
    throw GatewayError.invalidResponse(
      'The upstream returned tool call arguments nested deeper, or with more keys, than a request may have.',
    );
  }
  if (input) return input;
  if (finish === 'length') return cutInput(args);
  throw invalidArguments();
}

/**
 * Arguments that are no JSON object though the model was not cut short: the upstream's invalid answer
 * (502 `upstream_invalid_response`, retryable; Anthropic's clients see its api_error, a 500, and retry), created or streamed.
 */
export function invalidArguments(): GatewayError {
  return GatewayError.invalidResponse('The upstream returned tool call arguments that are not a JSON object.');
}
