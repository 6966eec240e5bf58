import type { Logger } from '@nestjs/common';
import type { CacheBackend, CachedAnswer, CacheEntry, Neighbour } from './backend';
import type { UsageCounts } from '@gateway/metrics';
import { FORGET_EXPIRED_PER_CALL, mastersOf, type RedisClient, REDIS_NOW_LUA } from '@gateway/redis';
import { gatewayIndexSchema, schemaDifferences, tuningDifferences } from './index-schema';
import { indexSize, parseSearchReply, searchTotal } from './search-reply';

export interface RedisBackendOptions {
  /** Prefix of this cache's keys, already carrying the embedder id. */
  keyPrefix: string;
  /** Vector size; 0 when the semantic layer is off (no index is created). */
  dimensions: number;
  /** Name of the RediSearch index: carries the embedder's name and dimension. */
  indexName: string;
  maxEntries: number;
  /** Entries a tenant keeps before others when the cache is full (cache.tenantShare of maxEntries). */
  tenantShare: number;
  hnswM: number;
  hnswEfConstruction: number;
  hnswEfRuntime: number;
  /** Namespaces with at least this many entries (and a tenth of the index) are searched with HYBRID_POLICY BATCHES. */
  batchesFrom?: number;
}

/** How long a namespace's size (which picks the hybrid policy) is reused before it may be counted again. */
const SIZE_TTL_MS = 30_000;
const MAX_SIZES_KEPT = 10_000;

/**
 * Keeps the cap and each tenant's share of it. A sorted set scores every entry key by its expiry; beside it, in keys
 * of the same slot (their hash tag is that set's name), each entry's tenant (a hash), what each tenant holds (a
 * sorted set, tenant -> entries) and per tenant its entries by expiry. Expired entries are forgotten first (at most
 * FORGET_EXPIRED_PER_CALL: the rest meanwhile count in the cap and, closest to expiry, are evicted first); then,
 * while over the cap, the tenant holding the most (the writer, its new entry counted, on a tie) gives its entry
 * closest to expiry if it holds more than its share, else the entry closest to expiry of all goes: a tenant storing
 * many long-lived answers pushes out its own, not the others'. The evicted keys are returned for the caller to
 * delete: the script touches only bookkeeping keys of one slot, so it runs on Redis Cluster (the other tenants' sets
 * are not in KEYS, but share the hash tag). An entry stored before the shares were kept has no tenant: it goes by
 * its expiry alone. Expiries are Redis' clock, the same for every replica: by each writer's own, a slow replica's
 * entries were forgotten while still held (the cap exceeded) and a fast one's counted after they expired. Those a
 * replica of an earlier version scored by its own clock, during a rolling upgrade, are off by its skew, as they
 * were, until they expire. KEYS: expiry set, tenants hash, held set, the writer's set. ARGV: TTL ms, entry key,
 * max entries, share (entries), tenant, the prefix of a tenant's set.
 */
const TRACK_SCRIPT = `${REDIS_NOW_LUA}
local expiry, owners, held, own = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = redisNow()
local expiresAt = now + tonumber(ARGV[1])
local entry, max, share, tenant, perTenant = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local function forget(gone)
  redis.call('ZREM', expiry, gone)
  local owner = redis.call('HGET', owners, gone)
  if not owner then return end
  redis.call('HDEL', owners, gone)
  redis.call('ZREM', perTenant .. owner, gone)
  if tonumber(redis.call('ZINCRBY', held, -1, owner)) <= 0 then redis.call('ZREM', held, owner) end
end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, ${FORGET_EXPIRED_PER_CALL})) do forget(gone) end
forget(entry)
redis.call('ZADD', expiry, expiresAt, entry)
redis.call('HSET', owners, entry, tenant)
redis.call('ZADD', own, expiresAt, entry)
redis.call('ZINCRBY', held, 1, tenant)
local evicted = {}
while redis.call('ZCARD', expiry) > max do
  local top = redis.call('ZREVRANGE', held, 0, 0, 'WITHSCORES')
  local most = tonumber(top[2] or 0)
  local from = tonumber(redis.call('ZSCORE', held, tenant) or 0) >= most and tenant or top[1]
  local victim = most > share and redis.call('ZRANGE', perTenant .. from, 0, 0)[1] or redis.call('ZRANGE', expiry, 0, 0)[1]
  forget(victim)
  evicted[#evicted + 1] = victim
end
return evicted`;

