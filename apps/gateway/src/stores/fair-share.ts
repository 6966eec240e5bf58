/** One key's entries, least recently used first, and the bytes they hold. */
export interface Share<T> {
  entries: Map<string, T>;
  bytes: number;
}

/** How much an entry, and a key's share, count against a bound: bytes (the default) or entries. */
export interface Weigh<T> {
  entry(entry: T): number;
  share(share: Share<T>): number;
}

export const BY_BYTES: Weigh<{ bytes: number }> = { entry: (entry) => entry.bytes, share: (share) => share.bytes };
export const BY_COUNT: Weigh<unknown> = { entry: () => 1, share: (share) => share.entries.size };

/**
 * The entries to evict so that `adding` more for `tenant` fits a store that would be `excess` over
 * its bound with it: each from the key then holding the most (`tenant` counted with what it adds, even
 * when it holds nothing else yet, and taken on a tie), its least recently used first. A key alone may
 * fill the store, but one key cannot push out another key holding less: each key keeps at least an
 * even share once others need room. Undefined when the key to give is `tenant` with nothing left (what
 * it adds is more than its share while others need their room): then nothing is evicted in vain.
 * Planned before any goes. The in-process stores (message threads, stored responses) share it.
 */
export function fairEvictions<T>(
  shares: ReadonlyMap<string, Share<T>>,
  tenant: string,
  adding: number,
  excess: number,
  weigh: Weigh<T> = BY_BYTES as Weigh<T>,
): [string, T][] | undefined {
  const plan: [string, T][] = [];
  const given = new Map<string, number>();
  const oldestFirst = new Map<string, Iterator<T>>();
  const holds = (key: string) => {
    const share = shares.get(key);
    return (share ? weigh.share(share) : 0) - (given.get(key) ?? 0);
  };
  for (let over = excess; over > 0;) {
    let [from, most] = [tenant, holds(tenant) + adding];
    for (const key of shares.keys()) if (key !== tenant && holds(key) > most) [from, most] = [key, holds(key)];
    if (!oldestFirst.has(from)) oldestFirst.set(from, (shares.get(from)?.entries ?? new Map<string, T>()).values());
    const oldest = oldestFirst.get(from)!.next();
    if (oldest.done) return undefined;
    plan.push([from, oldest.value]);
    given.set(from, (given.get(from) ?? 0) + weigh.entry(oldest.value));
    over -= weigh.entry(oldest.value);
  }
  return plan;
}
