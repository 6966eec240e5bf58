import type Anthropic from '@anthropic-ai/sdk';
import { isSignedThinking } from './request';

type Body = Anthropic.MessageCreateParamsNonStreaming;
type Message = Anthropic.MessageParam;

const answersToolCalls = (message: Message | undefined) =>
  message?.role === 'user' && typeof message.content !== 'string' && message.content.some((block) => block.type === 'tool_result');

const startsWithSignedThinking = (message: Message | undefined) => {
  const first = typeof message?.content === 'string' ? undefined : message?.content[0];
  return first !== undefined && isSignedThinking(first);
};

/**
 * The body, with thinking off when Anthropic would refuse it on: with thinking on, the assistant
 * message whose tool calls the last tool results answer must start with a signed thinking block
 * (400 "Expected `thinking` or `redacted_thinking`"). OpenAI-format clients send back
 * `reasoning_content`, not the gateway's `thinking_blocks`: the blocks the gateway kept for the turn
 * stand in (kept-thinking.ts), but a turn it kept none for (Gemini served it, the state expired or
 * is on a replica Redis does not reach) would end the tool loop there; a 400 does not fail over.
 * Anthropic documents one thinking mode per assistant turn, a tool loop being one, and disabling
 * thinking for a request whose history cannot have it; the next user turn thinks again.
 */
export function withThinkingTheTurnAllows(body: Body): Body {
  const { messages } = body;
  if (!body.thinking || body.thinking.type === 'disabled' || !answersToolCalls(messages.at(-1))) return body;
  if (startsWithSignedThinking(messages.at(-2))) return body;
  const { thinking: _off, ...withoutThinking } = body;
  return withoutThinking;
}