type WithTrack = RedisClient & {
  gatewayCacheTrack(
    expiry: string,
    owners: string,
    held: string,
    own: string,
    ttlMs: number,
    entry: string,
    max: number,
    share: number,
    tenant: string,
    perTenant: string,
  ): Promise<string[]>;
};

/**
 * Redis, and with the search module (Redis Stack, Redis 8, RediSearch 2.6+, Valkey
 * search) a vector index: entries are HASHes under `<prefix>e:`, indexed by
 * `FT.CREATE … ON HASH` with an HNSW COSINE vector field and a TAG namespace field.
 * Without the module it still does the exact layer; `searchAvailable` says which.
 */
export class RedisBackend implements CacheBackend {
  readonly name = 'redis' as const;
  /** Undefined until the first successful check; re-checked after every reconnect and now and then (CacheService). */
  searchAvailable: boolean | undefined;
  private readonly entryPrefix: string;
  private readonly expiryKey: string;
  /** The start of the other bookkeeping keys: hash-tagged with expiryKey, so all of them are on its slot. */
  private readonly sharesKey: string;
  private readonly client: WithTrack;
  private warnedNoSearch = false;
  /** Set once warnOfTuning has told of HNSW settings the index was not built with. */
  private warnedTuning = false;
  private preparing: Promise<void> | undefined;
  /** Namespaces whose size is known (or being counted): whether each holds most of the index. */
  private readonly namespaceSizes = new Map<string, { large: boolean; at: number }>();

  constructor(
    client: RedisClient,
    private readonly options: RedisBackendOptions,
    private readonly logger: Logger,
  ) {
    this.entryPrefix = `${options.keyPrefix}e:`;
    this.expiryKey = `${options.keyPrefix}expiry`;
    // A key without braces hashes on its whole name: one whose tag is that name is on the same slot.
    this.sharesKey = `${options.keyPrefix}{${this.expiryKey}}:`;
    if (!('gatewayCacheTrack' in client)) client.defineCommand('gatewayCacheTrack', { numberOfKeys: 4, lua: TRACK_SCRIPT });
    this.client = client as WithTrack;
  }

  /** Detects the search module and creates the index if it is missing. Safe to call again. */
  prepare(): Promise<void> {
    this.preparing ??= this.detect().finally(() => (this.preparing = undefined));
    return this.preparing;
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const [body, pt, ct, usage, dep, tier] = await this.client.hmget(this.entryPrefix + key, 'body', 'pt', 'ct', 'usage', 'dep', 'tier');
    if (body === null) return undefined;
    const answer: CachedAnswer = { body, promptTokens: Number(pt) || 0, completionTokens: Number(ct) || 0, usage: parsedUsage(usage) };
    if (dep !== null) answer.deployment = dep;
    if (tier !== null) answer.tier = tier;
    return answer;
  }

  async put(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const ttlMs = ttlSeconds * 1000;
    const fields: (string | number | Buffer)[] = [
      'ns',
      entry.namespace,
      'body',
      entry.body,
      'pt',
      entry.promptTokens,
      'ct',
      entry.completionTokens,
    ];
    if (entry.usage) fields.push('usage', JSON.stringify(entry.usage));
    if (entry.deployment !== undefined) fields.push('dep', entry.deployment);
    if (entry.tier !== undefined) fields.push('tier', entry.tier);
    if (this.searchAvailable && entry.vector && entry.prompt !== undefined) {
      fields.push('prompt', entry.prompt, 'vec', Buffer.from(entry.vector.buffer, entry.vector.byteOffset, entry.vector.byteLength));
    }
    const entryKey = this.entryPrefix + key;
    // One key per transaction: a reader sees the old entry or the new one, never a half-written one.
    // The transaction and the cap script go out together: one round trip within the budget, not two
    // (the script only keeps the bookkeeping; an entry it evicts is deleted after the write, below).
    const [written, evicted] = await Promise.all([
      this.client
        .multi()
        .del(entryKey)
        .hset(entryKey, ...fields)
        .pexpire(entryKey, ttlMs)
        .exec(),
      this.client.gatewayCacheTrack(
        this.expiryKey,
        `${this.sharesKey}tenants`,
        `${this.sharesKey}held`,
        `${this.sharesKey}t:${entry.tenant}`,
        ttlMs,
        entryKey,
        this.options.maxEntries,
        this.options.tenantShare,
        entry.tenant,
        `${this.sharesKey}t:`,
      ),
    ]);
    const failed = written?.find(([err]) => err);
    if (failed) throw failed[0];
    // On a cluster the evicted entries live on other nodes. Not awaited: the entry is written, and an
    // evicted entry left behind by a failed UNLINK still expires by its TTL.
    for (const evictedKey of evicted) this.client.unlink(evictedKey).catch(() => {});
  }

