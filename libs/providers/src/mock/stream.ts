import type { MockBehaviour } from '@gateway/config';
import type { ChatStream } from '../provider';
import type { ChatCompletionChunk } from '../wire';
import { streamCut, upstreamDelay } from './errors';
import { completionId, type MockAnswer, MOCK_FINGERPRINT, toolCallId, usageOfChoices } from './response';

/**
 * Streams the answer as OpenAI does: a role delta, one delta per piece, a final
 * chunk with `finish_reason`, a usage chunk when asked, then `[DONE]`. With `n`
 * choices every chunk carries a delta for each (the mock's choices are identical).
 */
export function streamAnswer(
  provider: string,
  answer: MockAnswer,
  model: string,
  behaviour: MockBehaviour,
  includeUsage: boolean,
  n: number,
  signal: AbortSignal,
): ChatStream {
  const base = {
    id: completionId(),
    object: 'chat.completion.chunk' as const,
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: MOCK_FINGERPRINT,
  };
  // OpenAI: with include_usage, every chunk has a usage field (null but on the usage chunk); without it, none has.
  const frame = (choices: ChatCompletionChunk['choices'], usage: ChatCompletionChunk['usage'] = null) =>
    `data: ${JSON.stringify((includeUsage ? { ...base, choices, usage } : { ...base, choices }) satisfies ChatCompletionChunk)}\n\n`;
  const gap = behaviour.tokensPerSecond > 0 ? 1000 / behaviour.tokensPerSecond : 0;
  const usage = usageOfChoices(answer, n);

  const choices = Array.from({ length: n }, (_, index) => index);
  const each = (
    delta: (index: number) => ChatCompletionChunk['choices'][number]['delta'],
    finish: MockAnswer['finishReason'] | null = null,
  ) => frame(choices.map((index) => ({ index, delta: delta(index), finish_reason: finish, logprobs: null })));

  const stream: ChatStream = {
    async *[Symbol.asyncIterator]() {
      yield each(() => ({ role: 'assistant', content: '' }));
      if (answer.plan.kind === 'tool_call') {
        const { name, arguments: args } = answer.plan;
        yield each((index) => ({
          tool_calls: [{ index: 0, id: toolCallId(answer, index), type: 'function', function: { name, arguments: '' } }],
        }));
        yield each(() => ({ tool_calls: [{ index: 0, function: { arguments: args } }] }));
      }
      for (let i = 0; i < answer.pieces.length; i++) {
        if (behaviour.cutAfterChunks > 0 && i >= behaviour.cutAfterChunks) throw streamCut(provider);
        if (gap && i > 0) await upstreamDelay(gap, signal);
        yield each(() => ({ content: answer.pieces[i] }));
      }
      yield each(() => ({}), answer.finishReason);
      if (includeUsage) yield frame([], usage);
      stream.usage = usage;
      yield 'data: [DONE]\n\n';
    },
  };
  return stream;
}
