import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ask, embedderLoaded, FALLBACK_PRICED, metric, savedOnFallback, settle } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';
import { Logger } from '@nestjs/common';
import { RedisBackend } from '../../libs/cache/src/backends/redis.backend';
import { gatewayIndexSchema, schemaDifferences } from '../../libs/cache/src/backends/index-schema';
import { indexAttributes, parseSearchReply, searchTotal } from '../../libs/cache/src/backends/search-reply';
import { random, randomUnit } from '../support/vectors';

const REDIS_URL = process.env.TEST_REDIS_URL;
const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const REDIS_STACK_URL = process.env.REDIS_STACK_URL;
const REDIS_STACK_SERVER = process.env.REDIS_STACK_SERVER;
const REDIS_STACK_MODULE = process.env.REDIS_STACK_MODULE;
const TENANT_KEYS = { alice: 'alice-stack-key-0123456789', bob: 'bob-stack-key-0123456789' };
const alice = { apiKey: TENANT_KEYS.alice };
const bob = { apiKey: TENANT_KEYS.bob };
const tenantEnv = () => Object.fromEntries(Object.entries(TENANT_KEYS).map(([id, key]) => [`${id.toUpperCase()}_KEY`, key]));

/**
 * Redis calls get 2 s, not the default budget: these suites are about what is stored and served, and on a busy host
 * (CI beside other work) a call past a short budget is a miss by design (the cache fails open), which failed a CI
 * run's exact-hit checks.
 */
const REDIS_CALL_MS = 2_000;

/** A cache config with the mock provider's embeddings (64 dimensions) and keys of its own. */
function cacheConfig(prefix: string, extra: object = {}) {
  return {
    ...configWith({ providers: [FALLBACK_PRICED.provider], models: [FALLBACK_PRICED.model] }),
    cache: {
      enabled: true,
      semantic: { embeddingModel: 'mock-embedding', embeddingDimensions: 64, threshold: 0.9 },
      redis: { keyPrefix: prefix, timeoutMs: REDIS_CALL_MS },
      ...extra,
    },
  };
}

function skipLoudly(what: string, variable: string): void {
  const line = `\n*** SKIPPED: ${what}: ${variable} is not set ***\n`;
  process.stderr.write(line);
  it(`SKIPPED (${variable} not set): ${what}`, { skip: `${variable} is not set` }, () => {});
}

/** A Redis Stack suite's clean-up: its index and entries gone, its connection closed. */
async function dropIndexAndEntries(redis: Redis, index: string, prefix: string): Promise<void> {
  await redis.call('FT.DROPINDEX', index).catch(() => {});
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
}

