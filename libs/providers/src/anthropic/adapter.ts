import type Anthropic from '@anthropic-ai/sdk';
import type { ProviderConfig } from '@gateway/config';
import { parseExactIntegers } from '../exact-integers';
import { GatewayError } from '../gateway-error';
import { headersOf } from '../openai/dispatch';
import type { CallContext, ChatStream, JsonResult, ModelInfo } from '../provider';
import { SdkProvider } from '../sdk-provider';
import { misTypedMessageField } from '../translation/answer-shape';
import { openStream } from '../translation/chunks';
import { completionJson } from '../translation/completion';
import { wantsReasoning } from '../translation/params';
import type { ChatCompletionCreateParams } from '../wire';
import { anthropicClient } from './client';
import { fromAnthropicError } from './errors';
import { messageEvents } from './events';
import { recallThinking, rememberThinking, type ThinkingBlock } from './kept-thinking';
import { NativeMessages } from './native-client';
import { nativeStream } from './native-stream';
import { ANTHROPIC_PARAMS, countTokensRequest, type KeptThinking, nativeMessagesRequest, toMessagesRequest } from './request';
import { choiceFrom, servedTier, usageFrom } from './response';
import { translateEvents } from './stream';
import { withThinkingTheTurnAllows } from './thinking-turn';

/** The request's own headers: the client's Anthropic headers, which go with its own body (NativeRequest.headers), and CallContext.upstreamHeaders. */
function nativeHeaders(ctx: CallContext): Record<string, string> | undefined {
  const client = ctx.native?.protocol === 'anthropic' ? ctx.native.headers : undefined;
  return client && ctx.upstreamHeaders ? { ...client, ...ctx.upstreamHeaders } : (client ?? ctx.upstreamHeaders);
}

/** Lets the SDK's `messages.create` start without sending anything (see sdkWarnings). */
const NOT_SENT = AbortSignal.abort();
/** Models (with or without thinking "enabled") whose SDK warnings were looked for; bounded, as the names come from requests. */
const MAX_CHECKED = 1_000;

/** The SDK's request options for a native body (count_tokens). */
function nativeOptions(ctx: CallContext): Anthropic.RequestOptions {
  const headers = nativeHeaders(ctx);
  return headers ? { signal: ctx.signal, headers } : { signal: ctx.signal };
}

/**
 * Claude through the Messages API, translated to and from the OpenAI format. Messages are sent
 * without the SDK per request (NativeMessages); the SDK counts tokens and lists models.
 */
export class AnthropicProvider extends SdkProvider<Anthropic> {
  readonly type = 'anthropic' as const;
  readonly params = ANTHROPIC_PARAMS;
  private readonly native: NativeMessages;
  private readonly checked = new Set<string>();
  constructor(config: ProviderConfig, apiKey: string | undefined) {
    super(config, apiKey, (fetch) => anthropicClient(config, apiKey, fetch));
    this.native = new NativeMessages(this.name, this.sdk, this.transport.dispatcher, config.timeoutMs, config.maxResponseBytes);
  }

  async chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult> {
    const body = this.requestBody(request, ctx, await recallThinking(request, ctx));
    this.sdkWarnings(body);
    const [text, message] = await this.call(ctx.signal, async () => {
      const answer = await this.native.message(body, nativeHeaders(ctx), ctx);
      return [answer, this.messageOf(answer)] as const;
    });
    const usage = usageFrom(message.usage);
    const serviceTier = servedTier(message.usage);
    // The answer as Anthropic sent it, for a Messages API client: no field lost to a round trip through chat.
    if (ctx.native?.protocol === 'anthropic') return { body: text, usage, serviceTier, native: 'anthropic' };
    const choice = choiceFrom(message, wantsReasoning(request));
    rememberThinking(ctx, choice.toolCalls[0]?.id, choice.thinkingBlocks as ThinkingBlock[]);
    return { body: completionJson(message.id, message.model, [choice], usage), usage, serviceTier };
  }

