import { Logger } from '@nestjs/common';
import type { ProviderConfig, ProviderType } from '@gateway/config';
import { upstreamMessage } from './error-body';
import type { GatewayError } from './gateway-error';
import type { CallContext, ChatStream, JsonResult, ModelInfo, Provider } from './provider';
import { PooledFetch } from './translation/transport';
import type { ChatCompletionCreateParams, EmbeddingCreateParams } from './wire';

const MAX_WARNINGS = 100;

/**
 * What the adapters built on a vendor SDK share: the SDK client, built once over
 * the provider's pooled transport, and one place where SDK failures become the
 * GatewayErrors the router and the client see.
 */
export abstract class SdkProvider<Sdk> implements Provider {
  readonly name: string;
  abstract readonly type: ProviderType;
  protected readonly sdk: Sdk;
  protected readonly transport: PooledFetch;
  private readonly logger: Logger;
  /** The SDK warnings logged so far (bounded: their text comes from the deployments' models). */
  private readonly warned = new Set<string>();

  /** `createSdk` builds the vendor's client once, over the provider's transport. */
  constructor(
    config: ProviderConfig,
    private readonly apiKey: string | undefined,
    createSdk: (fetch: typeof globalThis.fetch) => Sdk,
  ) {
    this.name = config.name;
    this.transport = new PooledFetch(config);
    this.sdk = createSdk(this.transport.fetch);
    this.logger = new Logger(`Provider ${config.name}`);
  }

  abstract chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult>;
  abstract chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream>;
  abstract embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult>;
  abstract listModels(signal: AbortSignal): Promise<ModelInfo[]>;

  /**
   * The vendor's error mapping: whatever its SDK threw, as the error the client should see. `answered`: thrown
   * while the upstream's answer was read (a stream's events), where nothing can be the SDK refusing the request.
   */
  protected abstract mapError(err: unknown, signal: AbortSignal, answered: boolean): GatewayError;

  /**
   * `mapError`, without the provider's key in the upstream's text (some upstreams repeat it), cut to
   * MAX_MESSAGE_CHARS after the key is out: a cut through the key would leave its beginning in.
   */
  protected toError(err: unknown, signal: AbortSignal, answered = false): GatewayError {
    const error = this.mapError(err, signal, answered);
    error.message = upstreamMessage(error.message, this.apiKey);
    return error;
  }

  /**
   * Runs one SDK call; anything it throws leaves as a GatewayError. The SDK's own console
   * warnings are logged once each by the gateway's logger instead: the Anthropic SDK writes
   * one to stderr on every request for a deprecated model or `thinking.type: 'enabled'`: a
   * plain-text line a request among the JSON logs (and 64 µs a request in console calls in a
   * CPU profile). SDK methods warn before their first await, and `console.warn` is restored
   * as soon as the call returns its promise, before any other code runs.
   */
  protected async call<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    try {
      return await this.warningsLogged(run);
    } catch (err) {
      throw this.toError(err, signal);
    }
  }

  private warningsLogged<T>(start: () => T): T {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => this.warnOnce(args.join(' '));
    try {
      return start();
    } finally {
      console.warn = warn;
    }
  }

  private warnOnce(text: string): void {
    if (this.warned.has(text) || this.warned.size >= MAX_WARNINGS) return;
    this.warned.add(text);
    this.logger.warn(`SDK warning (logged once): ${text}`);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
