import { ExpiryQueue } from './expiry-queue';
import { BY_COUNT, fairEvictions, type Share } from './fair-share';
import { ENTRY_OVERHEAD_BYTES, heldBytes } from './held-bytes';
import type { TenantStore } from './tenant-store';

interface Entry {
  id: string;
  json: string;
  bytes: number;
  expiresAt: number;
}

/**
 * JSON per tenant and id with a TTL, in process, within `maxBytes` of memory (held-bytes.ts) and
 * `maxEntries` entries. When an entry needs room, entries go from the tenant holding the most (the
 * tenant adding it counted with it), its least recently used first, as the message threads' store
 * does (fair-share.ts): one key cannot push out another key's entries holding less than an even share.
 * An entry larger than the store, or than its tenant's share while others hold the rest, is not kept.
 * Expired entries are taken out before any is evicted (expiry-queue.ts), so they never push out live ones.
 * Stored responses and kept reasoning state use it.
 */
export class MemoryBackend implements TenantStore {
  /** Per tenant, its entries by id. */
  private readonly shares = new Map<string, Share<Entry>>();
  private readonly expiries = new ExpiryQueue((tenant, id) => this.shares.get(tenant)?.entries.get(id)?.expiresAt);
  private bytes = 0;
  private count = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = Infinity,
  ) {}

  get size(): number {
    return this.count;
  }

  async get(tenant: string, id: string): Promise<string | undefined> {
    const entry = this.shares.get(tenant)?.entries.get(id);
    if (!entry) return undefined;
    this.remove(tenant, id);
    if (entry.expiresAt <= this.now()) return undefined;
    this.add(tenant, entry); // most recently used last
    return entry.json;
  }

  async put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void> {
    this.remove(tenant, id);
    for (const [expired, expiredId] of this.expiries.expired(this.now())) this.remove(expired, expiredId);
    const bytes = heldBytes(json) + heldBytes(`${tenant}\u0000${id}`) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    const byBytes = fairEvictions(this.shares, tenant, bytes, this.bytes + bytes - this.maxBytes);
    if (!byBytes) return;
    this.evict(byBytes);
    const byCount = fairEvictions<Entry>(this.shares, tenant, 1, this.count + 1 - this.maxEntries, BY_COUNT);
    if (!byCount) return;
    this.evict(byCount);
    const expiresAt = this.now() + ttlSeconds * 1000;
    this.add(tenant, { id, json, bytes, expiresAt });
    this.expiries.add(tenant, id, expiresAt);
  }

  async replace(tenant: string, id: string, json: string): Promise<void> {
    const left = (this.shares.get(tenant)?.entries.get(id)?.expiresAt ?? 0) - this.now();
    if (left > 0) await this.put(tenant, id, json, left / 1000);
  }

  /** Whether a live entry was deleted (an expired one is not found, as get and Redis have it). */
  async delete(tenant: string, id: string): Promise<boolean> {
    const expiresAt = this.shares.get(tenant)?.entries.get(id)?.expiresAt ?? 0;
    return this.remove(tenant, id) && expiresAt > this.now();
  }

  private evict(plan: [string, Entry][]): void {
    for (const [tenant, entry] of plan) this.remove(tenant, entry.id);
  }

  private add(tenant: string, entry: Entry): void {
    const share = this.shares.get(tenant) ?? this.shares.set(tenant, { entries: new Map(), bytes: 0 }).get(tenant)!;
    share.entries.set(entry.id, entry);
    share.bytes += entry.bytes;
    this.bytes += entry.bytes;
    this.count++;
  }

  /** Takes an entry out (a tenant left with none goes: eviction looks only at tenants holding entries). */
  private remove(tenant: string, id: string): boolean {
    const share = this.shares.get(tenant);
    const entry = share?.entries.get(id);
    if (!share || !entry) return false;
    share.entries.delete(id);
    share.bytes -= entry.bytes;
    this.bytes -= entry.bytes;
    this.count--;
    if (!share.entries.size) this.shares.delete(tenant);
    return true;
  }
}
