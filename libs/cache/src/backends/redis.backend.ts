import type { Logger } from '@nestjs/common';
import type { CacheBackend, CachedAnswer, CacheEntry, Neighbour } from './backend';
import type { RedisClient } from '@gateway/redis';
import { parseSearchReply, searchTotal } from './search-reply';

export interface RedisBackendOptions {
  /** Prefix of this cache's keys, already carrying the embedder id. */
  keyPrefix: string;
  /** Vector size; 0 when the semantic layer is off (no index is created). */
  dimensions: number;
  /** Name of the RediSearch index: carries the embedder's name and dimension. */
  indexName: string;
  maxEntries: number;
  hnswM: number;
  hnswEfConstruction: number;
  hnswEfRuntime: number;
  /** Namespaces with at least this many entries (and a tenth of the index) are searched with HYBRID_POLICY BATCHES. */
  batchesFrom?: number;
}

/** How long a namespace's size (which picks the hybrid policy) is reused before it is counted again. */
const SIZE_TTL_MS = 30_000;
const MAX_SIZES_KEPT = 10_000;

/**
 * Keeps the cap: a sorted set scores every entry key by its expiry; expired members are
 * trimmed and, over the cap, the members closest to expiry are popped and returned for the
 * caller to delete. It touches only its one key (KEYS[1]), so it runs on Redis Cluster; the
 * entry keys it scores are data here, deleted by the caller each with a command of its own.
 * KEYS: expiry set. ARGV: now ms, expires-at ms, entry key, max entries.
 */
const TRACK_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then return redis.call('ZPOPMIN', KEYS[1], excess) end
return {}`;

type WithTrack = RedisClient & {
  gatewayCacheTrack(expiry: string, now: number, expiresAt: number, entry: string, max: number): Promise<string[]>;
};

/**
 * Redis, and with the search module (Redis Stack, Redis 8, RediSearch 2.6+, Valkey
 * search) a vector index: entries are HASHes under `<prefix>e:`, indexed by
 * `FT.CREATE … ON HASH` with an HNSW COSINE vector field and a TAG namespace field.
 * Without the module it still does the exact layer; `searchAvailable` says which.
 */
export class RedisBackend implements CacheBackend {
  readonly name = 'redis' as const;
  /** Undefined until the first successful check; re-checked after every reconnect. */
  searchAvailable: boolean | undefined;
  private readonly entryPrefix: string;
  private readonly expiryKey: string;
  private readonly client: WithTrack;
  private warnedNoSearch = false;
  private preparing: Promise<void> | undefined;
  private readonly namespaceSizes = new Map<string, { large: boolean; at: number }>();

  constructor(
    client: RedisClient,
    private readonly options: RedisBackendOptions,
    private readonly logger: Logger,
  ) {
    this.entryPrefix = `${options.keyPrefix}e:`;
    this.expiryKey = `${options.keyPrefix}expiry`;
    if (!('gatewayCacheTrack' in client)) client.defineCommand('gatewayCacheTrack', { numberOfKeys: 1, lua: TRACK_SCRIPT });
    this.client = client as WithTrack;
  }

  /** Detects the search module and creates the index if it is missing. Safe to call again. */
  prepare(): Promise<void> {
    this.preparing ??= this.detect().finally(() => (this.preparing = undefined));
    return this.preparing;
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const [body, pt, ct] = await this.client.hmget(this.entryPrefix + key, 'body', 'pt', 'ct');
    return body === null ? undefined : { body, promptTokens: Number(pt) || 0, completionTokens: Number(ct) || 0 };
  }

  async put(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    const now = Date.now();
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
    if (this.searchAvailable && entry.vector && entry.prompt !== undefined) {
      fields.push('prompt', entry.prompt, 'vec', Buffer.from(entry.vector.buffer, entry.vector.byteOffset, entry.vector.byteLength));
    }
    const entryKey = this.entryPrefix + key;
    // One key per transaction: a reader sees the old entry or the new one, never a half-written one.
    const written = await this.client
      .multi()
      .del(entryKey)
      .hset(entryKey, ...fields)
      .pexpire(entryKey, ttlMs)
      .exec();
    const failed = written?.find(([err]) => err);
    if (failed) throw failed[0];
    const evicted = await this.client.gatewayCacheTrack(this.expiryKey, now, now + ttlMs, entryKey, this.options.maxEntries);
    // [member, score, member, score, …]; on a cluster the members live on other nodes.
    await Promise.all(evicted.filter((_, i) => i % 2 === 0).map((evictedKey) => this.client.unlink(evictedKey)));
  }

  async nearest(namespace: string, vector: Float32Array, k: number): Promise<Neighbour[]> {
    // Namespaces are hex digests: nothing in them needs TAG escaping.
    const blob = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    let reply: unknown;
    try {
      const policy = (await this.large(namespace)) ? ' HYBRID_POLICY BATCHES' : '';
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
    // COSINE scores are distances: 0 = same direction.
    return parseSearchReply(reply).map(({ key, fields }) => ({
      key: key.slice(this.entryPrefix.length),
      similarity: 1 - Number(fields.score),
      prompt: fields.prompt ?? '',
    }));
  }

  /**
   * Whether the namespace holds most of the index. RediSearch then may still pick an ad-hoc brute
   * force over the namespace (1.7 ms of server time per lookup at 10,000 entries, BENCHMARKS.md)
   * where walking the HNSW graph in batches and filtering costs a fraction; for a small namespace
   * the brute force is the cheap choice and RediSearch's own planner is kept.
   */
  private async large(namespace: string): Promise<boolean> {
    const known = this.namespaceSizes.get(namespace);
    if (known && Date.now() - known.at < SIZE_TTL_MS) return known.large;
    const count = async (query: string) =>
      searchTotal(await this.client.call('FT.SEARCH', this.options.indexName, query, 'NOCONTENT', 'LIMIT', '0', '0', 'DIALECT', '2'));
    const [entries, all] = [await count(`@ns:{${namespace}}`), await count('*')];
    const large = entries >= (this.options.batchesFrom ?? 1_000) && entries * 10 >= all;
    if (this.namespaceSizes.size >= MAX_SIZES_KEPT) this.namespaceSizes.clear();
    this.namespaceSizes.set(namespace, { large, at: Date.now() });
    return large;
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
    this.searchAvailable = true;
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
