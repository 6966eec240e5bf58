import { randomBytes } from 'node:crypto';
import type { ChatCompletion, CompletionUsage } from '../wire';
import { misTypedUsage } from './chunk-shape';

export type FinishReason = ChatCompletion.Choice['finish_reason'];

/** A tool call as the client will see it. */
export interface ToolCallOut {
  id: string;
  name: string;
  arguments: string;
  /** Vendor state the client must send back with the call next turn (spread into the call object). */
  extra?: Record<string, unknown>;
}

/** One choice of a vendor answer, already translated to OpenAI terms. */
export interface ChoiceOut {
  text: string;
  /** Thinking text; set only when the client asked for reasoning. */
  reasoning?: string;
  refusal: string | null;
  toolCalls: ToolCallOut[];
  finishReason: FinishReason;
  /** Vendor reasoning state the client must send back on the assistant message (Anthropic thinking blocks). */
  thinkingBlocks?: unknown[];
}

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}

/**
 * OpenAI's usage object, with the cached and reasoning breakdowns always present. An output the vendor did not count
 * (`completion` undefined: Anthropic's usage without output_tokens, Gemini's without candidatesTokenCount for an answer
 * that has content) leaves out the output count and the total: the bill estimates the output (accounting.ts), and
 * the client is shown no usage (clientUsage).
 */
export function usageOf(prompt: number, completion: number | undefined, cached: number, reasoning: number): CompletionUsage {
  return {
    prompt_tokens: prompt,
    ...(completion !== undefined && { completion_tokens: completion, total_tokens: prompt + completion }),
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoning },
  } as CompletionUsage;
}

/**
 * A vendor's usage as translated, unless a count of it was no number (`"input_tokens": "12"`: the sums made it
 * text, which went out to the client and ended the Responses and Messages streams as an invalid chunk): such usage
 * is no usage, as an OpenAI-format answer's is (misTypedUsage): the answer is served without it, billed as estimated.
 */
export function numericUsage(usage: CompletionUsage): CompletionUsage | undefined {
  return misTypedUsage(usage) === undefined ? usage : undefined;
}

/**
 * `usage` when it has every count the OpenAI SDK types as a number (prompt, completion, total), else none: usage a
 * client may be shown, whole or none, as an OpenAI-format answer's is without its counts that are no counts
 * (misTypedUsage). Usage without the output's count (a vendor's that did not count it: usageOf; an OpenAI-format
 * server's without `completion_tokens`) still reaches the bill, which keeps its prompt count and estimates the output.
 */
export function wholeUsage(usage: CompletionUsage | null | undefined): CompletionUsage | undefined {
  return usage != null && usage.prompt_tokens != null && usage.completion_tokens != null && usage.total_tokens != null ? usage : undefined;
}

/**
 * The usage a client is sent: without what the gateway keeps only to price the request
 * (Anthropic's 1-hour cache writes, its web searches), which OpenAI's usage has no field for.
 * None when it is not whole (wholeUsage).
 */
export function clientUsage(usage: CompletionUsage): CompletionUsage | undefined {
  if (!wholeUsage(usage)) return undefined;
  const { cache_write_1h_tokens: _writes1h, server_tool_use: _searches, ...sent } = usage as CompletionUsage & Record<string, unknown>;
  return sent;
}

export function toolCallJson(call: ToolCallOut) {
  return { id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.arguments }, ...call.extra };
}

/** A `chat.completion` body. `reasoning_content` is the field DeepSeek and others use for thinking. */
export function completionJson(id: string, model: string, choices: ChoiceOut[], usage: CompletionUsage | undefined): string {
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        // OpenAI sends null content alongside tool calls, and a string otherwise.
        content: choice.text || (choice.toolCalls.length ? null : ''),
        refusal: choice.refusal,
        ...(choice.toolCalls.length ? { tool_calls: choice.toolCalls.map(toolCallJson) } : {}),
        ...(choice.reasoning !== undefined ? { reasoning_content: choice.reasoning } : {}),
        ...(choice.thinkingBlocks?.length ? { thinking_blocks: choice.thinkingBlocks } : {}),
      },
      finish_reason: choice.finishReason,
      logprobs: null,
    })),
    usage: usage && clientUsage(usage),
  });
}
