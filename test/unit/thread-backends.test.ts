import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryThreads } from '../../apps/gateway/src/messages/threads/memory-threads';
import { RedisThreads } from '../../apps/gateway/src/messages/threads/redis-threads';
import { CONTINUED, type ThreadBackend } from '../../apps/gateway/src/messages/threads/thread-backend';
import { eventually } from '../support/eventually';

/**
 * The two homes of message threads (Redis, and this process without it), driven alike. Found by a
 * review: a continue's claim on its response was renewed and settled whoever held it by then, so a
 * claim that lapsed (its replica paused) and was taken by a second continue was deleted by the first
 * one's late settle (letting a third continue in) or overwritten; and each turn rewrote the thread.
 */
const REDIS_URL = process.env.TEST_REDIS_URL;

interface Home {
  backend: ThreadBackend;
  /** Makes the claim on `id` lapse, as it does when its holder stops renewing it. */
  lapse(tenant: string, id: string): Promise<void>;
}

const homes: { name: string; skip: string | false; open(): Promise<Home>; close(): Promise<void> }[] = [];
let now = 0;
homes.push({
  name: 'in process',
  skip: false,
  open: async () => ({
    backend: new MemoryThreads(
      10_000,
      () => {},
      () => now,
    ),
    lapse: async () => void (now += 2_000),
  }),
  close: async () => {},
});
let redis: Redis | undefined;
homes.push({
  name: 'in Redis',
  skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)',
  open: async () => {
    redis = new Redis(REDIS_URL!);
    const prefix = `test:threads:${randomUUID()}:`;
    return {
      backend: new RedisThreads(redis, prefix, 1024 * 1024),
      // The claim's short TTL (1 s, given below) runs out.
      lapse: async (tenant, id) => void (await eventually(async () => (await redis!.exists(`${prefix}{${tenant}}:next:${id}`)) === 0)),
    };
  },
  close: async () => void redis?.disconnect(),
});

const turn = (text: string, answer: string) =>
  JSON.stringify([
    { role: 'user', content: text },
    { role: 'assistant', content: answer },
  ]);

for (const home of homes) {
  describe(`message threads ${home.name}`, { skip: home.skip }, () => {
    let h: Home;
    before(async () => (h = await home.open()));
    after(() => home.close());

    it('a claim is changed only by its holder: a lapsed one taken by another is not released, renewed or settled by the first', async () => {
      const { backend } = h;
      assert.equal(await backend.claim('t1', 'msg_r1', 'first', 1), true);
      assert.equal(await backend.claim('t1', 'msg_r1', 'second', 1), false, 'held');
      await h.lapse('t1', 'msg_r1');
      assert.equal(await backend.claim('t1', 'msg_r1', 'second', 30), true, 'lapsed: another continue takes it');
      assert.equal(await backend.renew('t1', 'msg_r1', 'first', 30), false);
      assert.equal(
        await backend.release('t1', 'msg_r1', 'first', undefined, 30),
        false,
        "the first's failure does not let go of the second's claim",
      );
      assert.equal(await backend.release('t1', 'msg_r1', 'first', CONTINUED, 30), false, 'nor does its success overwrite it');
      assert.equal(await backend.marked('t1', 'msg_r1'), 'second');
      assert.equal(await backend.claim('t1', 'msg_r1', 'third', 30), false, 'a third is kept off');
      assert.equal(await backend.renew('t1', 'msg_r1', 'second', 30), true);
      assert.equal(await backend.release('t1', 'msg_r1', 'second', CONTINUED, 30), true);
      assert.equal(await backend.marked('t1', 'msg_r1'), CONTINUED);
    });

    it('a thread grows a turn at a time, only from its latest response; a read sees whole turns', async () => {
      const { backend } = h;
      const fixed = JSON.stringify({ fingerprint: {} });
      const first = { threadId: 'msg_a1', fixed, turn: turn('one', 'ONE'), last: 'msg_a1' };
      assert.equal(await backend.append('t2', first, 300), 'kept');
      assert.equal(await backend.append('t2', { ...first, turn: turn('two', 'TWO'), last: 'msg_a2', after: 'msg_a1' }, 300), 'kept');
      assert.equal(
        await backend.append('t2', { ...first, turn: turn('two again', 'X'), last: 'msg_a3', after: 'msg_a1' }, 300),
        'moved',
        'the thread went on from msg_a2: one line of turns, not two',
      );
      for (const id of ['msg_a1', 'msg_a2']) {
        assert.deepEqual(
          await backend.read('t2', id),
          { id: 'msg_a1', fixed, last: 'msg_a2', turns: [turn('one', 'ONE'), turn('two', 'TWO')] },
          id,
        );
      }
      assert.equal(await backend.read('t2', 'msg_a3'), undefined);
      assert.equal(await backend.read('t3', 'msg_a1'), undefined, "another tenant's");
      assert.equal(await backend.append('t2', { ...first, threadId: 'msg_zz', after: 'msg_zz', last: 'msg_a4' }, 300), 'gone');
    });
  });
}

