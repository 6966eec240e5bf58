import { Injectable } from '@nestjs/common';

/**
 * Time as the router sees it. The system clock in production; property tests swap
 * in a virtual one so thousands of fault sequences run in milliseconds.
 */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }

  /** Calls `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  }

  /** Resolves after `ms`, or at once when `signal` aborts (the caller checks `signal.aborted`). */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        cancel();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const cancel = this.after(ms, done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
