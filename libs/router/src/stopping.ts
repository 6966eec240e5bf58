import { Injectable } from '@nestjs/common';

/**
 * When the process stops serving: set once the drain begins (SIGTERM), to the end of its grace. A run
 * that would still be waiting out a Retry-After then is answered at once (the executor) rather than held
 * to the grace's end and then cut with no answer.
 */
@Injectable()
export class Stopping {
  /** The end of the drain's grace (ms since the epoch, as Clock.now); Infinity while not draining. */
  at = Infinity;
  private readonly began = new AbortController();

  /** Aborts when the drain begins: runs asleep wake to see whether their wait outlasts it. */
  get signal(): AbortSignal {
    return this.began.signal;
  }

  /** The drain began; the last request still in flight is cut at `at`. */
  stopAt(at: number): void {
    this.at = at;
    this.began.abort();
  }
}
