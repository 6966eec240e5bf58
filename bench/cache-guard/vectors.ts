import type { Embedder } from '../../libs/cache/src/embedders/embedder';
import { Unrepresentable } from '../../libs/cache/src/refusals';
import { dot } from '../../libs/cache/src/vector';
import type { PromptPair } from '../../test/support/cache-pairs';

/**
 * A prompt's unit vector, or null for one the embedder refuses (Unrepresentable): the gateway
 * caches such a prompt exactly only, so it never takes part in a semantic hit.
 */
export type PromptVector = Float32Array | null;

/** Embeds every text (concurrently: the embedder batches them); any failure but a refused prompt throws. */
export async function embedPrompts(embedder: Pick<Embedder, 'embed'>, texts: string[]): Promise<Map<string, PromptVector>> {
  const embedded = await Promise.all(
    texts.map((text) =>
      embedder.embed(text).catch((err: unknown) => {
        if (err instanceof Unrepresentable) return null;
        throw err;
      }),
    ),
  );
  return new Map(texts.map((text, i) => [text, embedded[i]]));
}

/**
 * The similarity the gateway would see between the cached prompt a and the asking prompt b;
 * undefined when either is unrepresented (a is never stored for the semantic layer, b never looks there).
 */
export function pairSimilarity(vectors: Map<string, PromptVector>, pair: PromptPair): number | undefined {
  const [a, b] = [vectors.get(pair.a), vectors.get(pair.b)];
  return a && b ? dot(a, b) : undefined;
}