// Found by an independent re-check: a thread whose turns were evicted (volatile-lru under maxmemory) while a
// continue ran was cut to that continue's turn, and its next continue sent the model 3 messages of 11.
describe('message threads in Redis, a turn list lost', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const client = new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { lazyConnect: true });
  after(() => client.disconnect());

  it('is not appended to: the continue finds it gone and the thread is written anew, whole', async () => {
    await client.connect();
    const prefix = `test:threads:${randomUUID()}:`;
    const backend = new RedisThreads(client, prefix, 1024 * 1024);
    const fixed = JSON.stringify({ fingerprint: {} });
    const first = { threadId: 'msg_b1', fixed, turn: turn('one', 'ONE'), last: 'msg_b1' };
    assert.equal(await backend.append('t', first, 300), 'kept');
    assert.equal(await backend.append('t', { ...first, turn: turn('two', 'TWO'), last: 'msg_b2', after: 'msg_b1' }, 300), 'kept');
    await client.del(`${prefix}{t}:thread:msg_b1:turns`);
    const third = { ...first, turn: turn('three', 'THREE'), last: 'msg_b3', after: 'msg_b2' };
    assert.equal(await backend.append('t', third, 300), 'gone');
    const whole = JSON.stringify([
      ...JSON.parse(turn('one', 'ONE')),
      ...JSON.parse(turn('two', 'TWO')),
      ...JSON.parse(turn('three', 'THREE')),
    ]);
    assert.equal(await backend.append('t', { ...first, turn: whole, last: 'msg_b3' }, 300), 'kept', 'written anew');
    assert.deepEqual(await backend.read('t', 'msg_b3'), { id: 'msg_b1', fixed, last: 'msg_b3', turns: [whole] });
  });
});

// leak28 defect 2: one key's threads in Redis had no bound but their TTL (30 creates of a 1 MB prompt
// added 31 MB). Seen failing before the bound: the fourth and fifth turns below were kept.
describe('message threads in Redis, a bound per key', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const client = new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { lazyConnect: true });
  after(() => client.disconnect());

  it('a turn that would take its key past tenantMaxMemoryMb is not kept; other keys are; an expired thread gives its room back', async () => {
    await client.connect();
    const prefix = `test:threads:${randomUUID()}:`;
    const backend = new RedisThreads(client, prefix, 100_000);
    const fixed = JSON.stringify({ fingerprint: {} });
    const big = (n: number) => turn('x'.repeat(30_000), `answer ${n}`);
    const create = (n: number) => ({ threadId: `msg_c${n}`, fixed, turn: big(n), last: `msg_c${n}` });
    assert.deepEqual(
      [await backend.append('t', create(1), 300), await backend.append('t', create(2), 300), await backend.append('t', create(3), 300)],
      ['kept', 'kept', 'kept'],
    );
    const more = { ...create(1), turn: big(4), last: 'msg_c4', after: 'msg_c1' };
    assert.equal(await backend.append('t', more, 300), 'over_bound', 'a continue');
    assert.equal(await backend.append('t', create(5), 300), 'over_bound', 'a create');
    assert.equal(await backend.read('t', 'msg_c5'), undefined);
    const unchanged = await backend.read('t', 'msg_c1');
    assert.ok(unchanged && unchanged !== 'dropped' && unchanged.last === 'msg_c1', 'the thread is as it was');
    assert.equal(await backend.append('u', create(5), 300), 'kept', 'another key');

    // Past its expiry a thread leaves the count (its keys expired on their own).
    await client.zadd(`${prefix}{t}:~expiries`, 0, 'msg_c2');
    await client.del(`${prefix}{t}:thread:msg_c2:head`, `${prefix}{t}:thread:msg_c2:turns`, `${prefix}{t}:thread:msg_c2:ids`);
    assert.equal(await backend.append('t', create(6), 300), 'kept');
    const held = Number(await client.get(`${prefix}{t}:~bytes`));
    assert.ok(held <= 100_000 && held > 60_000, `${held} B held`);
  });
});

