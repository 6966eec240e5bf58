import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisThreads } from '../../apps/gateway/src/messages/threads/redis-threads';
import { TenantBoundedWrites } from '../../apps/gateway/src/reasoning-state/tenant-bounded-writes';
import { RedisChain } from '../../apps/gateway/src/responses/redis-chain';

/**
 * recheck32b doubtful 4: the per-tenant bookkeeping of stored responses, threads and reasoning state forgot every
 * expired entry in the script of the next write (ZRANGEBYSCORE … -inf now, no LIMIT): 100,000 expired together held
 * Redis, which every replica's limits and budgets share, for the whole of that call. A call now forgets at most
 * FORGET_EXPIRED_PER_CALL (100) of them, and more only while the write would not fit its bound otherwise: expired
 * entries not yet forgotten never refuse it. Here the expired entries are written into the bookkeeping directly,
 * scored long past (as a quiet night leaves them, their keys gone), and each test counts those one call forgot.
 */
const REDIS_URL = process.env.TEST_REDIS_URL;
const EXPIRED = 1_000;
const EXPIRED_BYTES = 100;

describe('pruning of expired entries, bounded per call', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let client: Redis;
  let at: string;
  before(() => void (client = new Redis(REDIS_URL!)));
  after(() => client.disconnect());
  const fresh = () => (at = `test:prune:${randomUUID().slice(0, 8)}:`);

  /** EXPIRED entries of EXPIRED_BYTES each, expired at `score`, in a tenant's expiries, sizes and total. */
  async function expired(expiries: string, sizes: string, total: string, score: number): Promise<void> {
    const ids = Array.from({ length: EXPIRED }, (_, i) => `old_${i}`);
    await client.zadd(expiries, ...ids.flatMap((id, i) => [score + i, id]));
    await client.hset(sizes, Object.fromEntries(ids.map((id) => [id, EXPIRED_BYTES])));
    await client.set(total, EXPIRED * EXPIRED_BYTES);
  }

  it('stored responses: a put forgets 100 expired records, more only to make room for itself', async () => {
    const prefix = fresh();
    const [expiries, sizes, total] = ['~expiries', '~sizes', '~bytes'].map((name) => `${prefix}{t}:${name}`) as [string, string, string];
    // Counted expiries (….5 ms), as this version writes them.
    await expired(expiries, sizes, total, 1_000.5);
    const chain = new RedisChain(client, prefix, EXPIRED * EXPIRED_BYTES, 60);
    assert.equal(await chain.put('t', 'resp_a', 'a', undefined), true);
    assert.equal(await client.zcard(expiries), EXPIRED - 100 + 1, 'one call forgot 100 of the 1,000 expired');
    assert.equal(Number(await client.get(total)), 90_001, 'the 900 expired still counted, and the new record');
    // 25,000 B more do not fit beside the 90,001 counted: expired records are forgotten until they do (300 in all).
    assert.equal(await chain.put('t', 'resp_b', 'b'.repeat(25_000), undefined), true, 'not refused for expired records');
    assert.equal(await client.zcard(expiries), EXPIRED - 300 + 2);
    assert.equal(Number(await client.get(total)), 70_000 + 25_001);
  });

  it('message threads: an append forgets 100 expired threads, more only to make room for itself', async () => {
    const prefix = fresh();
    const [expiries, sizes, total] = ['~expiries', '~sizes', '~bytes'].map((name) => `${prefix}{t}:${name}`) as [string, string, string];
    await expired(expiries, sizes, total, 1_000);
    const threads = new RedisThreads(client, prefix, EXPIRED * EXPIRED_BYTES);
    const create = (id: string, bytes: number) => ({ threadId: id, fixed: '{}', turn: 'x'.repeat(bytes - 2), last: id });
    assert.equal(await threads.append('t', create('msg_a', 10), 60), 'kept');
    assert.equal(await client.zcard(expiries), EXPIRED - 100 + 1, 'one call forgot 100 of the 1,000 expired');
    assert.equal(Number(await client.get(total)), 90_010);
    assert.equal(await threads.append('t', create('msg_b', 25_000), 60), 'kept', 'not refused for expired threads');
    assert.equal(await client.zcard(expiries), EXPIRED - 300 + 2);
    assert.equal(Number(await client.get(total)), 70_000 + 25_010);
  });

  it('reasoning state: a write forgets 100 expired states, and the rest, dropped for the bounds, are not counted as dropped', async () => {
    const prefix = fresh();
    const writes = new TenantBoundedWrites(client, prefix, { ttlSeconds: 60, maxEntries: EXPIRED, maxBytes: 10_000_000 });
    const [index, sizes, total] = ['index', 'sizes', 'bytes'].map((name) => writes.key('t', name));
    await expired(index!, sizes!, total!, 1_000);
    assert.equal(await writes.write('t', [['s0', '{}']]), 0);
    assert.equal(await client.zcard(index!), EXPIRED - 100 + 1, 'one call forgot 100 of the 1,000 expired');
    // 300 more, after 100 more expired were forgotten: 1,101 in the index, past maxEntries; the 101 oldest go, all expired.
    const states = Array.from({ length: 300 }, (_, i) => [`s${i + 1}`, '{}'] as const);
    assert.equal(await writes.write('t', states), 0, 'expired states are not dropped for the bounds');
    assert.equal(await client.zcard(index!), EXPIRED);
    const written = Array.from({ length: 301 }, (_, i) => writes.key('t', `s${i}`));
    assert.equal(await client.exists(...written), 301, 'every state written is kept');
  });
});
