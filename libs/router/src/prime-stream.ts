import type { ChatStream } from '@gateway/providers';

/**
 * Waits for a stream's first chunk before the stream counts as started, so a
 * stream that fails before sending anything can still fall back to another
 * deployment. The returned stream yields that chunk, then the rest.
 */
export async function primeStream(pending: Promise<ChatStream>): Promise<ChatStream> {
  const source = await pending;
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const primed: ChatStream = {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
      } finally {
        primed.usage = source.usage;
        // Stopped early (client gone): let the source release its upstream.
        await iterator.return?.();
      }
    },
  };
  return primed;
}