describe('message threads in process, within maxMemoryMb', () => {
  it('evicts the least recently used threads for room, and marks a thread larger than the store as not kept', async () => {
    const evicted: number[] = [];
    const backend = new MemoryThreads(1_000, (n) => evicted.push(n));
    const fixed = '{}';
    const kept = (id: string, size: number) => backend.append('t', { threadId: id, fixed, turn: 'x'.repeat(size), last: id }, 300);
    assert.equal(await kept('msg_b1', 300), 'kept');
    assert.equal(await kept('msg_b2', 300), 'kept');
    assert.equal(await kept('msg_b3', 300), 'kept');
    assert.deepEqual(evicted, [1], 'the oldest went for the third');
    assert.equal(await backend.read('t', 'msg_b1'), undefined);
    assert.equal(await kept('msg_b4', 2_000), 'too_large');
    assert.equal(await backend.read('t', 'msg_b4'), 'dropped', 'its id says why it is not found');
    assert.notEqual(await backend.read('t', 'msg_b3'), undefined, 'nothing was evicted for a thread that would not fit anyway');
  });
});

// Found by independent checks: the bound counted JSON characters, then UTF-8 bytes; V8 keeps a string with one
// character beyond Latin-1 at two bytes a character, so such threads took twice the store's bound.
describe('message threads in process, sizes as V8 keeps them', () => {
  it('a turn with a character beyond Latin-1 counts two bytes a character, all of them', async () => {
    const backend = new MemoryThreads(1_000, () => {});
    const turn = { threadId: 'msg_e1', fixed: '{}', turn: '\u2019'.repeat(450), last: 'msg_e1' };
    assert.equal(await backend.append('t', turn, 300), 'too_large', '450 characters, 900 bytes, with its marks over 1,000');
    const mostlyAscii = { ...turn, threadId: 'msg_e2', last: 'msg_e2', turn: `${'x'.repeat(440)}\u2019` };
    assert.equal(await backend.append('t', mostlyAscii, 300), 'too_large', '441 characters at two bytes: 882, 1,012 with its marks');
    assert.equal(
      await backend.append('t', { ...turn, threadId: 'msg_e3', last: 'msg_e3', turn: '\u00e9'.repeat(450) }, 300),
      'kept',
      'é is Latin-1: a byte',
    );
  });
});