  async chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream> {
    const body = { ...this.requestBody(request, ctx, await recallThinking(request, ctx)), stream: true as const };
    this.sdkWarnings(body);
    const res = await this.call(ctx.signal, () => this.native.stream(body, nativeHeaders(ctx), ctx));
    // Read from the answer: what fails there is the upstream's answer, never the SDK refusing the request.
    const toError = (err: unknown) => this.toError(err, ctx.signal, true);
    if (ctx.native?.protocol === 'anthropic') return nativeStream(this.name, res.body, toError);
    const translate = translateEvents({
      provider: this.name,
      exposeReasoning: wantsReasoning(request),
      includeUsage: request.stream_options?.include_usage === true,
      keep: (firstCallId, blocks) => rememberThinking(ctx, firstCallId, blocks),
    });
    return openStream(
      this.name,
      messageEvents(this.name, res.body, () => headersOf(res)),
      translate,
      toError,
    );
  }

  async countTokens(request: ChatCompletionCreateParams, ctx: CallContext): Promise<number> {
    const body = countTokensRequest(this.requestBody(request, ctx, await recallThinking(request, ctx)), ctx.upstreamModel);
    const counted = await this.call(ctx.signal, () => this.sdk.messages.countTokens(body, nativeOptions(ctx)));
    if (typeof counted?.input_tokens !== 'number')
      throw GatewayError.invalidResponse(
        `Provider ${this.name} returned a token count that is not one (\`input_tokens\` is missing or of the wrong type).`,
      );
    return counted.input_tokens;
  }

  /** A whole answer's message; a 200 that is not one (a proxy's page) fails like any invalid answer. */
  private messageOf(text: string): Anthropic.Message {
    let message: Anthropic.Message | undefined;
    try {
      message = parseExactIntegers(text) as Anthropic.Message;
    } catch {
      // Not JSON: refused below.
    }
    if (message?.type !== 'message') throw GatewayError.invalidResponse(`Provider ${this.name} returned a response that is not a message.`);
    const field = misTypedMessageField(message as unknown as Record<string, unknown>);
    if (field !== undefined)
      throw GatewayError.invalidResponse(
        `Provider ${this.name} returned a response that is not a message (\`${field}\` is missing or of the wrong type).`,
      );
    return message;
  }

  /**
   * The SDK's warnings for a body's model (deprecated; thinking "enabled" where it should be
   * "adaptive"), logged once each (SdkProvider.call), though messages are not sent through the
   * SDK: the first body of each model and thinking type is handed to `messages.create` with an
   * aborted signal. It warns as it starts, from its own lists, and stops before sending.
   */
  private sdkWarnings(body: Anthropic.MessageCreateParams): void {
    const key = `${body.thinking?.type === 'enabled'} ${body.model}`;
    if (this.checked.has(key) || this.checked.size >= MAX_CHECKED) return;
    this.checked.add(key);
    this.call(NOT_SENT, () => this.sdk.messages.create(body, { signal: NOT_SENT })).catch(() => undefined);
  }

  /**
   * The client's own Messages API body when it sent one (see NativeRequest), else the translation
   * with the thinking `kept` for its tool turns (kept-thinking.ts); thinking as the turn allows.
   */
  private requestBody(request: ChatCompletionCreateParams, ctx: CallContext, kept: KeptThinking | undefined) {
    const body =
      ctx.native?.protocol === 'anthropic'
        ? nativeMessagesRequest(ctx.native.body, ctx.upstreamModel)
        : toMessagesRequest(request, ctx.upstreamModel, ctx.deployment, kept);
    return withThinkingTheTurnAllows(body);
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

  protected mapError(err: unknown, signal: AbortSignal, answered: boolean): GatewayError {
    return fromAnthropicError(this.name, err, signal, answered);
  }
}
