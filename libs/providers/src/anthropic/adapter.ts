import type Anthropic from '@anthropic-ai/sdk';
import type { ProviderConfig } from '@gateway/config';
import { GatewayError } from '../gateway-error';
import type { CallContext, ChatStream, JsonResult, ModelInfo } from '../provider';
import { SdkProvider } from '../sdk-provider';
import { openStream } from '../translation/chunks';
import { completionJson } from '../translation/completion';
import { wantsReasoning } from '../translation/params';
import type { ChatCompletionCreateParams } from '../wire';
import { anthropicClient } from './client';
import { fromAnthropicError } from './errors';
import { NativeMessages } from './native-client';
import { nativeStream } from './native-stream';
import { countTokensRequest, nativeMessagesRequest, toMessagesRequest } from './request';
import { choiceFrom, usageFrom } from './response';
import { translateEvents } from './stream';

/** The client's own Anthropic headers, which go with its own body (NativeRequest.headers). */
function nativeHeaders(ctx: CallContext): Record<string, string> | undefined {
  return ctx.native?.protocol === 'anthropic' ? ctx.native.headers : undefined;
}

/** The SDK's request options for a native body (count_tokens). */
function nativeOptions(ctx: CallContext): Anthropic.RequestOptions {
  const headers = nativeHeaders(ctx);
  return headers ? { signal: ctx.signal, headers } : { signal: ctx.signal };
}

/** Claude through the Messages API, translated to and from the OpenAI format. */
export class AnthropicProvider extends SdkProvider<Anthropic> {
  readonly type = 'anthropic' as const;
  private readonly native: NativeMessages;
  constructor(config: ProviderConfig, apiKey: string | undefined) {
    super(config, (fetch) => anthropicClient(config, apiKey, fetch));
    this.native = new NativeMessages(this.sdk, this.transport.dispatcher);
  }

  async chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult> {
    const body = this.requestBody(request, ctx);
    if (ctx.native?.protocol === 'anthropic') {
      // The answer as Anthropic sent it, for a Messages API client: no field lost to a round trip through chat.
      const text = await this.call(ctx.signal, () => this.native.message(body, nativeHeaders(ctx), ctx.signal));
      return { body: text, usage: usageFrom((JSON.parse(text) as Anthropic.Message).usage), native: 'anthropic' };
    }
    const message = await this.call(ctx.signal, () => this.sdk.messages.create(body, { signal: ctx.signal }));
    const usage = usageFrom(message.usage);
    return { body: completionJson(message.id, message.model, [choiceFrom(message, wantsReasoning(request))], usage), usage };
  }

  async chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream> {
    const body = { ...this.requestBody(request, ctx), stream: true as const };
    if (ctx.native?.protocol === 'anthropic') {
      const events = await this.call(ctx.signal, () => this.native.stream(body, nativeHeaders(ctx), ctx.signal));
      return nativeStream(this.name, events, (err) => this.toError(err, ctx.signal));
    }
    const events = await this.call(ctx.signal, () => this.sdk.messages.create(body, { signal: ctx.signal }));
    const translate = translateEvents({
      provider: this.name,
      exposeReasoning: wantsReasoning(request),
      includeUsage: request.stream_options?.include_usage === true,
    });
    return openStream(this.name, events[Symbol.asyncIterator](), translate, (err) => this.toError(err, ctx.signal));
  }

  async countTokens(request: ChatCompletionCreateParams, ctx: CallContext): Promise<number> {
    const body = countTokensRequest(this.requestBody(request, ctx), ctx.upstreamModel);
    const counted = await this.call(ctx.signal, () => this.sdk.messages.countTokens(body, nativeOptions(ctx)));
    return counted.input_tokens;
  }

  /** The client's own Messages API body when it sent one (see NativeRequest), else the translation. */
  private requestBody(request: ChatCompletionCreateParams, ctx: CallContext) {
    if (ctx.native?.protocol === 'anthropic') return nativeMessagesRequest(ctx.native.body, ctx.upstreamModel);
    return toMessagesRequest(request, ctx.upstreamModel, ctx.deployment);
  }

  async embeddings(): Promise<JsonResult> {
    throw GatewayError.badRequest(
      `Provider ${this.name} (Anthropic) has no embeddings API; use an embeddings model.`,
      'model',
      'model_not_supported',
    );
  }

  listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    return this.call(signal, async () => {
      const models: ModelInfo[] = [];
      for await (const model of this.sdk.models.list({}, { signal })) models.push({ id: model.id, owned_by: 'anthropic' });
      return models;
    });
  }

  protected toError(err: unknown, signal: AbortSignal): GatewayError {
    return fromAnthropicError(this.name, err, signal);
  }
}