describe('response cache in Redis without the search module (exact in Redis, semantic in process)', () => {
  if (!REDIS_URL) return skipLoudly('exact cache against a real Redis', 'TEST_REDIS_URL');
  const prefix = `test:${randomUUID().slice(0, 8)}:`;
  let gateway: GatewayProcess;
  let redis: Redis;

  before(async () => {
    redis = new Redis(REDIS_URL);
    const hasSearch = await redis.call('FT._LIST').then(
      () => true,
      () => false,
    );
    if (hasSearch) throw new Error('TEST_REDIS_URL has the search module; this suite needs a plain Redis');
    gateway = await GatewayProcess.start(cacheConfig(prefix, { redis: { keyPrefix: prefix, timeoutMs: REDIS_CALL_MS, maxEntries: 5 } }), {
      env: { REDIS_URL },
    });
  });
  after(async () => {
    await gateway?.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('warns once that there is no search module', async () => {
    const warned = gateway.logs.filter((l) => /no search module/.test(String(l.msg)));
    assert.equal(warned.length, 1);
  });

  it('stores entries as Redis HASHes with a TTL and serves exact hits from them', async () => {
    assert.equal((await ask(gateway.client(), 'Redis exact layer question')).cache, 'miss');
    await settle();
    const keys = await redis.keys(`${prefix}mock-embedding-64:e:*`);
    assert.equal(keys.length, 1);
    assert.equal(await redis.type(keys[0]), 'hash');
    const ttl = await redis.pttl(keys[0]);
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `ttl ${ttl}`);
    const body = JSON.parse((await redis.hget(keys[0], 'body'))!);
    assert.equal(body.object, 'chat.completion');
    const hit = await ask(gateway.client(), 'Redis exact layer question');
    assert.equal(hit.cache, 'hit-exact');
    // With a fresh id, as every hit.
    assert.deepEqual({ ...hit.completion, id: body.id }, body);
  });

  it('another gateway instance shares the exact cache', async () => {
    await ask(gateway.client(), 'Shared between instances');
    await settle();
    const second = await GatewayProcess.start(cacheConfig(prefix, { semantic: { enabled: false } }), { env: { REDIS_URL } });
    try {
      // Semantic off changes the key space (no embedder id): a separate cache.
      assert.equal((await ask(second.client(), 'Shared between instances')).cache, 'miss');
    } finally {
      await second.stop();
    }
    const third = await GatewayProcess.start(cacheConfig(prefix), { env: { REDIS_URL } });
    try {
      assert.equal((await ask(third.client(), 'Shared between instances')).cache, 'hit-exact');
    } finally {
      await third.stop();
    }
  });

  it('serves semantic hits from the in-process index', async () => {
    await ask(gateway.client(), 'What is the capital of Peru?');
    await settle();
    assert.match((await ask(gateway.client(), 'what is the capital of peru')).cache ?? '', /^hit-semantic/);
  });

  it('keeps at most maxEntries entries', async () => {
    for (let i = 0; i < 8; i++) await ask(gateway.client(), `Entry number ${i} for the cap`);
    await settle();
    const entries = await redis.keys(`${prefix}mock-embedding-64:e:*`);
    assert.ok(entries.length <= 5, `${entries.length} entries`);
    assert.ok((await redis.zcard(`${prefix}mock-embedding-64:expiry`)) <= 5);
    assert.equal((await ask(gateway.client(), 'Entry number 7 for the cap')).cache, 'hit-exact');
  });

  it('keeps the deployment that answered with the entry: a hit saved what that answer was billed', async () => {
    const { cache, saved, billed } = await savedOnFallback(gateway, gateway.client(), 'Savings of an entry kept in Redis');
    assert.deepEqual(cache, ['miss', 'hit-exact']);
    assert.ok(Math.abs(saved - billed) < 1e-12, `saved ${saved}, billed ${billed}`);
  });
});

describe('response cache fails open when Redis stops, and recovers when it returns', () => {
  if (!REDIS_SERVER) return skipLoudly('fail-open with Redis stopped and restarted', 'TEST_REDIS_SERVER');
  let server: RedisServer;
  let gateway: GatewayProcess;

  before(async () => {
    server = await RedisServer.start(REDIS_SERVER);
    gateway = await GatewayProcess.start(cacheConfig('failopen:', { semantic: { enabled: false } }), { env: { REDIS_URL: server.url } });
  });
  after(async () => {
    await gateway?.stop();
    await server?.stop();
  });

  it('answers uncached while Redis is down, counts and warns, then caches again', async () => {
    const client = gateway.client();
    assert.equal((await ask(client, 'Before the outage')).cache, 'miss');
    await settle();
    assert.equal((await ask(client, 'Before the outage')).cache, 'hit-exact');

    await server.stop();
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const answer = await ask(client, 'Before the outage');
      assert.equal(answer.cache, 'miss');
      assert.equal(answer.provider, 'mock', 'served by the upstream');
      // Not a speed check (a busy host stretches any figure): a lookup queued until Redis came back (ioredis's
      // offline queue) would wait for good.
      assert.ok(Date.now() - started < 10_000, 'not held until Redis comes back');
    }
    const failed = (reason: string) =>
      metric(gateway, `gateway_cache_backend_errors_total{backend="redis",operation="get",reason="${reason}"}`);
    assert.ok((await failed('error')) + (await failed('timeout')) >= 5);
    // The log is written in batches: wait for the warning, then make sure no second one follows.
    await gateway.logged(/^cache redis get failed/);
    await settle(300);
    assert.equal((await gateway.logged(/^cache redis get failed/, { timeoutMs: 0 })).length, 1, 'one warning, not one per request');

    await server.start();
    const deadline = Date.now() + 30_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      await settle(250);
      await ask(client, 'After the outage');
      await settle();
      recovered = (await ask(client, 'After the outage')).cache === 'hit-exact';
    }
    assert.ok(recovered, 'caching resumed after Redis came back');
  });

  // Found by an independent check: stores_total{result="stored"} counted every answer offered, before
  // the write, so a full Redis (maxmemory, noeviction) showed 60 stored where 1 was.
  it('an answer a full Redis refuses counts as failed, not stored', async () => {
    const admin = new Redis(server.url);
    const series = (result: string) => metric(gateway, `gateway_cache_stores_total{result="${result}"}`);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const [stored, failed] = [await series('stored'), await series('failed')];
      assert.equal((await ask(gateway.client(), 'Refused by a full Redis')).cache, 'miss');
      await eventually(async () => (await series('failed')) !== failed);
      assert.deepEqual([(await series('stored')) - stored, (await series('failed')) - failed], [0, 1]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    await ask(gateway.client(), 'Stored by a Redis with room');
    await settle();
    assert.equal((await ask(gateway.client(), 'Stored by a Redis with room')).cache, 'hit-exact');
  });
});

