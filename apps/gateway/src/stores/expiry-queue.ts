/** Below this many records the queue is not compacted: a small store's stale records cost next to nothing. */
const MIN_COMPACT = 1_024;

/**
 * An in-process store's items by expiry, soonest first (a binary heap), so that the store takes out its
 * expired items before it evicts a live one for room: taken out only when read, they counted against
 * the store's bound and in their key's share, and live items were evicted in their stead. O(log n) an
 * item. The store queues an item (its tenant and id) each time it sets the item's expiry, and says what
 * that expiry is now (`expiry`, undefined once the item is gone): a record whose expiry is no longer the
 * item's (it went, or was given a later one) is dropped when it comes up, or with all such records once
 * the queue is twice its length after the last compaction. A record is its expiry, tenant and id in
 * three arrays: nothing to allocate, and an item gone is not kept in memory by its record.
 */
export class ExpiryQueue {
  private ats: number[] = [];
  private tenants: string[] = [];
  private ids: string[] = [];
  private compactAbove = MIN_COMPACT;

  constructor(private readonly expiry: (tenant: string, id: string) => number | undefined) {}

  /** Queues an item at `at`, the expiry the store has just given it. */
  add(tenant: string, id: string, at: number): void {
    let i = this.ats.length;
    this.ats.push(at);
    this.tenants.push(tenant);
    this.ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.ats[parent]! <= at) break;
      this.swap(i, parent);
      i = parent;
    }
    if (this.ats.length > this.compactAbove) this.compact();
  }

  /** The items expired by `now` ([tenant, id]), soonest first, out of the queue: the store removes them. */
  expired(now: number): [tenant: string, id: string][] {
    const found: [string, string][] = [];
    while (this.ats.length && this.ats[0]! <= now) {
      const [at, tenant, id] = [this.ats[0]!, this.tenants[0]!, this.ids[0]!];
      this.removeTop();
      if (this.expiry(tenant, id) === at) found.push([tenant, id]);
    }
    return found;
  }

  private compact(): void {
    const held = this.ats.map((_, i) => i).filter((i) => this.expiry(this.tenants[i]!, this.ids[i]!) === this.ats[i]);
    // Sorted by expiry, an array is a heap.
    held.sort((a, b) => this.ats[a]! - this.ats[b]!);
    [this.ats, this.tenants, this.ids] = [held.map((i) => this.ats[i]!), held.map((i) => this.tenants[i]!), held.map((i) => this.ids[i]!)];
    this.compactAbove = Math.max(MIN_COMPACT, 2 * this.ats.length);
  }

  private removeTop(): void {
    const last = this.ats.length - 1;
    this.swap(0, last);
    this.ats.pop();
    this.tenants.pop();
    this.ids.pop();
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      const child = left + 1 < last && this.ats[left + 1]! < this.ats[left]! ? left + 1 : left;
      if (this.ats[child]! >= this.ats[i]!) break;
      this.swap(i, child);
      i = child;
    }
  }

  private swap(i: number, j: number): void {
    const { ats, tenants, ids } = this;
    const [at, tenant, id] = [ats[i]!, tenants[i]!, ids[i]!];
    ats[i] = ats[j]!;
    tenants[i] = tenants[j]!;
    ids[i] = ids[j]!;
    ats[j] = at;
    tenants[j] = tenant;
    ids[j] = id;
  }
}
