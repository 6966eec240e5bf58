import type { Logger } from '@nestjs/common';
import type { CacheBackend, CachedAnswer, CacheEntry, Neighbour } from './backend';
import { parseSearchReply } from './search-reply';
import type { RedisClient } from '@gateway/redis';

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
}

/**
 * Stores an entry (HASH), sets its TTL, and keeps the cap: a sorted set scores every
 * entry by its expiry, so expired members are trimmed and, over the cap, the entries
 * closest to expiry are dropped. One script, so the three stay consistent.
 * KEYS: entry, expiry set. ARGV: ttl ms, now ms, expires-at ms, max entries, field, value, …
 */
const PUT_SCRIPT = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
end
return 1`;

type WithPut = RedisClient & { gatewayCachePut(entry: string, expiry: string, ...args: (string | number | Buffer)[]): Promise<number> };

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
  private readonly client: WithPut;
  private warnedNoSearch = false;
  private preparing: Promise<void> | undefined;

  constructor(
    client: RedisClient,
    private readonly options: RedisBackendOptions,
    private readonly logger: Logger,
  ) {
    this.entryPrefix = `${options.keyPrefix}e:`;
    this.expiryKey = `${options.keyPrefix}expiry`;
    if (!('gatewayCachePut' in client)) client.defineCommand('gatewayCachePut', { numberOfKeys: 2, lua: PUT_SCRIPT });
    this.client = client as WithPut;
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
    await this.client.gatewayCachePut(this.entryPrefix + key, this.expiryKey, ttlMs, now, now + ttlMs, this.options.maxEntries, ...fields);
  }

  async nearest(namespace: string, vector: Float32Array, k: number): Promise<Neighbour[]> {
    // Namespaces are hex digests: nothing in them needs TAG escaping.
    const query = `(@ns:{${namespace}})=>[KNN ${k} @vec $v EF_RUNTIME ${this.options.hnswEfRuntime} AS score]`;
    const blob = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    let reply: unknown;
    try {
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