describe('response cache on Redis Stack (FT.SEARCH KNN)', () => {
  if (!REDIS_STACK_URL) return skipLoudly('Redis Stack vector backend tests', 'REDIS_STACK_URL');
  const prefix = `stack:${randomUUID().slice(0, 8)}:`;
  const index = `${prefix}idx:use-lite-512`;
  let redis: Redis;
  let gateway: GatewayProcess;
  // Two gateway keys, so the tenant test has two tenants (with auth off every caller is one).
  const stackConfig = () => ({
    ...configWith({ providers: [FALLBACK_PRICED.provider], models: [FALLBACK_PRICED.model] }),
    cache: {
      enabled: true,
      // A loaded machine can take longer than the default 250 ms to embed: a skipped embedding stores no vector.
      semantic: { threshold: 0.8, embeddingTimeoutMs: 10_000 },
      redis: { keyPrefix: prefix, timeoutMs: REDIS_CALL_MS, hnswM: 12, hnswEfConstruction: 100 },
    },
    security: { keys: Object.keys(TENANT_KEYS).map((id) => ({ id, keyEnv: `${id.toUpperCase()}_KEY` })) },
  });
  const stackEnv = { REDIS_URL: REDIS_STACK_URL!, GATEWAY_MASTER_KEY: 'stack-master-key-0123456789', ...tenantEnv() };

  before(async () => {
    redis = new Redis(REDIS_STACK_URL);
    gateway = await GatewayProcess.start(stackConfig(), { env: stackEnv });
    await embedderLoaded(gateway);
  });
  after(async () => {
    await gateway?.stop();
    await dropIndexAndEntries(redis, index, prefix);
  });

  it('creates an HNSW COSINE index named after the embedder and its dimension', async () => {
    const indexes = ((await redis.call('FT._LIST')) as string[]).map(String);
    assert.ok(indexes.includes(index), indexes.join(', '));
    const info = JSON.stringify(await redis.call('FT.INFO', index));
    assert.ok(info.includes(`${prefix}use-lite-512:e:`), info);
    // FT.INFO of RediSearch 2.6 does not list vector parameters; its debug command does.
    // RediSearch 2.8+ wraps HNSW in a TIERED index (a flat write buffer in front): read its HNSW part.
    let vector = (await redis.call('FT.DEBUG', 'VECSIM_INFO', index, 'vec')) as unknown[];
    if (vector[vector.indexOf('ALGORITHM') + 1] === 'TIERED') vector = vector[vector.indexOf('BACKEND_INDEX') + 1] as unknown[];
    const field = (name: string) => String(vector[vector.indexOf(name) + 1]);
    assert.deepEqual(['ALGORITHM', 'TYPE', 'DIMENSION', 'METRIC', 'M', 'EF_CONSTRUCTION'].map(field), [
      'HNSW',
      'FLOAT32',
      '512',
      'COSINE',
      '12',
      '100',
    ]);
    assert.equal(gateway.logs.filter((l) => /no search module/.test(String(l.msg))).length, 0);
  });

  it('serves semantic hits from Redis: a fresh instance with an empty process finds them', async () => {
    assert.equal((await ask(gateway.client(alice), 'How do I undo the last commit in Git?')).cache, 'miss');
    await settle(300);
    const keys = await redis.keys(`${prefix}use-lite-512:e:*`);
    assert.ok(keys.length >= 1);
    assert.equal(await redis.hexists(keys[0], 'vec'), 1);
    const fresh = await GatewayProcess.start(stackConfig(), { env: stackEnv });
    try {
      await embedderLoaded(fresh);
      assert.match((await ask(fresh.client(alice), 'How can I undo my last Git commit?')).cache ?? '', /^hit-semantic; similarity=/);
      assert.equal((await ask(fresh.client(bob), 'How can I undo my last Git commit?')).cache, 'miss');
      assert.equal((await ask(fresh.client(alice), 'How can I undo my last Mercurial commit?')).cache, 'miss');
    } finally {
      await fresh.stop();
    }
  });

  it('rebuilds a dropped index by itself', async () => {
    await redis.call('FT.DROPINDEX', index);
    await ask(gateway.client(alice), 'Index rebuild probe question'); // its semantic search fails open and rebuilds
    await settle(500);
    assert.ok(((await redis.call('FT._LIST')) as string[]).map(String).includes(index));
    await ask(gateway.client(alice), 'Which planet is the largest in the solar system?');
    await settle(300);
    assert.match((await ask(gateway.client(alice), 'What is the largest planet in the solar system?')).cache ?? '', /^hit-semantic/);
  });

  // Found by an independent check: an index swapped for another while the gateway ran was searched on
  // (no hit, no warning) until a restart. It is looked at every 10 s.
  it('leaves an index swapped for a foreign one while it runs (a warning, semantic hits in process), and makes its own again once that one is dropped', async () => {
    const warned = () => gateway.logs.some((l) => String(l.msg).includes(`Redis index ${index} is not the one the gateway makes`));
    await redis.call('FT.DROPINDEX', index);
    await redis.call(
      'FT.CREATE',
      index,
      ...`ON HASH PREFIX 1 ${prefix}use-lite-512:e: SCHEMA ns TAG vec VECTOR HNSW 6 TYPE FLOAT32 DIM 384 DISTANCE_METRIC COSINE`.split(' '),
    );
    assert.ok(await eventually(async () => warned()), 'a warning within ~30 s');
    assert.match(gateway.logs.find((l) => String(l.msg).includes(`Redis index ${index}`))!.msg as string, /vec dim 384, needs 512/);
    await ask(gateway.client(alice), 'Which ocean is the deepest on Earth?');
    await settle(300);
    assert.match(
      (await ask(gateway.client(alice), 'What is the deepest ocean on Earth?')).cache ?? '',
      /^hit-semantic/,
      'served in process',
    );
    await redis.call('FT.DROPINDEX', index);
    const fits = async () =>
      schemaDifferences(await redis.call('FT.INFO', index).catch(() => []), gatewayIndexSchema(`${prefix}use-lite-512:e:`, 512)).length ===
      0;
    assert.ok(await eventually(fits), 'its own index made again within ~30 s');
  });
});

