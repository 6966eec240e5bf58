import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedMap } from '../../libs/providers/src/bounded-map';

// Gemini's embeddings batches of one request go through it (gemini/adapter.ts): a 2,048-input request is 21 calls.
describe('boundedMap', () => {
  it('runs at most `limit` at once and keeps the results in the items` order', async () => {
    let running = 0;
    let most = 0;
    const results = await boundedMap(
      Array.from({ length: 21 }, (_, i) => i),
      4,
      async (i) => {
        most = Math.max(most, ++running);
        // Later items finish first, so order is not completion order.
        for (let tick = 0; tick < 21 - i; tick++) await Promise.resolve();
        running--;
        return i * 10;
      },
    );
    assert.equal(most, 4);
    assert.deepEqual(
      results,
      Array.from({ length: 21 }, (_, i) => i * 10),
    );
  });

  it('rejects with the first failure and starts no item after it', async () => {
    const started: number[] = [];
    const failure = new Error('batch 2 refused');
    await assert.rejects(
      boundedMap([0, 1, 2, 3, 4, 5, 6, 7], 2, async (i) => {
        started.push(i);
        await Promise.resolve();
        if (i === 2) throw failure;
        return i;
      }),
      failure,
    );
    assert.ok(!started.includes(5), `started ${started.join(',')}`);
  });

  it('rejects only once the items running when one failed have settled', async () => {
    const ended: number[] = [];
    const failure = new Error('batch 1 refused');
    await assert.rejects(
      boundedMap([0, 1, 2, 3], 4, async (i) => {
        if (i === 1) throw failure;
        // Still running when item 1 fails: its upstream may answer (and bill) it.
        for (let tick = 0; tick < 10; tick++) await Promise.resolve();
        ended.push(i);
        return i;
      }),
      failure,
    );
    assert.deepEqual([...ended], [0, 2, 3], 'ended by the rejection');
  });
});
