import { Clock } from '@gateway/router';

/**
 * Virtual time for the router: `after` queues a timer, `drain` fires timers in time
 * order (letting promise chains settle in between) until none is left. Thousands of
 * fault sequences with seconds of waiting each run in milliseconds, and none depends
 * on how busy the machine is.
 */
export class FakeClock extends Clock {
  private time: number;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = 1_700_000_000_000) {
    super();
    this.time = start;
  }

  override now(): number {
    return this.time;
  }

  override after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  /** Fires every timer due up to `until` (all of them when omitted), in order; time ends at `until`. */
  async drain(until = Infinity): Promise<void> {
    for (;;) {
      await settle();
      const next = this.timers.reduce<(typeof this.timers)[number] | undefined>(
        (a, t) => (!a || t.at < a.at || (t.at === a.at && t.seq < a.seq) ? t : a),
        undefined,
      );
      if (!next || next.at > until) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    if (Number.isFinite(until)) this.time = Math.max(this.time, until);
  }
}

/** Lets every pending promise chain run (they only wait on virtual timers). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