// change30 D5: cache.redis.hnswM / hnswEfConstruction changed on an existing index were silently not applied (the
// index keeps what it was made with, and the schema check ignored them).
describe('Redis Stack: HNSW settings changed on an existing index', () => {
  if (!REDIS_STACK_URL) return skipLoudly('Redis Stack vector backend tests', 'REDIS_STACK_URL');
  const prefix = `hnsw:${randomUUID().slice(0, 8)}:`;
  const index = `${prefix}idx:mock-embedding-64`;
  const withHnsw = (hnswM: number, hnswEfConstruction: number) =>
    cacheConfig(prefix, { redis: { keyPrefix: prefix, timeoutMs: REDIS_CALL_MS, hnswM, hnswEfConstruction } });
  const built = async () => {
    const info = await redis.call('FT.INFO', index).catch(() => []);
    const vec = indexAttributes(info).find((field) => field.attribute === 'vec');
    return vec && [vec.m, vec.ef_construction];
  };
  let redis: Redis;
  let gateway: GatewayProcess | undefined;

  before(() => {
    redis = new Redis(REDIS_STACK_URL!);
  });
  after(async () => {
    await gateway?.stop();
    await dropIndexAndEntries(redis, index, prefix);
  });

  it('warns once at start-up, naming the index, both values and how to rebuild; the rebuild applies them', async () => {
    gateway = await GatewayProcess.start(withHnsw(12, 100), { env: { REDIS_URL: REDIS_STACK_URL! } });
    await eventually(async () => (await built()) !== undefined);
    assert.deepEqual(await built(), ['12', '100'], 'made with the first values');
    await gateway.stop();

    gateway = await GatewayProcess.start(withHnsw(24, 300), { env: { REDIS_URL: REDIS_STACK_URL! } });
    const [warned] = await gateway.logged(new RegExp(`^Redis index ${index} was built with`));
    assert.equal(
      warned?.msg,
      `Redis index ${index} was built with M 12, the config's cache.redis.hnswM 24; EF_CONSTRUCTION 100, the config's ` +
        `cache.redis.hnswEfConstruction 300: not applied, as RediSearch fixes them when it makes an index. To rebuild it ` +
        `with the config's, once every replica has them: FT.DROPINDEX ${index} (without DD: the entries stay); a gateway ` +
        `makes it again within seconds (its index check) and indexes them anew.`,
    );
    await redis.call('FT.DROPINDEX', index);
    await eventually(async () => (await built()) !== undefined);
    assert.deepEqual(await built(), ['24', '300'], 'made again with the new values');
    assert.equal(gateway.logs.filter((l) => /was built with/.test(String(l.msg))).length, 1, 'told once');
  });
});

