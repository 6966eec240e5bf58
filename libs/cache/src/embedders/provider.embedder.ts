import { bodyText, type CreateEmbeddingResponse } from '@gateway/providers';
import type { Executor, RouterService } from '@gateway/router';
import { normalise } from '../vector';
import type { Embedder, EmbeddingCall } from './embedder';

/**
 * Embeddings from a configured model group (OpenAI text-embedding-3-*, Gemini, any
 * OpenAI-compatible server, or the mock provider), through the same providers and
 * fallbacks as /v1/embeddings.
 */
export class ProviderEmbedder implements Embedder {
  readonly id: string;
  readonly state = 'ready';

  constructor(
    private readonly model: string,
    readonly dimensions: number,
    private readonly router: RouterService,
    private readonly executor: Executor,
  ) {
    this.id = `${model.replace(/[^A-Za-z0-9.-]/g, '_')}-${dimensions}`;
  }

  /**
   * `signal`: the caller's wait (cache.semantic.embeddingTimeoutMs); its abort cancels the upstream call.
   * `called`: told of the upstream call once it answered, whatever it answered (it is billed).
   */
  async embed(text: string, signal: AbortSignal, called?: (call: EmbeddingCall) => void): Promise<Float32Array> {
    const plan = this.router.planEmbeddings(this.model, text);
    const run = await this.executor
      // `sent`: an attempt that times out unsent was waiting for a connection, not the upstream's failure (Executor).
      .run(plan, signal, 'total', (d, attemptSignal, _timing, sent) =>
        d.provider.embeddings(
          { model: d.upstreamModel, input: text, dimensions: this.dimensions, encoding_format: 'float' },
          { upstreamModel: d.upstreamModel, signal: attemptSignal, requestId: 'cache-embedding', deployment: d.config, sent },
        ),
      )
      .catch((err: unknown) => {
        // The executor reports the abort as a client that left; the fail-open metric counts a timeout.
        throw signal.aborted ? signal.reason : err;
      });
    const { promptTokens, promptTokensAtMost } = plan.profile;
    called?.({
      model: this.model,
      deployment: run.deployment,
      usage: run.result.usage,
      promptTokens,
      promptTokensAtMost,
      elapsedMs: run.elapsedMs,
    });
    const body = JSON.parse(bodyText(run.result.body)) as CreateEmbeddingResponse;
    const values = body.data?.[0]?.embedding;
    if (!Array.isArray(values) || values.length !== this.dimensions) {
      throw new Error(
        `embedding model ${this.model} returned ${Array.isArray(values) ? values.length : 'no'} dimensions, expected ${this.dimensions}`,
      );
    }
    return normalise(Float32Array.from(values));
  }

  async close(): Promise<void> {}
}
