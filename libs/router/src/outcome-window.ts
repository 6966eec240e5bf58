/** Steps a window is counted in: its start moves by windowMs / STEPS. */
const STEPS = 20;

/**
 * Answers and failures over the last `windowMs`, counted in 20 steps of windowMs / 20:
 * constant memory and O(1) per outcome, however many requests a deployment serves
 * (a list of outcomes would hold every request of the window, ~180,000 at 3,000 req/s
 * over 60 s, all of them surviving into V8's old space). An outcome counts while its step
 * is one of the last 20, the current one included.
 */
export class OutcomeWindow {
  private readonly stepMs: number;
  private readonly steps = Array.from({ length: STEPS }, () => ({ step: -Infinity, total: 0, failures: 0 }));

  constructor(windowMs: number) {
    this.stepMs = windowMs / STEPS;
  }

  /** `count` outcomes alike (another replica's, reported together). */
  record(now: number, failed: boolean, count = 1): void {
    if (!count) return;
    const step = Math.floor(now / this.stepMs);
    const slot = this.steps[((step % STEPS) + STEPS) % STEPS];
    if (slot.step !== step) Object.assign(slot, { step, total: 0, failures: 0 });
    slot.total += count;
    if (failed) slot.failures += count;
  }

  /** Outcomes and failures counted at `now`. */
  counts(now: number): { total: number; failures: number } {
    const oldest = Math.floor(now / this.stepMs) - STEPS + 1;
    let total = 0;
    let failures = 0;
    for (const slot of this.steps) {
      if (slot.step < oldest) continue;
      total += slot.total;
      failures += slot.failures;
    }
    return { total, failures };
  }

  clear(): void {
    for (const slot of this.steps) Object.assign(slot, { step: -Infinity, total: 0, failures: 0 });
  }
}
