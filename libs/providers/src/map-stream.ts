/** How `mapStream` turns a source's chunks into outputs. */
export interface StreamSteps<I, O> {
  /** The outputs of one chunk. A throw ends the stream; the source is closed first. */
  step(chunk: I): readonly O[] | Promise<readonly O[]>;
  /** The outputs once the source has ended. */
  end?(): readonly O[] | Promise<readonly O[]>;
  /** A failure of the source or of a step: the outputs that end the stream, or a throw. Rethrown without it. */
  fail?(err: unknown): readonly O[];
  /**
   * Set by `step` once its chunk held the stream's end marker (`[DONE]`, `message_stop`): the
   * stream ends there, with `end`'s outputs, whether or not the source ends. An upstream may
   * keep its connection open after a complete answer.
   */
  readonly complete?: boolean;
}

/**
 * A source that can be let go of once read to its end marker, as opposed to abandoned
 * (`return()`): an upstream body then keeps its connection for reuse when its end follows.
 */
export interface Releasable {
  release(): void;
}

/** The end of a plain async iterator, shared: nothing to allocate per stream. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * `source` as the outputs of `steps`, read once. A reader that stops early closes the source
 * (its `return()`: the upstream body releases its socket).
 *
 * The streaming path is built from this and not from generators: with async generators there
 * (and, less, with sync ones) most of each streamed request's objects reached V8's old space
 * instead of dying young (BENCHMARKS.md, "Changes, each measured").
 */
export function mapStream<I, O>(source: AsyncIterable<I>, steps: StreamSteps<I, O>): AsyncIterableIterator<O, undefined> {
  return new MappedStream(source[Symbol.asyncIterator](), steps);
}

class MappedStream<I, O> implements AsyncIterableIterator<O, undefined> {
  private out: readonly O[] = [];
  private at = 0;
  /** The source has not ended, failed or been closed. */
  private reading = true;

  constructor(
    private readonly source: AsyncIterator<I>,
    private readonly steps: StreamSteps<I, O>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<O, undefined>> {
    while (this.at >= this.out.length) {
      if (!this.reading) return DONE;
      this.out = await this.pull();
      this.at = 0;
    }
    return { value: this.out[this.at++]!, done: false };
  }

  async return(): Promise<IteratorResult<O, undefined>> {
    this.out = [];
    if (this.reading) {
      this.reading = false;
      await this.source.return?.();
    }
    return DONE;
  }

  /** The outputs of the source's next chunk, or of its end or failure. */
  private async pull(): Promise<readonly O[]> {
    let stepping = false;
    try {
      const next = await this.source.next();
      if (next.done) {
        this.reading = false;
        return (await this.steps.end?.()) ?? [];
      }
      stepping = true;
      const step = this.steps.step(next.value);
      const out = step instanceof Promise ? await step : step;
      return this.steps.complete ? await this.complete(out) : out;
    } catch (err) {
      const closeSource = stepping && this.reading;
      this.reading = false;
      if (closeSource) await this.source.return?.();
      if (!this.steps.fail) throw err;
      return this.steps.fail(err);
    }
  }

  /** The last chunk's outputs and `end`'s, the source no longer read. */
  private async complete(out: readonly O[]): Promise<readonly O[]> {
    this.reading = false;
    const source = this.source as AsyncIterator<I> & Partial<Releasable>;
    if (source.release) source.release();
    else await source.return?.();
    const rest = (await this.steps.end?.()) ?? [];
    return rest.length ? [...out, ...rest] : out;
  }
}