describe('Redis Stack backend: hybrid policy per namespace, cap kept by a one-key script', () => {
  // A server of its own: INFO commandstats counts every client's FT.SEARCH.
  if (!REDIS_STACK_SERVER || !REDIS_STACK_MODULE) return skipLoudly('Redis Stack backend tests', 'REDIS_STACK_SERVER');
  const prefix = 'policy:';
  const rand = random(7);
  const vectors = Array.from({ length: 8 }, () => randomUnit(rand, 16));
  let server: RedisServer;
  let redis: Redis;
  let backend: RedisBackend;
  const warnings: string[] = [];
  const logger = Object.assign(new Logger('test'), { warn: (message: string) => void warnings.push(message) });
  const options = {
    keyPrefix: prefix,
    indexName: `${prefix}idx`,
    dimensions: 16,
    maxEntries: 6,
    tenantShare: 6,
    hnswM: 8,
    hnswEfConstruction: 50,
    hnswEfRuntime: 20,
  };
  const entry = (namespace: string, i: number) => ({
    namespace,
    tenant: 'one',
    body: `answer ${i}`,
    promptTokens: 1,
    completionTokens: 1,
    prompt: `prompt ${i}`,
    vector: vectors[i],
  });
  const lastSearchMode = async () => {
    let info = (await redis.call('FT.DEBUG', 'VECSIM_INFO', `${prefix}idx`, 'vec')) as unknown[];
    if (info[info.indexOf('ALGORITHM') + 1] === 'TIERED') info = info[info.indexOf('BACKEND_INDEX') + 1] as unknown[];
    return String(info[info.indexOf('LAST_SEARCH_MODE') + 1]);
  };
  const searches = async () => {
    const stats = String(await redis.info('commandstats'));
    return Number(/cmdstat_FT\.SEARCH:calls=(\d+)/i.exec(stats)?.[1] ?? 0);
  };

  before(async () => {
    server = await RedisServer.start(REDIS_STACK_SERVER, { module: REDIS_STACK_MODULE });
    redis = new Redis(server.url);
    backend = new RedisBackend(redis, { ...options, batchesFrom: 4 }, logger);
    await backend.prepare();
    for (let i = 0; i < 5; i++) await backend.put(`big${i}`, entry('big', i), 60);
    await backend.put('small5', entry('small', 5), 60);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  // Found by an independent check: the first lookup in a namespace (every turn of a conversation is
  // one) counted the namespace and the whole index first: three round trips in the 50 ms budget, and
  // at 100,000 entries ~15 times the Redis time of the search itself.
  it('a lookup in a new namespace is one FT.SEARCH', async () => {
    const before = await searches();
    for (let i = 0; i < 10; i++) assert.deepEqual(await backend.nearest(`turn${i}`, vectors[1], 2), []);
    assert.equal((await searches()) - before, 10);
  });

  it('walks the graph in batches for a namespace holding most of the index once counted, and leaves small ones to the planner', async () => {
    const first = await backend.nearest('big', vectors[2], 2);
    assert.equal(first[0].key, 'big2');
    assert.ok(first.every((n) => n.key.startsWith('big')));
    assert.notEqual(await lastSearchMode(), 'HYBRID_BATCHES', 'not counted yet: the planner');
    // The first search filled k, so the namespace was counted in the background, on this connection
    // before the FT.DEBUG above: its next search knows it is large.
    assert.equal((await backend.nearest('big', vectors[2], 2))[0].key, 'big2');
    assert.equal(await lastSearchMode(), 'HYBRID_BATCHES');
    for (let i = 0; i < 2; i++) {
      const small = await backend.nearest('small', vectors[2], 2);
      assert.deepEqual(
        small.map((n) => n.key),
        ['small5'],
      );
      assert.notEqual(await lastSearchMode(), 'HYBRID_BATCHES');
    }
  });

  // Found by an independent check: each put waited for the entry's transaction before sending the
  // cap script, two round trips: with Redis 30 ms away, past the 50 ms budget and counted failed.
  it('a put sends the entry and the cap script in one round trip', async () => {
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
    try {
      const put = backend.put('small6', entry('small', 6), 60);
      // Nothing has been answered yet (replies are read on a later turn of the event loop).
      assert.ok(sent.includes('exec') && sent.some((name) => /^eval/.test(name)), sent.join(' '));
      await put;
    } finally {
      redis.sendCommand = send;
    }
    assert.equal(await redis.hget(`${prefix}e:small6`, 'body'), 'answer 6');
  });

  it('over the cap, the script evicts the entries closest to expiry and the backend deletes them', async () => {
    await backend.put('big6', entry('big', 6), 120);
    await backend.put('big7', entry('big', 7), 120);
    assert.equal(await redis.zcard(`${prefix}expiry`), 6);
    // Same TTL for the first ones: the popped are among them; the two longer-lived entries stay.
    const left = await redis.keys(`${prefix}e:*`);
    assert.equal(left.length, 6);
    assert.ok(left.includes(`${prefix}e:big6`) && left.includes(`${prefix}e:big7`));
    assert.equal(searchTotal(await redis.call('FT.SEARCH', `${prefix}idx`, '*', 'NOCONTENT', 'LIMIT', '0', '0')), 6);
  });

  // Found by an independent check: an index under the gateway's name with another dimension was
  // trusted by its name: no entry could be indexed, and nothing said so.
  it('an index of that name with another vector dimension is not used: one warning, semantic caching in process', async () => {
    const foreign = new RedisBackend(redis, { ...options, indexName: `${prefix}idx`, dimensions: 32 }, logger);
    await foreign.prepare();
    await foreign.prepare();
    assert.equal(foreign.searchAvailable, false);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /vec dim 16, needs 32/);
    assert.equal(backend.searchAvailable, true, 'the index fits the backend that made it');
    await backend.prepare();
    assert.equal(backend.searchAvailable, true);
  });

  // Found by an independent check: an index of the right dimension and metric but with FLOAT64
  // vectors or another PREFIX passed that check: it indexed none of the gateway's entries.
  it('an index of that name that differs in anything else the gateway relies on is not used either', async () => {
    const vector = (type = 'FLOAT32', metric = 'COSINE') => `vec VECTOR HNSW 6 TYPE ${type} DIM 16 DISTANCE_METRIC ${metric}`;
    const foreign: [string, string, RegExp][] = [
      ['vector type', `ON HASH PREFIX 1 foreign:e: SCHEMA ns TAG ${vector('FLOAT64')}`, /vec data_type FLOAT64, needs FLOAT32/],
      ['metric', `ON HASH PREFIX 1 foreign:e: SCHEMA ns TAG ${vector('FLOAT32', 'L2')}`, /vec distance_metric L2, needs COSINE/],
      ['prefix', `ON HASH PREFIX 1 someoneelse: SCHEMA ns TAG ${vector()}`, /prefixes someoneelse:, needs foreign:e:/],
      ['prefixes', `ON HASH PREFIX 2 foreign:e: other: SCHEMA ns TAG ${vector()}`, /prefixes foreign:e: other:, needs foreign:e:/],
      ['filter', `ON HASH PREFIX 1 foreign:e: FILTER @pt>0 SCHEMA ns TAG ${vector()}`, /filter @pt>0, needs none/],
      ['no vector field', 'ON HASH PREFIX 1 foreign:e: SCHEMA ns TAG', /no field vec/],
      ['namespace type', `ON HASH PREFIX 1 foreign:e: SCHEMA ns TEXT ${vector()}`, /ns type TEXT, needs TAG/],
      ['namespace alias', `ON HASH PREFIX 1 foreign:e: SCHEMA tenant AS ns TAG ${vector()}`, /ns identifier tenant, needs ns/],
      ['separator', `ON HASH PREFIX 1 foreign:e: SCHEMA ns TAG SEPARATOR a ${vector()}`, /ns separator a, needs ,/],
      ['another field', `ON HASH PREFIX 1 foreign:e: SCHEMA ns TAG ${vector()} body NUMERIC`, /field body, needs none/],
    ];
    for (const [what, definition, difference] of foreign) {
      const indexName = `foreign:idx:${what.replace(/ /g, '-')}`;
      await redis.call('FT.CREATE', indexName, ...definition.split(' '));
      const seen: string[] = [];
      const log = Object.assign(new Logger('test'), { warn: (message: string) => void seen.push(message) });
      const other = new RedisBackend(redis, { ...options, keyPrefix: 'foreign:', indexName }, log);
      await other.prepare();
      assert.equal(other.searchAvailable, false, what);
      assert.equal(seen.length, 1, what);
      assert.match(seen[0], difference, what);
      assert.match(seen[0], /semantic caching in process/, what);
    }
  });

  // Found by an independent check: the index was looked at only at start-up and after a reconnect, so
  // one swapped for another while the gateway ran was searched on: no hit, no warning, until a restart.
  it('an index swapped for a foreign one while running is left on the next check, and its own is made again once that one is dropped', async () => {
    const seen: string[] = [];
    const log = Object.assign(new Logger('test'), { warn: (message: string) => void seen.push(message) });
    const swapped = new RedisBackend(redis, { ...options, keyPrefix: 'swap:', indexName: 'swap:idx' }, log);
    await swapped.prepare();
    assert.equal(swapped.searchAvailable, true);
    await redis.call('FT.DROPINDEX', 'swap:idx');
    await redis.call(
      'FT.CREATE',
      'swap:idx',
      ...'ON HASH PREFIX 1 swap:e: SCHEMA ns TAG vec VECTOR HNSW 6 TYPE FLOAT32 DIM 8 DISTANCE_METRIC COSINE'.split(' '),
    );
    await swapped.prepare();
    await swapped.prepare();
    assert.equal(swapped.searchAvailable, false);
    assert.equal(seen.length, 1, seen.join('\n'));
    assert.match(seen[0], /vec dim 8, needs 16/);
    await redis.call('FT.DROPINDEX', 'swap:idx');
    await swapped.prepare();
    assert.equal(swapped.searchAvailable, true);
    assert.deepEqual(
      schemaDifferences(await redis.call('FT.INFO', 'swap:idx'), gatewayIndexSchema('swap:e:', 16)),
      [],
      'made again as the gateway makes it',
    );
    await redis.call('FT.DROPINDEX', 'swap:idx');
  });
});

describe('FT.SEARCH reply parsing', () => {
  it('reads the RESP2 shape (RediSearch 2.6) and the RESP3 map shape (2.8+)', () => {
    const resp2 = [2, 'p:e:a', ['score', '0.02', 'prompt', 'one'], 'p:e:b', ['score', '0.1', 'prompt', 'two']];
    const resp3 = [
      'attributes',
      [],
      'format',
      'STRING',
      'results',
      [
        ['id', 'p:e:a', 'extra_attributes', ['score', '0.02', 'prompt', 'one'], 'values', []],
        ['id', 'p:e:b', 'extra_attributes', ['score', '0.1', 'prompt', 'two'], 'values', []],
      ],
      'total_results',
      2,
      'warning',
      [],
    ];
    const expected = [
      { key: 'p:e:a', fields: { score: '0.02', prompt: 'one' } },
      { key: 'p:e:b', fields: { score: '0.1', prompt: 'two' } },
    ];
    assert.deepEqual(parseSearchReply(resp2), expected);
    assert.deepEqual(parseSearchReply(resp3), expected);
    assert.deepEqual(parseSearchReply({ results: [{ id: 'p:e:a', extra_attributes: { score: '0.02', prompt: 'one' } }] }), [expected[0]]);
    assert.deepEqual(parseSearchReply([0]), []);
  });
});
