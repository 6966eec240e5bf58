/**
 * `run` over every item, at most `limit` at once, the results in the items' order. The first
 * failure starts no further item, and rejects the whole once those running have settled: each
 * went upstream and may have been answered (and billed), which a caller can only know once it ended.
 */
export async function boundedMap<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const at = next++;
      try {
        results[at] = await run(items[at]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
