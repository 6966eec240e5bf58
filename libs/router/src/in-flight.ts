/** Ended slots tolerated beyond the open ones before a compaction: keeps compactions rare at small sizes. */
const COMPACT_SLACK = 32;

/**
 * Start times of one deployment's attempts in flight, oldest first, in two growing arrays
 * instead of a Set of `{ at }` objects: an attempt allocates nothing. (The Set's entries and
 * the tables it rebuilt as attempts came and went outlived scavenges and were promoted:
 * ~15-20 bytes of old space a request at c=16, BENCHMARKS.md "Changes, each measured".)
 *
 * Attempts are numbered in start order, so `ids` is sorted and an end finds its slot by
 * binary search. An ended slot is marked NaN; the oldest open slot is `head`. One attempt
 * that never ends cannot make the arrays grow without bound: they are compacted whenever
 * ended slots outnumber open ones.
 */
export class InFlight {
  private readonly ids: number[] = [];
  private readonly starts: number[] = [];
  private head = 0;
  private open = 0;
  private nextId = 0;

  /** Marks an attempt started at `at`; returns its id, for `end`. */
  start(at: number): number {
    const id = this.nextId++;
    this.ids.push(id);
    this.starts.push(at);
    this.open += 1;
    return id;
  }

  /** Ends attempt `id`; returns its start time, or undefined when it was not in flight. */
  end(id: number): number | undefined {
    const slot = this.slotOf(id);
    if (slot < 0) return undefined;
    const at = this.starts[slot];
    if (Number.isNaN(at)) return undefined;
    this.starts[slot] = NaN;
    this.open -= 1;
    if (this.open === 0) {
      this.ids.length = this.starts.length = this.head = 0;
      return at;
    }
    while (Number.isNaN(this.starts[this.head])) this.head += 1;
    if (this.ids.length - this.open > this.open + COMPACT_SLACK) this.compact();
    return at;
  }

  /** When the oldest attempt in flight started; undefined when none is. */
  oldest(): number | undefined {
    return this.open > 0 ? this.starts[this.head] : undefined;
  }

  get size(): number {
    return this.open;
  }

  /** Slots held, open or ended: bounded by twice the open ones plus a constant. */
  get slots(): number {
    return this.ids.length;
  }

  private slotOf(id: number): number {
    let lo = this.head;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const found = this.ids[mid];
      if (found === id) return mid;
      if (found < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private compact(): void {
    let kept = 0;
    for (let slot = this.head; slot < this.ids.length; slot++) {
      if (Number.isNaN(this.starts[slot])) continue;
      this.ids[kept] = this.ids[slot];
      this.starts[kept] = this.starts[slot];
      kept += 1;
    }
    this.ids.length = this.starts.length = kept;
    this.head = 0;
  }
}
