import type Anthropic from '@anthropic-ai/sdk';
import type { CallContext } from '../provider';
import { wantsReasoning } from '../translation/params';
import type { ChatCompletionCreateParams } from '../wire';
import { echoedThinking, isSignedThinking, type KeptThinking } from './request';

export type ThinkingBlock = Anthropic.ThinkingBlockParam | Anthropic.RedactedThinkingBlockParam;

/**
 * The first call id of each assistant tool turn sent back without a signed thinking block. Only
 * when the request thinks: with thinking off Anthropic wants no blocks, and a Messages API client
 * (`native`) sends back its own.
 */
function turnsWithoutThinking(request: ChatCompletionCreateParams, ctx: CallContext): string[] {
  if (ctx.native?.protocol === 'anthropic' || !wantsReasoning(request)) return [];
  const ids: string[] = [];
  for (const message of request.messages) {
    const first = message.role === 'assistant' ? message.tool_calls?.[0] : undefined;
    if (first && !echoedThinking(message as Extract<typeof message, { role: 'assistant' }>).some(isSignedThinking)) ids.push(first.id);
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
  const ids = turnsWithoutThinking(request, ctx);
  return ids.length ? ctx.reasoning.recall('anthropic', ids) : undefined;
}

/** Keeps an answer's signed thinking under its first tool call, where recallThinking looks for it. */
export function rememberThinking(ctx: CallContext, firstCallId: string | undefined, blocks: readonly ThinkingBlock[]): void {
  if (firstCallId && blocks.length) ctx.reasoning?.remember('anthropic', new Map([[firstCallId, blocks]]));
}
