import type { TenantStore } from '../stores/tenant-store';
import { inState, isShown, readLinked, stateOf } from './linked-record';

/**
 * The most records a conversation is rebuilt from: a longer chain is not found (its continuation is
 * previous_response_not_found, and clients send the whole conversation again). It bounds the work of
 * one read; the bytes are bounded by the key's share (responses.tenantMaxMemoryMb in Redis).
 */
export const MAX_LINKS = 10_000;

/**
 * Stored responses as linked records (linked-record.ts), per tenant: in Redis (redis-chain.ts) or
 * in this process (MemoryChain). A continuation keeps the records it links back to as long as
 * itself (their TTL starts again when it is stored): a live chain never loses its start while its
 * latest response is kept. A response continued is only hidden by a delete (linked-record.ts): the
 * conversations that continue it still hold it.
 */
export interface ChainBackend {
  /** One record, without those it links to (one deleted but kept for later ones included: the caller hides it). */
  get(tenant: string, id: string): Promise<string | undefined>;
  /** A record and every one it links back to, oldest first; undefined if one is gone or there are more than MAX_LINKS. */
  chain(tenant: string, id: string): Promise<string[] | undefined>;
  /**
   * Keeps `value` under `id` for the TTL, and the records it links back to from `previous` as long
   * (their TTL starts again), `previous` marked continued; says whether it was kept: not when a record it
   * links back to is gone (deleted or expired while it was answered), nor without room for the whole chain.
   */
  put(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean>;
  /** Deletes a record, or hides it if continued; false when there is none to show. */
  delete(tenant: string, id: string): Promise<boolean>;
}

/** The chain in this process: a walk of get()s on the in-process store (memory-backend.ts), what Redis does in one script. */
export class MemoryChain implements ChainBackend {
  constructor(
    private readonly records: TenantStore,
    private readonly ttlSeconds: number,
  ) {}

  get(tenant: string, id: string): Promise<string | undefined> {
    return this.records.get(tenant, id);
  }

  async chain(tenant: string, id: string): Promise<string[] | undefined> {
    return (await this.walk(tenant, id))?.map(([, value]) => value).reverse();
  }

  async put(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean> {
    const earlier = previous ? await this.walk(tenant, previous) : [];
    // A record it links back to went (deleted or expired while it was answered): its conversation could not be rebuilt.
    if (!earlier) return false;
    // Written again first, the chain's start first and `previous` last: their TTL starts again, and they are the key's
    // most recently used, `previous` above all, not the first evicted for room.
    for (const [at, record] of earlier.toReversed()) {
      const continued = at === previous && stateOf(record) === 'live' ? inState(record, 'continued') : record;
      await this.records.put(tenant, at, continued, this.ttlSeconds);
    }
    await this.records.put(tenant, id, value, this.ttlSeconds);
    // Kept whole, or not at all: a record whose chain lost a link for its room is of no use.
    if (await this.walk(tenant, id)) return true;
    await this.records.delete(tenant, id);
    return false;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const value = await this.records.get(tenant, id);
    if (value === undefined || !isShown(value)) return false;
    if (stateOf(value) !== 'continued') return this.records.delete(tenant, id);
    // Its TTL starts again: a later response restarts it too when it is stored.
    await this.records.put(tenant, id, inState(value, 'deleted'), this.ttlSeconds);
    return true;
  }

  /** The records from `id` back to the chain's start, latest first, with their ids. */
  private async walk(tenant: string, id: string): Promise<[string, string][] | undefined> {
    const values: [string, string][] = [];
    for (let at: string | undefined = id; values.length < MAX_LINKS;) {
      const value = await this.records.get(tenant, at);
      if (value === undefined) return undefined;
      values.push([at, value]);
      const record = readLinked(value);
      at = record.whole ? undefined : record.previous;
      if (at === undefined) return values;
    }
    return undefined;
  }
}
