import type { GenerateContentResponse, GenerateContentResponseUsageMetadata } from '@google/genai';
import type { StreamSteps } from '../map-stream';
import { truncated } from '../openai/stream';
import type { ChatStream, RunningUsage } from '../provider';
import { ChunkFrames, DONE_FRAME, type Translate } from '../translation/chunks';
import { completionId, type FinishReason, type ToolCallOut } from '../translation/completion';
import {
  answerParts,
  checkPromptBlocked,
  type ChoiceOptions,
  finishOf,
  imageAnswer,
  isEmptyCandidate,
  noAnswer,
  noCandidates,
  refusalOf,
  toolCallOf,
  usageFrom,
} from './response';

/** Per candidate (OpenAI choice): how many tool calls it opened and how it finished. */
interface ChoiceState {
  calls: number;
  finish?: FinishReason;
}

export interface StreamOptions extends ChoiceOptions {
  model: string;
  includeUsage: boolean;
  /** Given, once the answer is whole, its calls that carry a thought signature (rememberSignatures). */
  keep?(calls: readonly ToolCallOut[]): void;
}

/**
 * Gemini's SSE chunks (each a partial GenerateContentResponse) as OpenAI chunks:
 * a role delta when a candidate first appears, its text, thought and function-call
 * parts as content, reasoning_content and tool-call deltas (Gemini sends each call
 * whole: it opens with id and name, then one arguments fragment), a finish chunk
 * per candidate, then usage. A stream where no candidate finished was cut; one
 * whose candidates never had a part or a finish reason is no answer (noAnswer), as is one
 * that never had a candidate (noCandidates). Chunks without candidates (usage or model
 * version alone, as Gemini sends with grounding and thinking) are read on, the first one
 * too; until a choice opened, one that says the prompt was blocked is the 400 for it
 * (checkPromptBlocked), thrown before any frame, so before the client's 200.
 */
export function translateChunks(options: StreamOptions): Translate<GenerateContentResponse> {
  return (stream) => new ChunkTranslation(options, stream);
}

class ChunkTranslation implements StreamSteps<GenerateContentResponse, string>, RunningUsage {
  private frames: ChunkFrames | undefined;
  private usage: GenerateContentResponseUsageMetadata | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  /** Some chunk had text or a function call, which candidatesTokenCount counts (usageFrom). */
  private answered = false;
  /** Some chunk had a candidate, empty or not: which of the two errors a stream with no choice ends with. */
  private candidates = false;
  /** The calls sent so far with a thought signature: what a client that drops `extra_content` does not send back. */
  private readonly signed: ToolCallOut[] = [];

  constructor(
    private readonly options: StreamOptions,
    private readonly stream: ChatStream,
  ) {
    stream.runningUsage = this;
  }

  step(chunk: GenerateContentResponse): readonly string[] {
    const { options, choices } = this;
    const frames = (this.frames ??= new ChunkFrames(
      options.provider,
      chunk.responseId || completionId(),
      chunk.modelVersion || options.model,
      options.includeUsage,
    ));
    // Each chunk's usage is the running total so far.
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (!choices.size) checkPromptBlocked(chunk);
    if (chunk.candidates?.length) this.candidates = true;
    const out: string[] = [];
    for (const candidate of chunk.candidates ?? []) {
      const index = candidate.index ?? 0;
      let state = choices.get(index);
      // A choice opens with its first part or finish: empty candidates alone are no answer (see noAnswer).
      if (!state && isEmptyCandidate(candidate)) continue;
      this.answered ||= answerParts(candidate.content?.parts);
      if (!state) {
        choices.set(index, (state = { calls: 0 }));
        out.push(frames.role(index));
      }
      for (const part of candidate.content?.parts ?? []) {
        if (part.thought) {
          if (options.exposeReasoning && part.text) out.push(frames.reasoning(part.text, index));
        } else if (part.functionCall) {
          if (state.calls >= options.maxToolCalls) continue;
          const call = toolCallOf(part.functionCall, part, options.toolNames);
          if (call.extra) this.signed.push(call);
          out.push(frames.toolCall(state.calls, call, index), frames.toolArguments(state.calls++, call.arguments, index));
        } else if (part.inlineData) throw imageAnswer(options.provider, part.inlineData.mimeType);
        else if (part.text) out.push(frames.content(part.text, index));
      }
      if (candidate.finishReason) {
        state.finish = finishOf(options.provider, candidate, state.calls > 0);
        const refusal = refusalOf(candidate, state.finish);
        if (refusal) out.push(frames.delta({ refusal }, index));
      }
    }
    return out;
  }

  soFar() {
    const usage = usageFrom(this.usage, this.answered);
    // Chunks before the last may carry the prompt's counts alone.
    const outputCounted = this.usage?.candidatesTokenCount != null || this.usage?.thoughtsTokenCount != null;
    return usage && { usage, outputCounted };
  }

  end(): readonly string[] {
    const { frames, options } = this;
    const states = [...this.choices.entries()].sort(([a], [b]) => a - b);
    if (frames && !states.length) throw this.candidates ? noAnswer(options.provider) : noCandidates(options.provider);
    if (!frames || states.some(([, state]) => !state.finish)) throw truncated(options.provider);
    if (this.signed.length) this.options.keep?.(this.signed);
    const out = states.map(([index, state]) => frames.finish(state.finish!, index));
    out.push(...frames.usage((this.stream.usage = usageFrom(this.usage, this.answered))), DONE_FRAME);
    return out;
  }
}
