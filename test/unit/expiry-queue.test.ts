import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiryQueue } from '../../apps/gateway/src/stores/expiry-queue';

/** The in-process stores' expiry order (memory-backend.ts, memory-threads.ts), driven with a store of its own. */
describe('expiry queue', () => {
  const make = () => {
    const store = new Map<string, number>(); // `<tenant>:<id>` -> expiry
    const queue = new ExpiryQueue((tenant, id) => store.get(`${tenant}:${id}`));
    const set = (key: string, expiresAt: number) => {
      store.set(`t:${key}`, expiresAt);
      queue.add('t', key, expiresAt);
    };
    const expired = (now: number) => queue.expired(now).map(([tenant, id]) => (store.delete(`${tenant}:${id}`), id));
    return { store, queue, set, expired };
  };

  it('gives the keys expired by now, soonest first, whatever order they came in', () => {
    const { set, expired } = make();
    for (const [key, at] of [
      ['c', 30],
      ['a', 10],
      ['e', 50],
      ['b', 20],
      ['d', 40],
    ] as const)
      set(key, at);
    assert.deepEqual(expired(5), []);
    assert.deepEqual(expired(30), ['a', 'b', 'c']);
    assert.deepEqual(expired(100), ['d', 'e']);
    assert.deepEqual(expired(1_000), []);
  });

  it('skips keys the store let go of, and a key at an expiry it no longer has', () => {
    const { store, set, expired } = make();
    set('gone', 10);
    set('renewed', 10);
    set('other', 20);
    store.delete('t:gone');
    set('renewed', 30);
    assert.deepEqual(expired(25), ['other']);
    assert.deepEqual(expired(30), ['renewed']);
  });

  it('stays within twice what the store holds (and a floor) however many keys come and go', () => {
    const { store, queue, set } = make();
    const records = () => (Reflect.get(queue, 'ats') as unknown[]).length;
    for (let i = 0; i < 2_000; i++) set(`k${i}`, 1_000_000 + i);
    let most = 0;
    for (let i = 0; i < 100_000; i++) {
      set(`t${i}`, 1_000_000); // taken in, then evicted or deleted before it expires
      store.delete(`t:t${i}`);
      set('k0', 1_000_000 + i); // and one renewed again and again
      most = Math.max(most, records());
    }
    assert.ok(most <= 2 * (store.size + 1), `${most} records for ${store.size} keys held`);
  });
});