  async nearest(namespace: string, vector: Float32Array, k: number): Promise<Neighbour[]> {
    // Namespaces are hex digests: nothing in them needs TAG escaping.
    const blob = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    let reply: unknown;
    try {
      const policy = this.knownLarge(namespace) ? ' HYBRID_POLICY BATCHES' : '';
      const query = `(@ns:{${namespace}})=>[KNN ${k} @vec $v EF_RUNTIME ${this.options.hnswEfRuntime}${policy} AS score]`;
      reply = await this.client.call(
        'FT.SEARCH',
        this.options.indexName,
        query,
        'PARAMS',
        '2',
        'v',
        blob,
        'SORTBY',
        'score',
        'RETURN',
        '2',
        'score',
        'prompt',
        'LIMIT',
        '0',
        String(k),
        'DIALECT',
        '2',
      );
    } catch (err) {
      // Redis restarted without its data, or someone dropped the index: build it again.
      if (/no such index|unknown index/i.test((err as Error).message)) void this.prepare();
      throw err;
    }
    const hits = parseSearchReply(reply);
    this.learnSize(namespace, hits.length < k);
    return hits.map(({ key, fields }) => {
      // A hit without the fields asked for (RediSearch on a cluster answers `extra_attributes: null`) cannot be
      // judged: the lookup fails, open and counted, rather than pass on a NaN similarity.
      if (fields.score === undefined || fields.prompt === undefined) throw new Error(`FT.SEARCH: hit ${key} without its score or prompt`);
      // COSINE scores are distances: 0 = same direction.
      return { key: key.slice(this.entryPrefix.length), similarity: 1 - Number(fields.score), prompt: fields.prompt };
    });
  }

  /**
   * Whether the namespace is known to hold most of the index. RediSearch then may still pick an
   * ad-hoc brute force over the namespace (1.7 ms of server time per lookup at 10,000 entries,
   * BENCHMARKS.md) where walking the HNSW graph in batches and filtering costs a fraction; for a
   * small namespace the brute force is the cheap choice and RediSearch's own planner is kept. An
   * unknown namespace gets the planner: counting first would cost the lookup two more round trips,
   * and every turn of a conversation is a namespace of its own.
   */
  private knownLarge(namespace: string): boolean {
    const known = this.namespaceSizes.get(namespace);
    return known !== undefined && Date.now() - known.at < SIZE_TTL_MS && known.large;
  }

  /**
   * After a lookup: fewer hits than asked for means the namespace is smaller than that (the common
   * case, a new conversation), so nothing needs counting. After a full answer the namespace is
   * counted in the background, for its next lookups. A failed count leaves the planner's choice
   * until the next one.
   */
  private learnSize(namespace: string, fewerThanAsked: boolean): void {
    const known = this.namespaceSizes.get(namespace);
    if (known && Date.now() - known.at < SIZE_TTL_MS) return;
    if (this.namespaceSizes.size >= MAX_SIZES_KEPT) this.namespaceSizes.clear();
    const remember = (large: boolean) => this.namespaceSizes.set(namespace, { large, at: Date.now() });
    remember(false);
    if (fewerThanAsked) return;
    const { indexName, batchesFrom = 1_000 } = this.options;
    // The index's size from FT.INFO, which keeps it: counting '*' walks every entry (~15 times the
    // search's time at 100,000).
    void Promise.all([
      this.client.call('FT.SEARCH', indexName, `@ns:{${namespace}}`, 'NOCONTENT', 'LIMIT', '0', '0', 'DIALECT', '2'),
      this.client.call('FT.INFO', indexName),
    ])
      .then(([reply, info]) => {
        const entries = searchTotal(reply);
        remember(entries >= batchesFrom && entries * 10 >= indexSize(info));
      })
      .catch(() => {});
  }

  private async detect(): Promise<void> {
    if (!this.options.dimensions) return;
    let indexes: string[];
    try {
      indexes = ((await this.client.call('FT._LIST')) as unknown[]).map(String);
    } catch (err) {
      if (!/unknown command|ERR unknown/i.test((err as Error).message)) throw err;
      this.searchAvailable = false;
      if (!this.warnedNoSearch) {
        this.logger.warn(
          'Redis has no search module (FT.* commands): exact caching in Redis, semantic caching in process. Redis Stack, Redis 8 or valkey-search share the semantic cache across instances.',
        );
        this.warnedNoSearch = true;
      }
      return;
    }
    if (!indexes.includes(this.options.indexName)) await this.createIndex();
    this.searchAvailable = (await this.servesEveryShard()) && (await this.schemaFits());
  }

