import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { type ChainBackend, MemoryChain } from '../../apps/gateway/src/responses/chain-backend';
import { isShown, linkedRecord } from '../../apps/gateway/src/responses/linked-record';
import { RedisChain } from '../../apps/gateway/src/responses/redis-chain';
import { MemoryBackend } from '../../apps/gateway/src/stores/memory-backend';

const REDIS_URL = process.env.TEST_REDIS_URL;
const CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL;
const TTL = 3600;
const TENANT = 'erase';

/** A client of the test Redis (a Cluster's, given `cluster`), disconnected after the file. */
const clients: (Redis | Cluster)[] = [];
after(() => clients.forEach((c) => c.disconnect()));
function connect(url: string, cluster: boolean): Redis | Cluster {
  const { port, password } = new URL(url);
  const client = cluster
    ? new Cluster([{ host: '127.0.0.1', port: Number(port) }], { redisOptions: { password: password || undefined } })
    : new Redis(url);
  clients.push(client);
  return client;
}

/** A backend, and what it holds: records (in Redis, among `ids`) and bytes (Redis' count, or undefined in process). */
interface Backend {
  chain: ChainBackend;
  held(ids: string[]): Promise<{ records: number; bytes?: number; continued?: number }>;
}

function inProcess(): Backend {
  const memory = new MemoryBackend(64 * 1024 * 1024);
  return { chain: new MemoryChain(memory, TTL), held: async () => ({ records: memory.size }) };
}

function inRedis(client: Redis | Cluster): Backend {
  const prefix = `erase-unit-${randomBytes(4).toString('hex')}:`;
  const key = (id: string) => `${prefix}{${TENANT}}:${id}`;
  return {
    chain: new RedisChain(client, prefix, 64 * 1024 * 1024, TTL),
    held: async (ids) => {
      const records = (await Promise.all(ids.map((id) => client.exists(key(id))))).reduce((a, b) => a + b, 0);
      const sizes = await client.hlen(key('~sizes'));
      const expiries = await client.zcard(key('~expiries'));
      assert.equal(sizes, records, "each record in the tenant's sizes");
      assert.equal(expiries, records, "each record in the tenant's expiries");
      return { records, bytes: Number((await client.get(key('~bytes'))) ?? 0), continued: await client.hlen(key('~children')) };
    },
  };
}

const BACKENDS: { name: string; make?: () => Backend }[] = [
  { name: 'in process', make: inProcess },
  { name: 'Redis', make: REDIS_URL ? () => inRedis(connect(REDIS_URL, false)) : undefined },
  { name: 'Redis Cluster', make: CLUSTER_URL ? () => inRedis(connect(CLUSTER_URL, true)) : undefined },
];

/** What the model keeps of a response: the one it continues, its record, and whether it was deleted. */
interface Modeled {
  previous: string | undefined;
  value: string;
  deleted: boolean;
}

/**
 * What must be stored: every response not deleted, and every one a stored response links back to (its
 * conversation needs it); nothing else.
 */
function stored(model: Map<string, Modeled>): Set<string> {
  const kept = new Set<string>();
  for (const [id, response] of model) {
    if (response.deleted) continue;
    for (let at: string | undefined = id; at !== undefined && !kept.has(at); at = model.get(at)!.previous) kept.add(at);
  }
  return kept;
}

const depth = (model: Map<string, Modeled>, id: string): number => {
  const previous = model.get(id)!.previous;
  return previous ? depth(model, previous) + 1 : 1;
};

const op = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), size: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant('continue' as const), of: fc.nat(), size: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant('delete' as const), of: fc.nat() }),
);

