import { setTimeout as sleep } from 'node:timers/promises';
import type { MockBehaviour } from '@gateway/config';
import type { ChatStream } from '../provider';
import type { ChatCompletionChunk } from '../wire';
import { streamCut } from './errors';
import { completionId, type MockAnswer, MOCK_FINGERPRINT, toolCallId } from './response';

/**
 * Streams the answer as OpenAI does: a role delta, one delta per piece, a final
 * chunk with `finish_reason`, a usage chunk when asked, then `[DONE]`.
 */
export function streamAnswer(
  provider: string,
  answer: MockAnswer,
  model: string,
  behaviour: MockBehaviour,
  includeUsage: boolean,
  signal: AbortSignal,
): ChatStream {
  const base = {
    id: completionId(),
    object: 'chat.completion.chunk' as const,
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: MOCK_FINGERPRINT,
  };
  const frame = (choices: ChatCompletionChunk['choices'], usage: ChatCompletionChunk['usage'] = null) =>
    `data: ${JSON.stringify({ ...base, choices, usage } satisfies ChatCompletionChunk)}\n\n`;
  const gap = behaviour.tokensPerSecond > 0 ? 1000 / behaviour.tokensPerSecond : 0;

  const stream: ChatStream = {
    async *[Symbol.asyncIterator]() {
      yield frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]);
      if (answer.plan.kind === 'tool_call') {
        const call = { index: 0, id: toolCallId(answer), type: 'function' as const, function: { name: answer.plan.name, arguments: '' } };
        yield frame([{ index: 0, delta: { tool_calls: [call] }, finish_reason: null, logprobs: null }]);
        yield frame([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: answer.plan.arguments } }] },
            finish_reason: null,
            logprobs: null,
          },
        ]);
      }
      for (let i = 0; i < answer.pieces.length; i++) {
        if (behaviour.cutAfterChunks > 0 && i >= behaviour.cutAfterChunks) throw streamCut(provider);
        if (gap && i > 0) await sleep(gap, undefined, { signal });
        yield frame([{ index: 0, delta: { content: answer.pieces[i] }, finish_reason: null, logprobs: null }]);
      }
      yield frame([{ index: 0, delta: {}, finish_reason: answer.finishReason, logprobs: null }]);
      if (includeUsage) yield frame([], answer.usage);
      stream.usage = answer.usage;
      yield 'data: [DONE]\n\n';
    },
  };
  return stream;
}