  /**
   * Whether every master lists the index. A search module that serves a cluster (Redis Enterprise, valkey-search
   * on Memorystore) makes it on each shard and searches them all; RediSearch without its coordinator takes the
   * index name for a key: the index is made on the one shard owning its slot, which indexes and searches only its
   * own entries (a third of them on three shards), and answers hits without their fields. Then the semantic layer
   * is kept in process, as without the module: told once per change, re-checked with the index.
   */
  private async servesEveryShard(): Promise<boolean> {
    const { indexName } = this.options;
    const masters = mastersOf(this.client);
    // A master that does not answer fails the check: the layer stays where it was until the next one.
    const listed = await Promise.all(
      masters.map(async (node) => ((await node.call('FT._LIST')) as unknown[]).map(String).includes(indexName)),
    );
    const without = listed.filter((has) => !has).length;
    if (!without) return true;
    if (this.searchAvailable !== false) {
      this.logger.warn(
        `Redis Cluster: ${without} of ${masters.length} masters do not list the vector index ${indexName}: its search module indexes each shard apart (not cluster-aware), so a search would see only some entries. Exact caching in Redis, semantic caching in process. A cluster-aware search module (Redis Enterprise, valkey-search) shares the semantic cache across instances.`,
      );
    }
    return false;
  }

  /**
   * Whether the index under our name is the one createIndex makes. One made by hand or by other
   * software may not be (another dimension, vector type or prefix: no entry is indexed and the
   * semantic layer never serves, silently), so it is not used: semantic caching goes in process, as
   * without the module.
   */
  private async schemaFits(): Promise<boolean> {
    const { indexName, dimensions } = this.options;
    const expected = gatewayIndexSchema(this.entryPrefix, dimensions);
    const info = await this.client.call('FT.INFO', indexName);
    const differences = schemaDifferences(info, expected);
    // Told once per change: the index can be swapped or dropped while the gateway runs.
    if (!differences.length) {
      if (this.searchAvailable === false) this.logger.log(`Redis index ${indexName} fits again: semantic caching in Redis`);
      this.warnOfTuning(tuningDifferences(info, this.options));
      return true;
    }
    if (this.searchAvailable !== false) {
      this.logger.warn(
        `Redis index ${indexName} is not the one the gateway makes (${differences.join('; ')}): semantic caching in process. Drop the index (FT.DROPINDEX ${indexName}) to let the gateway create it again.`,
      );
    }
    return false;
  }

  /**
   * An index that fits but was built with other HNSW settings than the config's (changed since it was made) serves on
   * as it is: told once per process, with how to rebuild it, as nothing else would show the change is not applied.
   */
  private warnOfTuning(differences: string[]): void {
    if (!differences.length || this.warnedTuning) return;
    this.warnedTuning = true;
    const { indexName } = this.options;
    this.logger.warn(
      `Redis index ${indexName} was built with ${differences.join('; ')}: not applied, as RediSearch fixes them when it ` +
        `makes an index. To rebuild it with the config's, once every replica has them: FT.DROPINDEX ${indexName} ` +
        `(without DD: the entries stay); a gateway makes it again within seconds (its index check) and indexes them anew.`,
    );
  }

  private async createIndex(): Promise<void> {
    const { indexName, dimensions, hnswM, hnswEfConstruction } = this.options;
    try {
      await this.client.call(
        'FT.CREATE',
        indexName,
        'ON',
        'HASH',
        'PREFIX',
        '1',
        this.entryPrefix,
        'SCHEMA',
        'ns',
        'TAG',
        'vec',
        'VECTOR',
        'HNSW',
        '10',
        'TYPE',
        'FLOAT32',
        'DIM',
        String(dimensions),
        'DISTANCE_METRIC',
        'COSINE',
        'M',
        String(hnswM),
        'EF_CONSTRUCTION',
        String(hnswEfConstruction),
      );
      this.logger.log(`created vector index ${indexName}`);
    } catch (err) {
      // Another gateway instance created it first.
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  }
}

/** The billed usage an entry keeps (CachedAnswer.usage), or undefined for one without it or not JSON. */
function parsedUsage(json: string | null): UsageCounts | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as UsageCounts;
  } catch {
    return undefined;
  }
}
