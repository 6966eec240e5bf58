import { DONE } from '@gateway/providers';

type Chunk = string | Uint8Array;

/**
 * `source` read ahead of its consumer, up to `limitBytes` waiting in memory. A streamed request that
 * identical ones wait for (cache.coalesce) settles them when its answer is complete: at its client's
 * pace, a client that kept its connection open without reading held every one of them, without end.
 * Read ahead, the answer completes at the upstream's pace. Past the limit `overflow` runs (once) and
 * reading goes at the consumer's pace again until what waits drains below the limit.
 */
export function readAhead(source: AsyncIterable<Chunk>, limitBytes: number, overflow: () => void): AsyncIterableIterator<Chunk, undefined> {
  return new ReadAhead(source[Symbol.asyncIterator](), limitBytes, overflow);
}

class ReadAhead implements AsyncIterableIterator<Chunk, undefined> {
  private readonly waiting: Chunk[] = [];
  private bytes = 0;
  private pulling = false;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private overflowed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly source: AsyncIterator<Chunk>,
    private readonly limitBytes: number,
    private readonly overflow: () => void,
  ) {
    this.pull();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Chunk, undefined>> {
    for (;;) {
      const chunk = this.waiting.shift();
      if (chunk !== undefined) {
        this.bytes -= chunk.length;
        this.pull();
        return { value: chunk, done: false };
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return DONE;
      this.pull();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<Chunk, undefined>> {
    this.ended = true;
    this.waiting.length = 0;
    await this.source.return?.();
    return DONE;
  }

  private pull(): void {
    if (this.pulling || this.ended || this.failure) return;
    if (this.bytes >= this.limitBytes) {
      if (!this.overflowed) this.overflow();
      this.overflowed = true;
      return;
    }
    this.pulling = true;
    this.source.next().then(
      (result) => {
        this.pulling = false;
        if (result.done) this.ended = true;
        else if (!this.ended) {
          this.waiting.push(result.value);
          this.bytes += result.value.length;
          this.pull();
        }
        this.wakeUp();
      },
      (error: unknown) => {
        this.pulling = false;
        if (!this.ended) this.failure = { error };
        this.wakeUp();
      },
    );
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
