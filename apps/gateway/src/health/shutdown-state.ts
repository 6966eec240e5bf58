import { Injectable } from '@nestjs/common';

/**
 * The error code of a request still unanswered when the drain's grace ran out and closed its
 * connection: a server-side failure (503, or a stream's 200 cut short, ended by its error event
 * with this code), never a client's 499.
 */
export const SHUTDOWN_CUT = 'shutdown_cut';

/** Set when SIGTERM arrives; readiness reports it so traffic moves elsewhere. */
@Injectable()
export class ShutdownState {
  draining = false;
  private readonly graceEnd = new AbortController();
  /**
   * Aborts when the drain's grace has run out, just before it closes the connections still open: a JSON answer's
   * attempt that runs on after its client left (Executor.runWhole, to be billed) ends then too, or the drain would
   * wait for it (up to the attempt's timeout) before the process exits.
   */
  readonly graceOverSignal = this.graceEnd.signal;

  /** The grace has run out: a request unanswered from then on was cut by the gateway, not left by its client (499). */
  get graceOver(): boolean {
    return this.graceOverSignal.aborted;
  }

  endGrace(): void {
    this.graceEnd.abort();
  }

  /** The requests so cut, counted as their access lines are written: the drain's summary at exit. */
  cut = 0;
  /**
   * The streams being written (sse.ts), each by what ends it with its protocol's error event when the
   * grace runs out: cut without one, a client saw its stream just stop, as if the connection had failed.
   */
  readonly streams = new Set<() => Promise<void>>();

  /** Access lines that wait for something of their request to settle (lineAfter): the drain waits for them. */
  private readonly lines = new Set<Promise<void>>();

  /**
   * Writes a request's access line once `settled` has (a priced embedding the cache's store makes after the
   * answer, bounded by its timeout); the drain waits for such lines before the app closes, so neither the
   * line nor the charge it waits for is lost at shutdown.
   */
  lineAfter(settled: Promise<unknown>, write: () => void): void {
    const line = settled.then(write, write).finally(() => this.lines.delete(line));
    this.lines.add(line);
  }

  /** Resolves once every access line waiting in lineAfter has been written. */
  async linesWritten(): Promise<void> {
    while (this.lines.size) await Promise.allSettled([...this.lines]);
  }

  /** Ends every open stream with its error event; resolves once each has been written (or `ms` have passed). */
  async cutStreams(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.allSettled([...this.streams].map((cut) => cut())), bound]);
    clearTimeout(timer);
  }
}
