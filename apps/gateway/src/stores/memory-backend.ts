import { ENTRY_OVERHEAD_BYTES, heldBytes } from './held-bytes';
import type { TenantStore } from './tenant-store';

/**
 * JSON per tenant and id with a TTL, in process: a Map in recency order, evicted oldest first beyond
 * `maxBytes` of memory (held-bytes.ts) or `maxEntries` entries. Stored responses and kept reasoning state use it.
 */
export class MemoryBackend implements TenantStore {
  private readonly entries = new Map<string, { json: string; bytes: number; expiresAt: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = Infinity,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(tenant: string, id: string): Promise<string | undefined> {
    const key = `${tenant}\u0000${id}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.remove(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry); // most recently used last
    this.bytes += entry.bytes;
    return entry.json;
  }

  async put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void> {
    const key = `${tenant}\u0000${id}`;
    this.remove(key);
    const bytes = heldBytes(json) + heldBytes(key) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { json, bytes, expiresAt: this.now() + ttlSeconds * 1000 });
    this.bytes += bytes;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.remove(oldest);
    }
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return this.remove(`${tenant}\u0000${id}`);
  }

  private remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.bytes -= entry.bytes;
    return this.entries.delete(key);
  }
}
