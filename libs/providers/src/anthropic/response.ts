import type Anthropic from '@anthropic-ai/sdk';
import { type ChoiceOut, type FinishReason, numericUsage, usageOf } from '../translation/completion';
import type { CompletionUsage } from '../wire';

/** Anthropic `stop_reason` -> OpenAI `finish_reason`. */
export const FINISH_REASONS: Record<Anthropic.StopReason, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  // Server tools paused a long turn; the gateway sends none, so this is a plain end.
  pause_turn: 'stop',
  refusal: 'content_filter',
};

export function finishReason(reason: Anthropic.StopReason | null): FinishReason {
  return (reason && FINISH_REASONS[reason]) || 'stop';
}

export type AnthropicUsage = Pick<Anthropic.Usage, 'input_tokens' | 'output_tokens'> &
  Partial<
    Pick<
      Anthropic.Usage,
      | 'cache_read_input_tokens'
      | 'cache_creation_input_tokens'
      | 'cache_creation'
      | 'output_tokens_details'
      | 'server_tool_use'
      | 'service_tier'
      | 'speed'
    >
  >;

/**
 * The service tier an answer's usage says served it, as `price.tiers` names it: `fast` when Anthropic ran it in
 * fast mode (`speed`), billed at its own premium whatever the capacity, else its `service_tier` (`standard`,
 * `priority`, `batch`). Both are in message_start's usage on a stream, and in a whole answer's usage.
 */
export function servedTier(usage: AnthropicUsage | undefined): string | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  if (usage.speed === 'fast') return 'fast';
  return typeof usage.service_tier === 'string' ? usage.service_tier : undefined;
}

/**
 * OpenAI counts cached tokens inside `prompt_tokens`; Anthropic reports fresh input,
 * cache reads and cache writes apart, so the prompt is their sum, with the reads as
 * `cached_tokens` and the writes as `cache_write_tokens` (OpenAI's fields). Anthropic bills
 * each differently (costOf), its 1-hour cache writes dearer still: those, and the web
 * searches Anthropic ran (server tools, which only native requests carry), are kept for
 * the price only when there were some; OpenAI's usage has no field for them (clientUsage).
 * None when the answer has none, or no input count, or a count of it is no number (numericUsage).
 */
export function usageFrom(usage: AnthropicUsage | undefined): CompletionUsage | undefined {
  // An answer without usage (a compatible server's, a proxy's) is billed as estimated, as any other; so is one
  // without an input count (`"input_tokens": null` summed to a prompt of 0, billed so), as Gemini's without promptTokenCount.
  if (typeof usage !== 'object' || usage === null || usage.input_tokens == null) return undefined;
  const cached = usage.cache_read_input_tokens ?? 0;
  const writes = usage.cache_creation_input_tokens ?? 0;
  const output = usage.output_tokens as number | null | undefined;
  // No output count (a compatible server's, a stream's message_start): no usage shown, and the bill estimates it (usageOf).
  const counts = usageOf(
    usage.input_tokens + cached + writes,
    output ?? undefined,
    cached,
    usage.output_tokens_details?.thinking_tokens ?? 0,
  );
  counts.prompt_tokens_details!.cache_write_tokens = writes;
  const writes1h = Math.min(writes, usage.cache_creation?.ephemeral_1h_input_tokens ?? 0);
  const searches = usage.server_tool_use?.web_search_requests;
  return numericUsage({
    ...counts,
    ...(writes1h > 0 && { cache_write_1h_tokens: writes1h }),
    ...(searches ? { server_tool_use: { web_search_requests: searches } } : {}),
  });
}

/** Why Claude refused, for OpenAI's `refusal` field. */
export function refusalOf(reason: Anthropic.StopReason | null, details: Anthropic.RefusalStopDetails | null): string | null {
  if (reason !== 'refusal') return null;
  return details?.explanation ?? 'The model declined to answer this request.';
}

/** A Messages API answer as one OpenAI choice. Thinking text is exposed only on request. */
export function choiceFrom(message: Anthropic.Message, exposeReasoning: boolean): ChoiceOut {
  const choice: ChoiceOut = {
    text: '',
    refusal: refusalOf(message.stop_reason, message.stop_details),
    toolCalls: [],
    finishReason: finishReason(message.stop_reason),
    thinkingBlocks: [],
  };
  let reasoning = '';
  for (const block of message.content) {
    if (block.type === 'text') choice.text += block.text;
    else if (block.type === 'tool_use') choice.toolCalls.push({ id: block.id, name: block.name, arguments: JSON.stringify(block.input) });
    else if (block.type === 'thinking') {
      reasoning += block.thinking;
      // An Anthropic-compatible server's thinking may be unsigned (answer-shape.ts): then it has no signature, not a null one.
      choice.thinkingBlocks!.push({
        type: 'thinking',
        thinking: block.thinking,
        ...(block.signature != null && { signature: block.signature }),
      });
    } else if (block.type === 'redacted_thinking') choice.thinkingBlocks!.push({ type: 'redacted_thinking', data: block.data });
  }
  if (exposeReasoning) choice.reasoning = reasoning;
  return choice;
}