for (const { name, make } of BACKENDS) {
  describe(
    `stored responses: deleting every response of a conversation deletes its records (${name})`,
    { skip: !make && 'no Redis' },
    () => {
      it('random creates, continuations, forks and deletes hold exactly what a live conversation links to', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
            const backend = make!();
            const model = new Map<string, Modeled>();
            const ids: string[] = [];
            let n = 0;
            for (const step of ops) {
              if (step.kind === 'delete') {
                if (!ids.length) continue;
                const id = ids[step.of % ids.length]!;
                const shown = stored(model).has(id) && !model.get(id)!.deleted;
                assert.equal(await backend.chain.delete(TENANT, id), shown, `delete ${id}`);
                model.get(id)!.deleted = true;
              } else {
                const open = ids.filter((id) => !model.get(id)!.deleted);
                const previous = step.kind === 'continue' && open.length ? open[step.of % open.length] : undefined;
                const id = `resp_${String(n++).padStart(4, '0')}`;
                const value = linkedRecord(previous, JSON.stringify({ id, pad: 'é'.repeat(step.size) }));
                assert.equal(await backend.chain.put(TENANT, id, value, previous), true, `put ${id}`);
                model.set(id, { previous, value, deleted: false });
                ids.push(id);
              }
              const kept = stored(model);
              for (const id of ids) {
                const value = await backend.chain.get(TENANT, id);
                assert.equal(value !== undefined, kept.has(id), `${id} stored`);
                if (value === undefined) continue;
                assert.equal(isShown(value), !model.get(id)!.deleted, `${id} shown`);
                if (!model.get(id)!.deleted)
                  assert.equal((await backend.chain.chain(TENANT, id))?.length, depth(model, id), `${id}'s chain`);
              }
              const held = await backend.held(ids);
              assert.equal(held.records, kept.size, 'records held');
              if (held.bytes !== undefined) {
                const bytes = [...kept].reduce((sum, id) => sum + Buffer.byteLength(model.get(id)!.value), 0);
                assert.equal(held.bytes, bytes, "the tenant's bytes");
              }
            }
            // Every response deleted at last: nothing is left.
            for (const id of ids) if (!model.get(id)!.deleted) await backend.chain.delete(TENANT, id);
            const left = await backend.held(ids);
            assert.deepEqual(left, { records: 0, ...(left.bytes !== undefined && { bytes: 0, continued: 0 }) });
          }),
          { numRuns: 60 },
        );
      });
    },
  );
}

for (const { name, make } of BACKENDS) {
  it(`continuations of one response stored at once are each counted (${name})`, { skip: !make && 'no Redis' }, async () => {
    const { chain } = make!();
    const record = (previous?: string) => linkedRecord(previous, '{}');
    assert.equal(await chain.put(TENANT, 'p', record(), undefined), true);
    assert.deepEqual(await Promise.all(['a', 'b'].map((id) => chain.put(TENANT, id, record('p'), 'p'))), [true, true]);
    assert.equal(await chain.delete(TENANT, 'p'), true);
    assert.equal(await chain.delete(TENANT, 'a'), true);
    assert.equal((await chain.chain(TENANT, 'b'))?.length, 2, "b's conversation is whole");
    assert.equal(await chain.delete(TENANT, 'b'), true);
    assert.equal(await chain.get(TENANT, 'p'), undefined, 'p went with the last');
  });
}

/**
 * What the previous version's put script wrote (before counts): the record with its expiry in whole milliseconds and
 * no count, the TTL and expiry of those it links back to restarted, the one it continues marked continued. KEYS: the
 * tenant's expiries, sizes, total. ARGV: the tenant's key prefix, id, previous ('' for none), record, expiry (ms), TTL (s).
 */
const PREVIOUS_PUT = `
local prefix, id, at, value, expiry, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('SET', prefix .. id, value, 'EX', ttl)
redis.call('ZADD', KEYS[1], expiry, id)
redis.call('HSET', KEYS[2], id, #value)
redis.call('INCRBY', KEYS[3], #value)
local first = true
while at ~= '' do
  local head = redis.call('GETRANGE', prefix .. at, 0, 63)
  redis.call('EXPIRE', prefix .. at, ttl)
  redis.call('ZADD', KEYS[1], 'XX', expiry, at)
  if first and string.sub(head, 1, 1) == '=' then redis.call('SETRANGE', prefix .. at, 0, '>') end
  first = false
  local line = string.find(head, '\\n', 1, true)
  if string.byte(head, 1) == 123 or not line then at = '' else at = string.sub(head, 2, line - 1) end
end
return 1`;

