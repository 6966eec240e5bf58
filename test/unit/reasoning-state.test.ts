import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type GatewayConfig, parseConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { RedisService } from '@gateway/redis';
import { ReasoningStateStore } from '../../apps/gateway/src/reasoning-state/reasoning-state.store';
import { eventually } from '../support/eventually';

/**
 * A database of its own on the shared test Redis, emptied with FLUSHDB: test files run two at a
 * time, and the FLUSHALL this file used to start with wiped the windows of limits-faults mid-run
 * (its property then found a key's RPM and TPM at 0 where 12 requests were admitted, seen twice in CI).
 */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/13`;

const configWith = (reasoningState: object, env: Record<string, string> = {}): GatewayConfig =>
  parseConfig(
    {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
      router: { reasoningState },
    },
    env,
  );
const storeWith = (reasoningState: object): ReasoningStateStore =>
  new ReasoningStateStore(configWith(reasoningState), { client: undefined } as RedisService, new MetricsService());
const blocks = (signature: string) => [{ type: 'thinking', thinking: 'hmm', signature }];
/** remember() writes in the background: its in-process part is done a few microtasks later. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('reasoning state kept in process', () => {
  it('per tenant and vendor: a tenant or vendor reads only what it was answered', async () => {
    const store = storeWith({});
    store.forTenant('team-a')!.remember('anthropic', new Map([['toolu_1', blocks('sig-a')]]));
    store.forTenant('team-b')!.remember('gemini', new Map([['toolu_1', 'gsig-b']]));
    await settled();
    assert.deepEqual([...(await store.forTenant('team-a')!.recall('anthropic', ['toolu_1', 'toolu_2']))], [['toolu_1', blocks('sig-a')]]);
    assert.equal((await store.forTenant('team-b')!.recall('anthropic', ['toolu_1'])).size, 0, 'another tenant');
    assert.equal((await store.forTenant('team-a')!.recall('gemini', ['toolu_1'])).size, 0, 'another vendor');
    assert.deepEqual([...(await store.forTenant('team-b')!.recall('gemini', ['toolu_1']))], [['toolu_1', 'gsig-b']]);
  });

  it('bounded in entries, least recently used dropped first; maxEntries 0 turns it off', async () => {
    const store = storeWith({ maxEntries: 2 });
    const memory = store.forTenant('t')!;
    for (const id of ['a', 'b']) memory.remember('gemini', new Map([[id, `sig-${id}`]]));
    await settled();
    await memory.recall('gemini', ['a']); // b is now the least recently used
    memory.remember('gemini', new Map([['c', 'sig-c']]));
    await settled();
    assert.deepEqual([...(await memory.recall('gemini', ['a', 'b', 'c'])).keys()], ['a', 'c']);
    assert.equal(storeWith({ maxEntries: 0 }).forTenant('t'), undefined);
  });
});

// Found by the lead: in Redis the kept state had a TTL and nothing else, so a client could make the
// gateway store without bound within it (a tool call id is the client's to choose). Now a tenant's
// oldest are dropped past its bounds, and a state over maxEntryBytes is kept nowhere.
describe('reasoning state kept in Redis: bounded per tenant', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const probe = new Redis(REDIS_URL ?? 'redis://127.0.0.1:1', { lazyConnect: true });
  const services: RedisService[] = [];
  /** A replica's store: its own process memory, the shared Redis; `metrics` to read its counters. */
  const replica = async (reasoningState: object) => {
    const redis = new RedisService(configWith(reasoningState, { REDIS_URL: REDIS_URL! }));
    services.push(redis);
    if (redis.client!.status !== 'ready') await once(redis.client!, 'ready');
    const metrics = new MetricsService();
    return { store: new ReasoningStateStore(configWith(reasoningState, { REDIS_URL: REDIS_URL! }), redis, metrics), metrics };
  };
  const keysOf = async (tenant: string) => (await probe.keys(`*${tenant}*`)).sort();
  const dropped = async (metrics: MetricsService, reason: string) =>
    (await metrics.registry.getSingleMetric('gateway_reasoning_state_dropped_total')!.get()).values.find((v) => v.labels.reason === reason)
      ?.value ?? 0;
  /** remember() writes in the background: this one's write is done once its key is there (one script: its bounds too). */
  const remember = async (store: ReasoningStateStore, tenant: string, callId: string, state: unknown) => {
    store.forTenant(tenant)!.remember('gemini', new Map([[callId, state]]));
    assert.ok(await eventually(async () => (await probe.exists(`gw:reasoning:{${tenant}}:gemini:${callId}`)) === 1), callId);
  };

  before(async () => {
    await probe.connect();
    await probe.flushdb();
  });
  after(async () => {
    await Promise.all(services.map((s) => s.onApplicationShutdown()));
    probe.disconnect();
  });

  it('past tenantMaxEntries the tenant`s oldest are dropped; the newest still round-trip; another tenant is untouched', async () => {
    const { store, metrics } = await replica({ tenantMaxEntries: 3 });
    await remember(store, 'calm', 'c-1', 'sig-calm');
    for (const i of [1, 2, 3, 4, 5]) await remember(store, 'busy', `call-${i}`, `sig-${i}`);
    const values = (await keysOf('busy')).filter((k) => k.includes(':gemini:'));
    assert.deepEqual(values, [
      'gw:reasoning:{busy}:gemini:call-3',
      'gw:reasoning:{busy}:gemini:call-4',
      'gw:reasoning:{busy}:gemini:call-5',
    ]);
    // Every key of the tenant carries its hash tag: one slot, so the write is one script on Redis Cluster.
    for (const key of await keysOf('busy')) assert.ok(key.startsWith('gw:reasoning:{busy}:'), key);
    assert.equal(await dropped(metrics, 'tenant_bound'), 2);

    // Another replica (nothing in its process) reads the newest from Redis; the dropped ones are gone.
    const other = (await replica({ tenantMaxEntries: 3 })).store;
    assert.deepEqual(
      [...(await other.forTenant('busy')!.recall('gemini', ['call-1', 'call-2', 'call-3', 'call-4', 'call-5']))],
      [
        ['call-3', 'sig-3'],
        ['call-4', 'sig-4'],
        ['call-5', 'sig-5'],
      ],
    );
    assert.deepEqual([...(await other.forTenant('calm')!.recall('gemini', ['c-1']))], [['c-1', 'sig-calm']]);
  });

  it('past tenantMaxMemoryMb the oldest are dropped; the tenant`s bookkeeping matches what Redis holds', async () => {
    const { store } = await replica({ tenantMaxMemoryMb: 1 });
    const big = (i: number) => `${i}`.repeat(300_000); // 300 KB of JSON each: four are over 1 MiB
    for (const i of [1, 2, 3, 4, 5]) await remember(store, 'heavy', `big-${i}`, big(i));
    const values = (await keysOf('heavy')).filter((k) => k.includes(':gemini:'));
    assert.deepEqual(values, [
      'gw:reasoning:{heavy}:gemini:big-3',
      'gw:reasoning:{heavy}:gemini:big-4',
      'gw:reasoning:{heavy}:gemini:big-5',
    ]);
    const held = (await Promise.all(values.map((k) => probe.strlen(k)))).reduce((a, b) => a + b, 0);
    assert.equal(Number(await probe.get('gw:reasoning:{heavy}:bytes')), held);
    assert.equal(await probe.zcard('gw:reasoning:{heavy}:index'), 3);
    assert.ok(held <= 1024 * 1024, `${held} bytes held`);
  });

  it('a state over maxEntryBytes is kept nowhere, counted; a smaller one of the same answer still is', async () => {
    const { store, metrics } = await replica({ maxEntryBytes: 100 });
    store.forTenant('t')!.remember('gemini', new Map([['huge', 'x'.repeat(200)]]));
    await remember(store, 't', 'small', 'sig-small');
    assert.equal(await probe.exists('gw:reasoning:{t}:gemini:huge'), 0);
    assert.equal((await store.forTenant('t')!.recall('gemini', ['huge'])).size, 0, 'not in process either');
    assert.equal(await dropped(metrics, 'too_large'), 1);
  });

  it('a flood of writes stays within the bound, the rewrite of an id counted once', async () => {
    const { store } = await replica({ tenantMaxEntries: 20 });
    const flood = store.forTenant('flood')!;
    for (let i = 0; i < 300; i++) flood.remember('gemini', new Map([[`id-${i % 150}`, `sig-${i}`]]));
    await remember(store, 'flood', 'last', 'sig-last');
    const values = (await keysOf('flood')).filter((k) => k.includes(':gemini:'));
    assert.equal(values.length, 20);
    assert.equal(await probe.zcard('gw:reasoning:{flood}:index'), 20);
    assert.equal(await probe.hlen('gw:reasoning:{flood}:sizes'), 20);
    assert.ok(values.includes('gw:reasoning:{flood}:gemini:last'));
  });
});

const CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL;

// Every key of a tenant carries its hash tag: a write (one script) and a read (one MGET) stay on one shard.
describe('reasoning state kept in Redis Cluster', { skip: !CLUSTER_URL && 'TEST_REDIS_CLUSTER_URL unset (run npm test)' }, () => {
  const config = configWith({ tenantMaxEntries: 3 }, { REDIS_URL: CLUSTER_URL!, REDIS_CLUSTER: 'true' });
  const services: RedisService[] = [];
  const replica = async () => {
    const redis = new RedisService(config);
    services.push(redis);
    if (redis.client!.status !== 'ready') await once(redis.client!, 'ready');
    return { store: new ReasoningStateStore(config, redis, new MetricsService()), client: redis.client! };
  };
  after(() => Promise.all(services.map((s) => s.onApplicationShutdown())));

  it('bounded per tenant, read back by another replica, for tenants spread over the shards by their hash tags', async () => {
    const writer = await replica();
    const reader = await replica();
    const run = randomUUID();
    const tenants = ['alice', 'bob', 'carol', 'dave'].map((name) => `${name}-${run}`);
    for (const tenant of tenants) {
      for (const i of [1, 2, 3, 4, 5]) {
        writer.store.forTenant(tenant)!.remember('anthropic', new Map([[`toolu_${i}`, [{ signature: `sig-${i}` }]]]));
        const key = `gw:reasoning:{${tenant}}:anthropic:toolu_${i}`;
        assert.ok(await eventually(async () => (await writer.client.exists(key)) === 1), key);
      }
    }
    for (const tenant of tenants) {
      const recalled = async () => [
        ...(await reader.store.forTenant(tenant)!.recall('anthropic', ['toolu_1', 'toolu_2', 'toolu_3', 'toolu_4', 'toolu_5'])).keys(),
      ];
      // A read past the store's 50 ms budget finds nothing (fail open): on a loaded host the fresh replica's first read
      // to a shard, its connection still being made, may be such a read; the next finds what is kept.
      await eventually(async () => (await recalled()).length > 0);
      assert.deepEqual(await recalled(), ['toolu_3', 'toolu_4', 'toolu_5'], tenant);
    }
  });
});
