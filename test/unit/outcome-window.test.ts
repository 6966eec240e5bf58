import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OutcomeWindow } from '../../libs/router/src/outcome-window';

const WINDOW_MS = 1_000;
const STEP_MS = WINDOW_MS / 20;

describe('breaker outcome window', () => {
  it('counts exactly the outcomes of the last 20 steps, whatever the times and gaps (fast-check, fixed seed)', () => {
    const outcome = fc.record({
      gapMs: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 3_000 })),
      failed: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.array(outcome, { maxLength: 300 }), (start, outcomes) => {
        const window = new OutcomeWindow(WINDOW_MS);
        const seen: { at: number; failed: boolean }[] = [];
        let now = start;
        for (const { gapMs, failed } of outcomes) {
          now += gapMs;
          window.record(now, failed);
          seen.push({ at: now, failed });
          // The oracle: every outcome kept, filtered by its step.
          const oldest = (Math.floor(now / STEP_MS) - 19) * STEP_MS;
          const inWindow = seen.filter((o) => o.at >= oldest);
          assert.deepEqual(window.counts(now), { total: inWindow.length, failures: inWindow.filter((o) => o.failed).length });
        }
      }),
      { seed: 23, numRuns: 300 },
    );
  });

  it('forgets everything on clear, and an outcome a whole window old no longer counts', () => {
    const window = new OutcomeWindow(WINDOW_MS);
    window.record(10, true);
    window.record(20, false);
    assert.deepEqual(window.counts(20), { total: 2, failures: 1 });
    assert.deepEqual(window.counts(10 + WINDOW_MS), { total: 0, failures: 0 });
    window.record(30, true);
    window.clear();
    assert.deepEqual(window.counts(30), { total: 0, failures: 0 });
  });
});
