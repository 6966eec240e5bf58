/** Below this many records the queue is not compacted: a small store's stale records cost next to nothing. */
const MIN_COMPACT = 1_024;

interface Queued<T> {
  /** The item's expiry when it was queued. */
  at: number;
  item: T;
}

/**
 * An in-process store's items by expiry, soonest first (a binary heap), so that the store takes out
 * its expired items before it evicts a live one for room: taken out only when read, they counted
 * against the store's bound and in their key's share, and live items were evicted in their stead.
 * O(log n) an item. The store says which items it still holds (`held`): the record of one it let go
 * of is dropped when it comes up, or with all such records once the queue is twice its length after
 * the last compaction (so the queue stays within twice what the store holds). An item whose expiry
 * moved later (a thread's new turn, a renewed claim) is queued again at it when its old one comes up.
 */
export class ExpiryQueue<T extends { expiresAt: number }> {
  private heap: Queued<T>[] = [];
  private compactAbove = MIN_COMPACT;

  constructor(private readonly held: (item: T) => boolean) {}

  /** Queues an item the store took in (once: a later expiry of the same item is found when its first comes up). */
  add(item: T): void {
    this.push({ at: item.expiresAt, item });
    if (this.heap.length > this.compactAbove) this.compact();
  }

  /** The held items expired by `now`, soonest first, out of the queue: the store removes them. */
  expired(now: number): T[] {
    const found: T[] = [];
    while (this.heap.length && this.heap[0]!.at <= now) {
      const { item } = this.pop();
      if (!this.held(item)) continue;
      if (item.expiresAt <= now) found.push(item);
      else this.push({ at: item.expiresAt, item });
    }
    return found;
  }

  private compact(): void {
    // Sorted by expiry, an array is a heap.
    this.heap = this.heap.filter(({ item }) => this.held(item)).sort((a, b) => a.at - b.at);
    this.compactAbove = Math.max(MIN_COMPACT, 2 * this.heap.length);
  }

  private push(queued: Queued<T>): void {
    const heap = this.heap;
    let i = heap.push(queued) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= queued.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = queued;
  }

  private pop(): Queued<T> {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (!heap.length) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const child = left + 1 < heap.length && heap[left + 1]!.at < heap[left]!.at ? left + 1 : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
