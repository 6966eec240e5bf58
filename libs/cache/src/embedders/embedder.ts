import type { CompletionUsage } from '@gateway/providers';
import type { Deployment } from '@gateway/router';

/** `loading` until an offline model has loaded (then `ready`), `failed` if it could not: the semantic layer is off. */
export type EmbedderState = 'loading' | 'ready' | 'failed';

/**
 * An upstream call an embedding took (ProviderEmbedder: cache.semantic.embeddingModel), for the
 * request it was made for to pay: its usage as reported, priced by the gateway's accounting.
 */
export interface EmbeddingCall {
  /** The embedding model group. */
  model: string;
  deployment: Deployment;
  usage?: CompletionUsage;
  /** The text's estimated tokens, and the most it can have: usage beyond is not believed. */
  promptTokens: number;
  promptTokensAtMost?: number;
  elapsedMs: number;
}

/** Turns a prompt into a unit vector. */
export interface Embedder {
  /** Names the vector space (model and dimensions), e.g. `use-lite-512`: it names the Redis index. */
  readonly id: string;
  readonly dimensions: number;
  readonly state: EmbedderState;
  /**
   * Rejects with `signal`'s reason once it aborts: the caller has stopped waiting; at once with
   * Loading while the model loads. `caller`: whose prompt it is (a gateway key), for an embedder
   * that queues prompts to share its queue fairly between callers (WorkerEmbedder).
   */
  embed(text: string, signal?: AbortSignal, called?: (call: EmbeddingCall) => void, caller?: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Keeps the most recent embeddings by text: a repeated or refreshed prompt is not embedded twice. */
export class RecentEmbeddings {
  private readonly vectors = new Map<string, Float32Array>();

  constructor(private readonly capacity: number) {}

  get(text: string): Float32Array | undefined {
    const vector = this.vectors.get(text);
    if (vector) {
      this.vectors.delete(text);
      this.vectors.set(text, vector);
    }
    return vector;
  }

  set(text: string, vector: Float32Array): void {
    if (!this.capacity) return;
    this.vectors.delete(text);
    this.vectors.set(text, vector);
    if (this.vectors.size > this.capacity) this.vectors.delete(this.vectors.keys().next().value!);
  }
}
