import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryQueue } from '../../apps/gateway/src/stores/expiry-queue';

/** The in-process stores' expiry order (memory-backend.ts, memory-threads.ts), driven with items of their own. */
describe('expiry queue', () => {
  const make = () => {
    const held = new Set<{ id: string; expiresAt: number }>();
    const queue = new ExpiryQueue<{ id: string; expiresAt: number }>((item) => held.has(item));
    const add = (id: string, expiresAt: number) => {
      const item = { id, expiresAt };
      held.add(item);
      queue.add(item);
      return item;
    };
    const expired = (now: number) => queue.expired(now).map((item) => (held.delete(item), item.id));
    return { held, queue, add, expired };
  };

  it('gives the held items expired by now, soonest first, whatever order they came in', () => {
    const { add, expired } = make();
    for (const [id, at] of [
      ['c', 30],
      ['a', 10],
      ['e', 50],
      ['b', 20],
      ['d', 40],
    ] as const)
      add(id, at);
    assert.deepEqual(expired(5), []);
    assert.deepEqual(expired(30), ['a', 'b', 'c']);
    assert.deepEqual(expired(100), ['d', 'e']);
    assert.deepEqual(expired(1_000), []);
  });

  it('skips items the store let go of, and queues again one whose expiry moved later', () => {
    const { held, add, expired } = make();
    const gone = add('gone', 10);
    const renewed = add('renewed', 10);
    add('other', 20);
    held.delete(gone);
    renewed.expiresAt = 30;
    assert.deepEqual(expired(25), ['other']);
    assert.deepEqual(expired(30), ['renewed']);
  });

  it('stays within twice what the store holds (and a floor) however many items come and go', () => {
    const { held, queue, add } = make();
    const records = () => (Reflect.get(queue, 'heap') as unknown[]).length;
    const keep = Array.from({ length: 2_000 }, (_, i) => add(`k${i}`, 1_000_000 + i));
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      held.delete(add(`t${i}`, 1_000_000)); // taken in, then evicted or deleted before it expires
      most = Math.max(most, records());
    }
    assert.ok(most <= 2 * (keep.length + 1), `${most} records for ${keep.length} items held`);
  });
});
