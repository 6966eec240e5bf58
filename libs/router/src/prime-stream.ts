import { answerWeight, type ChatStream, DONE, opensToolCall } from '@gateway/providers';

type Chunk = string | Uint8Array;

/** A stream `primeStream` started. */
export interface PrimedStream extends ChatStream {
  /** Set before reading: called once, without an error when the stream was read to its end, with it when it failed (not when its reader stopped early). */
  ended?: (error?: unknown) => void;
  /** Set before reading: called once when the stream closes, however (read to its end, failed, or left by its reader). */
  closed?: () => void;
  /**
   * Set before reading: called once, at the first chunk that carries output (`true`), or, when none
   * does, as the stream ends: `true` read to its end, `false` failed or left by its reader. Ends
   * the attempt's time to first token for the latency strategy.
   */
  outputStarted?: (answered: boolean) => void;
  /** The first chunk (already read, and yielded first): where the upstream names the model that answers. */
  readonly opening?: Chunk;
  /**
   * The size of the output in the chunks yielded so far, in quarter tokens (answerWeight: text, tool-call arguments,
   * refusals, not the events' envelopes): how much the upstream produced, for an estimate of its
   * output when it reports none, measured as a JSON answer is, whatever protocol the client reads it
   * in (a codec's own framing is no output). An object of its own, so that whoever keeps
   * the count does not keep the stream: a request state holding the stream kept its buffers alive
   * past their young generation (SSE ~90 µs a request more CPU, BENCHMARKS.md).
   *
   * `outputAfterMs`, once a chunk carrying output was yielded (answerWeight finds some, or it opens a
   * tool call): the time from the first chunk to it (0: the first chunk carried output). An
   * OpenAI-format stream often opens with chunks that carry none (the role alone, Azure's
   * prompt-filter verdict), sent before generation starts: the time to first token is the time to
   * the first chunk plus this.
   */
  readonly produced: { weight: number; outputAfterMs?: number };
}

/**
 * Waits for a stream's first chunk before the stream counts as started, so a
 * stream that fails before sending anything can still fall back to another
 * deployment. The returned stream yields that chunk, then the rest.
 */
export async function primeStream(pending: Promise<ChatStream>): Promise<PrimedStream> {
  const source = await pending;
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const primedAt = performance.now();
  const primed: PrimedStream = {
    native: source.native,
    runningUsage: source.runningUsage,
    opening: first.value,
    produced: { weight: 0 },
    [Symbol.asyncIterator]: () => new Primed(source, iterator, first, primed, primedAt),
  };
  return primed;
}

/**
 * `primeStream`'s iterator. A plain iterator, not an async generator: with generators on the
 * streaming path most of each request's objects reached the old space (BENCHMARKS.md,
 * "Changes, each measured").
 */
class Primed implements AsyncIterator<Chunk, undefined> {
  private closed = false;
  /** outputStarted was called. */
  private outputSettled = false;

  constructor(
    private readonly source: ChatStream,
    private readonly iterator: AsyncIterator<Chunk>,
    private first: IteratorResult<Chunk> | undefined,
    private readonly primed: PrimedStream,
    private readonly primedAt: number,
  ) {}

  async next(): Promise<IteratorResult<Chunk, undefined>> {
    if (this.closed) return DONE;
    let step: IteratorResult<Chunk>;
    const opening = this.first !== undefined;
    try {
      step = this.first ?? (await this.iterator.next());
      this.first = undefined;
    } catch (err) {
      await this.close();
      this.startOutput(false);
      this.primed.ended?.(err);
      throw err;
    }
    if (!step.done) {
      const weight = answerWeight(step.value, this.source.native);
      const produced = this.primed.produced;
      produced.weight += weight;
      // Only the chunks before the first with output are looked at for a tool call's opening.
      if (!this.outputSettled && (weight > 0 || opensToolCall(step.value))) {
        produced.outputAfterMs = opening ? 0 : performance.now() - this.primedAt;
        this.startOutput(true);
      }
      return step;
    }
    await this.close();
    this.startOutput(true);
    this.primed.ended?.();
    return DONE;
  }

  /** Stopped early (client gone): let the source release its upstream. */
  async return(): Promise<IteratorResult<Chunk, undefined>> {
    await this.close();
    this.startOutput(false);
    return DONE;
  }

  private startOutput(answered: boolean): void {
    if (this.outputSettled) return;
    this.outputSettled = true;
    this.primed.outputStarted?.(answered);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.primed.closed?.();
    this.primed.usage = this.source.usage;
    this.primed.serviceTier = this.source.serviceTier;
    await this.iterator.return?.();
  }
}
