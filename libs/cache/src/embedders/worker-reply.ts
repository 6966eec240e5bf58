import type { MessagePort } from 'node:worker_threads';
import type { EmbedReply, EmbedRequest } from './worker-embedder';

/**
 * An embedder worker's handler of EmbedRequests: embeds the texts its model represents, in one
 * model call, and names the others (by index) instead of embedding them.
 */
export function replyTo(
  port: MessagePort,
  represents: (text: string) => Promise<boolean>,
  embed: (texts: string[]) => Promise<Float32Array<ArrayBuffer>>,
): (request: EmbedRequest) => Promise<void> {
  return async ({ id, texts }) => {
    try {
      const shown = await Promise.all(texts.map(represents));
      const embedded = texts.filter((_, i) => shown[i]);
      const vectors = embedded.length ? await embed(embedded) : new Float32Array(0);
      const unrepresented = shown.flatMap((ok, i) => (ok ? [] : [i]));
      port.postMessage({ id, vectors, unrepresented } satisfies EmbedReply, [vectors.buffer]);
    } catch (err) {
      port.postMessage({ id, error: (err as Error).message } satisfies EmbedReply);
    }
  };
}