for (const { name, url, cluster } of [
  { name: 'Redis', url: REDIS_URL, cluster: false },
  { name: 'Redis Cluster', url: CLUSTER_URL, cluster: true },
]) {
  describe(`stored responses during a rolling upgrade (${name})`, { skip: !url && 'no Redis' }, () => {
    const setUp = () => {
      const client = connect(url!, cluster);
      const prefix = `erase-upgrade-${randomBytes(4).toString('hex')}:`;
      const key = (id: string) => `${prefix}{${TENANT}}:${id}`;
      const chain = new RedisChain(client, prefix, 64 * 1024 * 1024, TTL);
      const record = (id: string, previous?: string) => linkedRecord(previous, JSON.stringify({ id }));
      const previousPut = (id: string, previous?: string) =>
        client.eval(
          PREVIOUS_PUT,
          3,
          key('~expiries'),
          key('~sizes'),
          key('~bytes'),
          key(''),
          id,
          previous ?? '',
          record(id, previous),
          Date.now() + TTL * 1000,
          TTL,
        );
      const put = (id: string, previous?: string) => chain.put(TENANT, id, record(id, previous), previous);
      const state = async (id: string) => {
        const value = await chain.get(TENANT, id);
        return value === undefined ? 'gone' : isShown(value) ? 'shown' : 'hidden';
      };
      const bytes = async () => Number(await client.get(key('~bytes')));
      return { client, key, chain, record, previousPut, put, state, bytes };
    };

    it('a response the previous version continued is never deleted while that continuation lives; then it stays hidden until it expires', async () => {
      const { chain, record, previousPut, put, state, bytes, client, key } = setUp();
      assert.equal(await put('p'), true);
      assert.equal(await put('c', 'p'), true);
      await previousPut('r', 'p'); // a replica still on the previous version forks the conversation: no count
      assert.equal(await chain.delete(TENANT, 'p'), true);
      assert.equal(await chain.delete(TENANT, 'c'), true);
      assert.deepEqual([await state('p'), await state('c')], ['hidden', 'gone'], 'p is kept for r');
      assert.equal((await chain.chain(TENANT, 'r'))?.length, 2, "r's conversation is whole");
      assert.equal(await put('s', 'r'), true, 'continued on this version');
      assert.equal((await chain.chain(TENANT, 's'))?.length, 3);
      for (const id of ['s', 'r']) assert.equal(await chain.delete(TENANT, id), true);
      assert.deepEqual(await Promise.all(['p', 'r', 's'].map(state)), ['hidden', 'hidden', 'gone'], 'counts unknown: kept, hidden');
      assert.equal(await bytes(), Buffer.byteLength(record('p')) + Buffer.byteLength(record('r', 'p')));
      assert.ok((await client.ttl(key('p'))) > 0, 'until they expire');
    });

    it("the previous version's records, and whole ones from before links, are continued, and deleted as before", async () => {
      const { chain, client, key, previousPut, put, state } = setUp();
      await previousPut('o');
      await client.set(key('w'), JSON.stringify({ response: { id: 'w' }, messages: [] }), 'EX', TTL);
      assert.equal(await put('c1', 'o'), true);
      assert.equal(await put('c2', 'w'), true);
      assert.equal((await chain.chain(TENANT, 'c1'))?.length, 2);
      assert.equal((await chain.chain(TENANT, 'c2'))?.length, 2);
      assert.equal(await chain.delete(TENANT, 'o'), true);
      assert.equal(await chain.delete(TENANT, 'c1'), true);
      assert.deepEqual(
        [await state('o'), await state('c1')],
        ['hidden', 'gone'],
        "o's count is unknown: hidden until it expires, as before",
      );
      assert.equal(await chain.delete(TENANT, 'c2'), true);
      assert.equal(await state('w'), 'shown');
      assert.equal(await chain.delete(TENANT, 'w'), true);
      assert.equal(await state('w'), 'gone');
      assert.equal(await client.hlen(key('~children')), 0);
    });
  });
}
