import type { GenerateContentResponse, GenerateContentResponseUsageMetadata } from '@google/genai';
import { truncated } from '../openai/stream';
import type { ChatStream } from '../provider';
import { ChunkFrames, DONE_FRAME } from '../translation/chunks';
import { completionId, type FinishReason } from '../translation/completion';
import { type ChoiceOptions, finishOf, isEmptyCandidate, noAnswer, refusalOf, toolCallOf, usageFrom } from './response';

/** Per candidate (OpenAI choice): how many tool calls it opened and how it finished. */
interface ChoiceState {
  calls: number;
  finish?: FinishReason;
}

export interface StreamOptions extends ChoiceOptions {
  model: string;
  includeUsage: boolean;
}

/**
 * Gemini's SSE chunks (each a partial GenerateContentResponse) as OpenAI chunks:
 * a role delta when a candidate first appears, its text, thought and function-call
 * parts as content, reasoning_content and tool-call deltas (Gemini sends each call
 * whole: it opens with id and name, then one arguments fragment), a finish chunk
 * per candidate, then usage. A stream where no candidate finished was cut; one
 * whose candidates never had a part or a finish reason is no answer (noAnswer).
 */
export function translateChunks(options: StreamOptions) {
  return async function* (chunks: AsyncIterable<GenerateContentResponse>, stream: ChatStream): AsyncGenerator<string> {
    let frames: ChunkFrames | undefined;
    let usage: GenerateContentResponseUsageMetadata | undefined;
    const choices = new Map<number, ChoiceState>();

    for await (const chunk of chunks) {
      frames ??= new ChunkFrames(chunk.responseId || completionId(), chunk.modelVersion || options.model);
      // Each chunk's usage is the running total so far.
      if (chunk.usageMetadata) usage = chunk.usageMetadata;
      for (const candidate of chunk.candidates ?? []) {
        const index = candidate.index ?? 0;
        let state = choices.get(index);
        // A choice opens with its first part or finish: empty candidates alone are no answer (see noAnswer).
        if (!state && isEmptyCandidate(candidate)) continue;
        if (!state) {
          choices.set(index, (state = { calls: 0 }));
          yield frames.role(index);
        }
        for (const part of candidate.content?.parts ?? []) {
          if (part.thought) {
            if (options.exposeReasoning && part.text) yield frames.reasoning(part.text, index);
          } else if (part.functionCall) {
            if (state.calls >= options.maxToolCalls) continue;
            const call = toolCallOf(part.functionCall, part);
            yield frames.toolCall(state.calls, call, index);
            yield frames.toolArguments(state.calls++, call.arguments, index);
          } else if (part.text) yield frames.content(part.text, index);
        }
        if (candidate.finishReason) {
          state.finish = finishOf(options.provider, candidate, state.calls > 0);
          const refusal = refusalOf(candidate, state.finish);
          if (refusal) yield frames.delta({ refusal }, index);
        }
      }
    }
    const states = [...choices.entries()].sort(([a], [b]) => a - b);
    if (frames && !states.length) throw noAnswer(options.provider);
    if (!frames || states.some(([, state]) => !state.finish)) throw truncated(options.provider);
    for (const [index, state] of states) yield frames.finish(state.finish!, index);
    stream.usage = usageFrom(usage);
    if (options.includeUsage) yield frames.usage(stream.usage);
    yield DONE_FRAME;
  };
}
