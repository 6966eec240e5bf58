import type { CacheBackend, CachedAnswer, CacheEntry, Neighbour } from './backend';
import { VectorBuckets } from './vector-buckets';

interface Stored extends CacheEntry {
  key: string;
  expiresAt: number;
  bytes: number;
}

/** Rough per-entry bookkeeping (Map slots, objects, key strings) on top of its text and vector. */
const ENTRY_OVERHEAD_BYTES = 400;
const SWEEP_INTERVAL_MS = 60_000;

/** One tenant's entry keys, least recently used first, and the memory they hold. */
interface Share {
  keys: Set<string>;
  bytes: number;
}

/**
 * The in-process cache: entries in a Map kept in least-recently-used order, vectors in
 * one VectorBuckets index per namespace. A memory cap evicts: from the tenant holding the most
 * (the writer, its new entry counted, on a tie) its least recently used while it holds more than
 * `tenantShareBytes`, else the least recently used of all, so that one tenant storing many answers
 * pushes out its own, not the others' (the Redis backend's rule, by memory instead of entries).
 * Expired entries are dropped when met and by a sweep once a minute.
 */
export class EmbeddedBackend implements CacheBackend {
  readonly name = 'embedded' as const;
  private readonly entries = new Map<string, Stored>();
  private readonly indexes = new Map<string, VectorBuckets>();
  private readonly shares = new Map<string, Share>();
  private bytes = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
    private readonly tenantShareBytes = maxBytes,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  get memoryBytes(): number {
    return this.bytes;
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    const entry = this.live(key);
    if (!entry) return undefined;
    // Re-inserting moves the entry to the recent end of the Map and of its tenant's keys.
    this.entries.delete(key);
    this.entries.set(key, entry);
    const own = this.shares.get(entry.tenant)!.keys;
    own.delete(key);
    own.add(key);
    const { body, promptTokens, completionTokens, usage, deployment, tier } = entry;
    return { body, promptTokens, completionTokens, usage, deployment, tier };
  }

  async put(key: string, entry: CacheEntry, ttlSeconds: number): Promise<void> {
    this.delete(key);
    const bytes =
      2 * (entry.body.length + (entry.prompt?.length ?? 0) + key.length) + (entry.vector?.byteLength ?? 0) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    const stored: Stored = { ...entry, key, bytes, expiresAt: this.now() + ttlSeconds * 1000 };
    this.entries.set(key, stored);
    this.bytes += bytes;
    const share = this.shares.get(entry.tenant) ?? this.shares.set(entry.tenant, { keys: new Set(), bytes: 0 }).get(entry.tenant)!;
    share.keys.add(key);
    share.bytes += bytes;
    if (entry.vector && entry.prompt !== undefined) {
      let index = this.indexes.get(entry.namespace);
      if (!index) this.indexes.set(entry.namespace, (index = new VectorBuckets()));
      index.add(key, entry.vector);
    }
    while (this.bytes > this.maxBytes) this.delete(this.victim(entry.tenant, key));
  }

  async nearest(namespace: string, vector: Float32Array, k: number): Promise<Neighbour[]> {
    const index = this.indexes.get(namespace);
    if (!index) return [];
    const neighbours: Neighbour[] = [];
    for (const { key, similarity } of index.search(vector, k)) {
      const entry = this.live(key);
      if (entry) neighbours.push({ key, similarity, prompt: entry.prompt! });
    }
    return neighbours;
  }

  /**
   * The entry to evict for room: the least recently used of the tenant holding the most (`writer` on a tie) when it
   * holds more than its share, else of all. Never the entry being added (`adding`): when it is its tenant's last, one
   * no larger than the store yet over the share alone, the least recently used of all goes.
   */
  private victim(writer: string, adding: string): string {
    let [from, most] = [writer, this.shares.get(writer)!.bytes];
    for (const [tenant, { bytes }] of this.shares) if (bytes > most) [from, most] = [tenant, bytes];
    const own = most > this.tenantShareBytes ? this.shares.get(from)!.keys.values().next().value : undefined;
    return own !== undefined && own !== adding ? own : this.entries.keys().next().value!;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Drops every expired entry. */
  sweep(): void {
    const now = this.now();
    for (const entry of this.entries.values()) if (entry.expiresAt <= now) this.delete(entry.key);
  }

  private live(key: string): Stored | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return entry;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
    const share = this.shares.get(entry.tenant)!;
    share.keys.delete(key);
    share.bytes -= entry.bytes;
    // A tenant left with nothing goes: the eviction looks only at tenants holding entries.
    if (!share.keys.size) this.shares.delete(entry.tenant);
    if (!entry.vector) return;
    const index = this.indexes.get(entry.namespace);
    index?.remove(key);
    if (index && !index.size) this.indexes.delete(entry.namespace);
  }
}
