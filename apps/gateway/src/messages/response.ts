import { type ChatCompletion, type CompletionUsage, GatewayError } from '@gateway/providers';
import { type AnthropicBlock, messageId, STOP_REASONS, toolUseIdOf } from './wire';

type AssistantMessage = ChatCompletion.Choice['message'] & { reasoning_content?: string; thinking_blocks?: AnthropicBlock[] };

/** Anthropic's usage object from OpenAI's: cache reads and writes are counted apart from fresh input. */
export function anthropicUsage(usage: CompletionUsage | undefined) {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const writes = usage?.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: (usage?.prompt_tokens ?? 0) - cached - writes,
    output_tokens: usage?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: writes,
  };
}

export function stopReason(finish: string | null | undefined): string {
  return STOP_REASONS[finish ?? 'stop'] ?? 'end_turn';
}

/**
 * A chat completion as a Messages API `message`: thinking first (only when the client
 * asked for it), then text, then tool_use blocks. Choice 0 only: Anthropic has no `n`.
 */
export function toMessage(completion: ChatCompletion, thinking: boolean) {
  const choice = completion.choices[0];
  const message = (choice?.message ?? {}) as AssistantMessage;
  const content: AnthropicBlock[] = thinking ? thinkingBlocks(message) : [];
  const text = message.content || message.refusal;
  if (text) content.push({ type: 'text', text });
  for (const call of message.tool_calls ?? []) {
    // Some OpenAI-compatible servers leave out `type` (and `id`); a custom tool call is not translated.
    if (call.type !== undefined && call.type !== 'function') continue;
    content.push({
      type: 'tool_use',
      id: toolUseIdOf(call.id),
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  }
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(completion.usage),
  };
}

/** The Anthropic adapter's signed blocks as they were; other vendors' reasoning text as an unsigned block. */
function thinkingBlocks(message: AssistantMessage): AnthropicBlock[] {
  if (message.thinking_blocks?.length) return [...message.thinking_blocks];
  return message.reasoning_content ? [{ type: 'thinking', thinking: message.reasoning_content, signature: '' }] : [];
}

function toolInput(args: string): Record<string, unknown> {
  try {
    const input = JSON.parse(args || '{}');
    if (input && typeof input === 'object' && !Array.isArray(input)) return input;
  } catch {
    // fall through
  }
  throw new GatewayError(
    502,
    'The upstream returned tool call arguments that are not a JSON object.',
    'upstream_error',
    'upstream_invalid_tool_arguments',
  );
}
