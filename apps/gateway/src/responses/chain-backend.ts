import type { TenantStore } from '../stores/tenant-store';
import { inState, isShown, linkedFrom, readLinked, stateOf } from './linked-record';

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
 * conversations that continue it still hold it, until the last of them is deleted, which deletes it too.
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
  /**
   * Deletes a record, or hides it if continued; false when there is none to show. A record deleted outright takes
   * with it those it links back to that were hidden and held for it alone.
   */
  delete(tenant: string, id: string): Promise<boolean>;
}

/** A record as MemoryChain keeps it: with the number of records that link to it (its continuations). */
interface Counted {
  id: string;
  value: string;
  continuations: number;
}

/**
 * The chain in this process: a walk of get()s on the in-process store (memory-backend.ts), what Redis does in one
 * script. A record is kept after its count of continuations, `<count> <record>` (no other version reads this store).
 * A continuation restarts the TTL of every record it links back to, so one that expires is not counted off: those it
 * held go at the same time, unless a later continuation restarted them; then a hidden one, still counting it, stays
 * until its own TTL ends, however that later one goes. One evicted for room is not counted off either: the same.
 */
export class MemoryChain implements ChainBackend {
  /** The latest change: puts and deletes run one at a time, as Redis runs its scripts (each reads counts, then writes them). */
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly records: TenantStore,
    private readonly ttlSeconds: number,
  ) {}

  async get(tenant: string, id: string): Promise<string | undefined> {
    return (await this.read(tenant, id))?.value;
  }

  async chain(tenant: string, id: string): Promise<string[] | undefined> {
    return (await this.walk(tenant, id))?.map(({ value }) => value).reverse();
  }

  put(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean> {
    return this.oneAtATime(() => this.store(tenant, id, value, previous));
  }

  delete(tenant: string, id: string): Promise<boolean> {
    return this.oneAtATime(() => this.hideOrRemove(tenant, id));
  }

  private oneAtATime<T>(change: () => Promise<T>): Promise<T> {
    const done = this.changing.then(change);
    this.changing = done.catch(() => undefined);
    return done;
  }

  private async store(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean> {
    const earlier = previous ? await this.walk(tenant, previous) : [];
    // A record it links back to went (deleted or expired while it was answered): its conversation could not be rebuilt.
    if (!earlier) return false;
    // Written again first, the chain's start first and `previous` last: their TTL starts again, and they are the key's
    // most recently used, `previous` above all, not the first evicted for room.
    for (const record of earlier.toReversed()) {
      const value = record.id === previous && stateOf(record.value) === 'live' ? inState(record.value, 'continued') : record.value;
      const continuations = record.continuations + (record.id === previous ? 1 : 0);
      await this.records.put(tenant, record.id, kept({ ...record, value, continuations }), this.ttlSeconds);
    }
    await this.records.put(tenant, id, kept({ id, value, continuations: 0 }), this.ttlSeconds);
    // Kept whole, or not at all: a record whose chain lost a link for its room is of no use.
    if (await this.walk(tenant, id)) return true;
    await this.remove(tenant, id, value);
    return false;
  }

  private async hideOrRemove(tenant: string, id: string): Promise<boolean> {
    const record = await this.read(tenant, id);
    if (record === undefined || !isShown(record.value)) return false;
    if (stateOf(record.value) === 'continued')
      await this.records.replace(tenant, id, kept({ ...record, value: inState(record.value, 'deleted') }));
    else await this.remove(tenant, id, record.value);
    return true;
  }

  /**
   * Deletes a record outright: the one it continued loses a continuation; hidden and left with none, it is deleted
   * too, and so on back the chain (at most MAX_LINKS); shown, it is live again, so that its own delete deletes it.
   */
  private async remove(tenant: string, id: string, value: string): Promise<void> {
    await this.records.delete(tenant, id);
    for (let gone = readLinked(value), n = 0; !gone.whole && gone.previous !== undefined && n < MAX_LINKS; n++) {
      const record = await this.read(tenant, gone.previous);
      if (!record) return;
      const continuations = record.continuations - 1;
      const state = stateOf(record.value);
      if (continuations > 0 || state !== 'deleted') {
        const value = continuations > 0 || state !== 'continued' ? record.value : inState(record.value, 'live');
        return this.records.replace(tenant, record.id, kept({ ...record, value, continuations }));
      }
      await this.records.delete(tenant, record.id);
      gone = readLinked(record.value);
    }
  }

  private async read(tenant: string, id: string): Promise<Counted | undefined> {
    const stored = await this.records.get(tenant, id);
    if (stored === undefined) return undefined;
    const space = stored.indexOf(' ');
    return { id, value: stored.slice(space + 1), continuations: Number(stored.slice(0, space)) };
  }

  /** The records from `id` back to the chain's start, latest first. */
  private async walk(tenant: string, id: string): Promise<Counted[] | undefined> {
    const records: Counted[] = [];
    for (let at: string | undefined = id; records.length < MAX_LINKS;) {
      const record = await this.read(tenant, at);
      if (record === undefined) return undefined;
      records.push(record);
      at = linkedFrom(record.value);
      if (at === undefined) return records;
    }
    return undefined;
  }
}

function kept(record: Counted): string {
  return `${record.continuations} ${record.value}`;
}