// Found by an independent re-check: eviction was one LRU over every key's threads, so one key creating
// threads evicted every other key's. Room is now made from the key holding the most.
describe('message threads in process, each key its share', () => {
  it('one key filling the store evicts its own threads, not another key`s; a key over another gives room back first', async () => {
    const evicted: number[] = [];
    // 430 bytes a thread (2 fixed, 300 turn, 128 marks): 6 fit in 3,000.
    const backend = new MemoryThreads(3_000, (n) => evicted.push(n));
    const create = (tenant: string, id: string) =>
      backend.append(tenant, { threadId: id, fixed: '{}', turn: 'x'.repeat(300), last: id }, 300);
    const held = async (tenant: string, ids: string[]) => {
      const found: string[] = [];
      for (const id of ids) if ((await backend.read(tenant, id)) !== undefined) found.push(id);
      return found;
    };
    await create('a', 'msg_a1');
    await create('a', 'msg_a2');
    const flood = Array.from({ length: 10 }, (_, i) => `msg_b${i}`);
    for (const id of flood) assert.equal(await create('b', id), 'kept');
    assert.deepEqual(await held('a', ['msg_a1', 'msg_a2']), ['msg_a1', 'msg_a2'], 'the flood did not evict key a');
    assert.deepEqual(await held('b', flood), flood.slice(6), 'key b evicted its own least recently used');
    assert.equal(
      evicted.reduce((sum, n) => sum + n, 0),
      6,
    );

    await create('a', 'msg_a3'); // a holds 2 of 6, b 4: b gives the room
    assert.deepEqual(await held('b', flood), flood.slice(7));
    await create('a', 'msg_a4'); // a would hold 4, b 3: a makes room from its own
    assert.deepEqual(await held('a', ['msg_a1', 'msg_a2', 'msg_a3', 'msg_a4']), ['msg_a2', 'msg_a3', 'msg_a4']);
    assert.deepEqual(await held('b', flood), flood.slice(7), 'b keeps its share');
  });

  // Found by an independent re-check: a key adding its first thread was not counted as holding anything, so
  // one large thread pushed out the threads of a key holding less (and did again with each continue).
  it('a key`s first thread larger than what the others hold is not kept, and evicts nothing in vain', async () => {
    const evicted: number[] = [];
    // a: 4 threads of 230 bytes (2 fixed, 100 turn, 128 marks) = 920 of 1,000.
    const backend = new MemoryThreads(1_000, (n) => evicted.push(n));
    const create = (tenant: string, id: string, size: number) =>
      backend.append(tenant, { threadId: id, fixed: '{}', turn: 'x'.repeat(size), last: id }, 300);
    const ids = ['msg_a1', 'msg_a2', 'msg_a3', 'msg_a4'];
    for (const id of ids) assert.equal(await create('a', id, 100), 'kept');
    // b's 630 bytes: room would take three of a's threads, leaving a 230 against b's 630.
    assert.equal(await create('b', 'msg_b1', 500), 'too_large');
    assert.equal(await backend.read('b', 'msg_b1'), 'dropped', 'its id says why it is not found');
    for (const id of ids) assert.notEqual(await backend.read('a', id), undefined, `${id} is still kept`);
    assert.deepEqual(evicted, []);
    // Half the store is b's share once a holds the other half: room comes from a, which holds more.
    assert.equal(await create('b', 'msg_b2', 270), 'kept');
    assert.deepEqual(evicted, [2]);
    assert.deepEqual(await Promise.all(ids.map(async (id) => (await backend.read('a', id)) !== undefined)), [false, false, true, true]);
  });
});

// Found by an independent check (state28): expired threads went only when read, so they counted against the
// store's bound and in their key's share, and a key's live threads were evicted in their stead.
describe('message threads in process, expired ones', () => {
  const create = (backend: MemoryThreads, tenant: string, id: string, size = 300) =>
    backend.append(tenant, { threadId: id, fixed: '{}', turn: 'x'.repeat(size), last: id }, 300);

  it('expired threads make the room before any live one is evicted, and do not count in a key`s share', async () => {
    let now = 0;
    const evicted: number[] = [];
    // 430 bytes a thread (2 fixed, 300 turn, 128 marks): 6 fit in 3,000.
    const backend = new MemoryThreads(
      3_000,
      (n) => evicted.push(n),
      () => now,
    );
    await create(backend, 'b', 'msg_b1');
    await create(backend, 'b', 'msg_b2');
    now = 300_000; // b's threads expired, unread
    const ids = ['msg_a1', 'msg_a2', 'msg_a3', 'msg_a4', 'msg_a5'];
    for (const id of ids) assert.equal(await create(backend, 'a', id), 'kept');
    for (const id of ids) assert.notEqual(await backend.read('a', id), undefined, `${id} is still kept`);
    assert.deepEqual(evicted, [], 'no live thread went');
  });

  it('the marks of threads too large to keep, and lapsed claims, go once expired', async () => {
    let now = 0;
    const backend = new MemoryThreads(
      1_000,
      () => {},
      () => now,
    );
    const marks = () => (Reflect.get(backend, 'marks') as Map<string, unknown>).size;
    for (let i = 0; i < 50; i++) assert.equal(await create(backend, 'a', `msg_big${i}`, 2_000), 'too_large');
    for (let i = 0; i < 50; i++) assert.equal(await backend.claim('a', `msg_c${i}`, 'holder', 30), true);
    assert.equal(marks(), 100);
    now = 300_000; // all of them expired, none read again
    assert.equal(await create(backend, 'a', 'msg_a1'), 'kept');
    assert.equal(marks(), 1, 'only the kept thread`s mark is left');
  });
});
