import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InFlight } from '../../libs/router/src/in-flight';

/** A step against both the structure and a plain model: a start, or the end of the k-th attempt ever started (ended or not). */
const step = fc.oneof(
  { arbitrary: fc.record({ start: fc.integer({ min: 0, max: 1_000_000 }) }), weight: 3 },
  { arbitrary: fc.record({ end: fc.nat() }), weight: 3 },
);

describe('InFlight (start times of attempts in flight)', () => {
  it('reports the same oldest start and count as a model, whatever order attempts end in, and stays bounded', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 600 }), (steps) => {
        const inFlight = new InFlight();
        const model = new Map<number, number>(); // id -> start, in start order
        const ids: number[] = [];
        for (const s of steps) {
          if ('start' in s) {
            const id = inFlight.start(s.start);
            ids.push(id);
            model.set(id, s.start);
          } else if (ids.length > 0) {
            const id = ids[s.end % ids.length];
            assert.equal(inFlight.end(id), model.get(id));
            model.delete(id);
          }
          assert.equal(inFlight.size, model.size);
          assert.equal(inFlight.oldest(), model.values().next().value);
          assert.ok(inFlight.slots <= 2 * model.size + 33, `${inFlight.slots} slots for ${model.size} in flight`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an unknown id ends nothing', () => {
    const inFlight = new InFlight();
    const id = inFlight.start(5);
    assert.equal(inFlight.end(id + 1), undefined);
    assert.equal(inFlight.end(-1), undefined);
    assert.equal(inFlight.oldest(), 5);
  });

  it('one attempt that never ends keeps the arrays small while 100,000 others come and go', () => {
    const inFlight = new InFlight();
    inFlight.start(1);
    for (let i = 0; i < 100_000; i++) inFlight.end(inFlight.start(2 + i));
    assert.equal(inFlight.oldest(), 1);
    assert.equal(inFlight.size, 1);
    assert.ok(inFlight.slots <= 35, `${inFlight.slots} slots`);
  });
});
