import type { ProviderConfig, ProviderType } from '@gateway/config';
import type { GatewayError } from './gateway-error';
import type { CallContext, ChatStream, JsonResult, ModelInfo, Provider } from './provider';
import { PooledFetch } from './translation/transport';
import type { ChatCompletionCreateParams, EmbeddingCreateParams } from './wire';

/**
 * What the adapters built on a vendor SDK share: the SDK client, built once over
 * the provider's pooled transport, and one place where SDK failures become the
 * GatewayErrors the router and the client see.
 */
export abstract class SdkProvider<Sdk> implements Provider {
  readonly name: string;
  abstract readonly type: ProviderType;
  protected readonly sdk: Sdk;
  private readonly transport: PooledFetch;

  /** `createSdk` builds the vendor's client once, over the provider's transport. */
  constructor(config: ProviderConfig, createSdk: (fetch: typeof globalThis.fetch) => Sdk) {
    this.name = config.name;
    this.transport = new PooledFetch(config);
    this.sdk = createSdk(this.transport.fetch);
  }

  abstract chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult>;
  abstract chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream>;
  abstract embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult>;
  abstract listModels(signal: AbortSignal): Promise<ModelInfo[]>;

  /** The vendor's error mapping: whatever its SDK threw, as the error the client should see. */
  protected abstract toError(err: unknown, signal: AbortSignal): GatewayError;

  /** Runs one SDK call; anything it throws leaves as a GatewayError. */
  protected async call<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.toError(err, signal);
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
