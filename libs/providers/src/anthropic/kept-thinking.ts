import type Anthropic from '@anthropic-ai/sdk';
import type { CallContext } from '../provider';
import { wantsReasoning } from '../translation/params';
import type { ChatCompletionCreateParams } from '../wire';
import { echoedThinking, isSignedThinking, type KeptThinking } from './request';

export type ThinkingBlock = Anthropic.ThinkingBlockParam | Anthropic.RedactedThinkingBlockParam;

/**
 * The call ids of assistant messages sent back without a signed thinking block: all of them, since
 * the thinking is kept under the answer's first call and a client may send its calls back in
 * another order or over several messages (request.ts, withKeptThinking). Only when the request
 * thinks: with thinking off Anthropic wants no blocks, and a Messages API client (`native`) sends
 * back its own.
 */
function callsWithoutThinking(request: ChatCompletionCreateParams, ctx: CallContext): string[] {
  if (ctx.native?.protocol === 'anthropic' || !wantsReasoning(request)) return [];
  const ids: string[] = [];
  for (const message of request.messages) {
    if (message.role !== 'assistant' || !message.tool_calls?.length || echoedThinking(message).some(isSignedThinking)) continue;
    for (const call of message.tool_calls) ids.push(call.id);
  }
  return ids;
}

/**
 * The signed thinking the gateway kept for the tool turns an OpenAI-format client sent back without
 * it (opencode, llm and LangChain keep `reasoning_content`, not `thinking_blocks`), so those turns
 * start with it and thinking stays on (thinking-turn.ts). Undefined, with nothing looked up, when no
 * turn lacks it: a chat without tool calls pays nothing.
 */
export function recallThinking(request: ChatCompletionCreateParams, ctx: CallContext): Promise<KeptThinking> | undefined {
  if (!ctx.reasoning) return undefined;
  const ids = callsWithoutThinking(request, ctx);
  return ids.length ? ctx.reasoning.recall('anthropic', ids) : undefined;
}

/** Keeps an answer's signed thinking under its first tool call, once (recallThinking looks it up by every call of the turn). */
export function rememberThinking(ctx: CallContext, firstCallId: string | undefined, blocks: readonly ThinkingBlock[]): void {
  if (firstCallId && blocks.length) ctx.reasoning?.remember('anthropic', new Map([[firstCallId, blocks]]));
}
