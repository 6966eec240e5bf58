import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisBackend } from '../../libs/cache/src/backends/redis.backend';
import { RedisThreads } from '../../apps/gateway/src/messages/threads/redis-threads';
import { TenantBoundedWrites } from '../../apps/gateway/src/reasoning-state/tenant-bounded-writes';
import { RedisChain } from '../../apps/gateway/src/responses/redis-chain';
import { eventually } from '../support/eventually';

/**
 * time32 defect 2: the per-key storage bookkeeping in Redis (stored responses' and threads' byte quota, reasoning
 * state's bounds, the cache's cap) scored each entry's expiry or write time with the writing replica's Date.now()
 * and dropped expired entries by the caller's. A replica 2 min fast left what it stored counted 2 min after Redis
 * expired it (731,714 B counted for 5,905 held: another replica refused to store); a slow one's entries were
 * forgotten while still held (the bound exceeded). Here a replica's clock is moved by replacing Date.now while it
 * writes, as the checker's skew preload did; the other writer is this process with its own clock.
 */
const REDIS_URL = process.env.TEST_REDIS_URL;
const SKEW_MS = 120_000;

/** Runs `write` as a replica whose wall clock is `offsetMs` off. */
async function skewed<T>(offsetMs: number, write: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
  try {
    return await write();
  } finally {
    Date.now = realNow;
  }
}

describe('per-key storage bookkeeping in Redis, by Redis` clock', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let client: Redis;
  let prefix: string;
  before(() => void (client = new Redis(REDIS_URL!)));
  after(() => client.disconnect());
  const fresh = () => (prefix = `test:skew:${randomUUID().slice(0, 8)}:`);
  /** Waits until Redis expired `keys`, while `write` keeps the key's bookkeeping alive (it expires with its last write). */
  const gone = (keys: string[], write: (n: number) => Promise<unknown>) => {
    let n = 0;
    return eventually(async () => (await write(n++), (await client.exists(...keys)) === 0));
  };

  it('stored responses: what a fast replica stored stops counting when Redis expires it', async () => {
    fresh();
    const chain = new RedisChain(client, prefix, 10_000, 1);
    const ids = ['resp_f1', 'resp_f2', 'resp_f3', 'resp_f4', 'resp_f5', 'resp_f6'];
    for (const id of ids) assert.equal(await skewed(SKEW_MS, () => chain.put('t', id, 'x'.repeat(1_500), undefined)), true);
    const expired = await gone(
      ids.map((id) => `${prefix}{t}:${id}`),
      (n) => chain.put('t', `resp_k${n}`, 'k', undefined),
    );
    assert.ok(expired, 'Redis expired them');
    assert.equal(await chain.put('t', 'resp_a', 'y'.repeat(5_000), undefined), true, 'stored: the key holds 5,000 B and a few of 10,000');
    assert.ok(Number(await client.get(`${prefix}{t}:~bytes`)) < 6_000, 'the fast replica`s 9,000 B no longer counted');
  });

  it('stored responses: what a slow replica stored counts while Redis holds it', async () => {
    fresh();
    const chain = new RedisChain(client, prefix, 10_000, 60);
    for (let i = 0; i < 6; i++)
      assert.equal(await skewed(-SKEW_MS, () => chain.put('t', `resp_s${i}`, 'x'.repeat(1_500), undefined)), true);
    assert.equal(await chain.put('t', 'resp_a', 'y'.repeat(5_000), undefined), false, 'not stored: 9,000 B held, bound 10,000');
    assert.equal(Number(await client.get(`${prefix}{t}:~bytes`)), 9_000);
  });

  it('message threads: a fast replica`s thread stops counting when Redis expires it', async () => {
    fresh();
    const threads = new RedisThreads(client, prefix, 10_000);
    const create = (n: number, bytes: number) => ({ threadId: `msg_t${n}`, fixed: '{}', turn: 'x'.repeat(bytes), last: `msg_t${n}` });
    assert.equal(await skewed(SKEW_MS, () => threads.append('t', create(1, 9_000), 1)), 'kept');
    const expired = await gone([`${prefix}{t}:thread:msg_t1:head`, `${prefix}{t}:msg_t1`], (n) =>
      threads.append('t', create(100 + n, 1), 1),
    );
    assert.ok(expired, 'Redis expired it');
    assert.equal(await threads.append('t', create(2, 5_000), 60), 'kept');
  });

  it('reasoning state: a slow replica`s states still count in maxEntries', async () => {
    fresh();
    const writes = new TenantBoundedWrites(client, prefix, { ttlSeconds: 60, maxEntries: 3, maxBytes: 1_000_000 });
    for (const id of ['s1', 's2', 's3']) assert.equal(await skewed(-SKEW_MS, () => writes.write('t', [[id, '{}']])), 0);
    assert.equal(await writes.write('t', [['a1', '{}']]), 1, 'the oldest is dropped');
    const live = await client.exists(...['s1', 's2', 's3', 'a1'].map((id) => writes.key('t', id)));
    assert.equal(live, 3, 'maxEntries held');
  });

  it('cache: a slow replica`s entries still count in maxEntries', async () => {
    fresh();
    const backend = new RedisBackend(
      client,
      {
        keyPrefix: prefix,
        indexName: `${prefix}idx`,
        dimensions: 0,
        maxEntries: 3,
        tenantShare: 3,
        hnswM: 16,
        hnswEfConstruction: 200,
        hnswEfRuntime: 64,
      },
      new Logger('test'),
    );
    const entry = { namespace: 'ns', tenant: 't', body: '{}', promptTokens: 1, completionTokens: 1 };
    for (const key of ['k1', 'k2', 'k3']) await skewed(-SKEW_MS, () => backend.put(key, entry, 60));
    await backend.put('k4', entry, 60);
    assert.ok(
      await eventually(async () => (await client.exists(...['k1', 'k2', 'k3', 'k4'].map((k) => `${prefix}e:${k}`))) === 3),
      'one evicted',
    );
    assert.equal(await client.zcard(`${prefix}expiry`), 3, 'the cap holds 3');
  });
});
