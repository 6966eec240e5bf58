import type { UsageCounts } from '@gateway/metrics';

/** What a hit serves: the stored completion and the usage it saved. */
export interface CachedAnswer {
  /** The `chat.completion` JSON as first returned (its usage the billed one when the upstream's was not believed). */
  body: string;
  promptTokens: number;
  completionTokens: number;
  /** The usage the answer was billed with, for what a hit saved; absent from entries stored before it was kept. */
  usage?: UsageCounts;
  /**
   * The deployment that answered, by fingerprint (deploymentFingerprint: an earlier release stored `<group>/<index>`),
   * whose prices a hit saved; absent from entries stored before it was kept.
   */
  deployment?: string;
  /** The service tier the answer said served it (its bill's), at whose prices a hit saved; absent: none said, or stored before it was kept. */
  tier?: string;
}

export interface CacheEntry extends CachedAnswer {
  namespace: string;
  /** Whose share of the store the entry counts in (CacheScope.tenant): a full store takes room from a tenant over its share first. */
  tenant: string;
  /** The embedded prompt, kept for the guard; absent for exact-only entries. */
  prompt?: string;
  /** Unit vector of `prompt`. */
  vector?: Float32Array;
}

export interface Neighbour {
  /** The entry's exact key, for `get`. */
  key: string;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
  prompt: string;
}

/**
 * Where entries live: the in-process index (embedded.backend.ts) or Redis
 * (redis.backend.ts). Both keep a TTL per entry and a size cap, within which each tenant has a share: when the
 * store is full, the tenant holding the most gives first if it holds more than its share.
 */
export interface CacheBackend {
  readonly name: 'embedded' | 'redis';
  get(key: string): Promise<CachedAnswer | undefined>;
  put(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void>;
  /** The `k` nearest earlier prompts of the namespace, most similar first. */
  nearest(namespace: string, vector: Float32Array, k: number): Promise<Neighbour[]>;
}
