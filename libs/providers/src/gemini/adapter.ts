import type {
  EmbedContentParameters,
  EmbedContentResponse,
  GenerateContentParameters,
  GenerateContentResponse,
  GoogleGenAI,
} from '@google/genai';
import type { ProviderConfig } from '@gateway/config';
import { boundedMap } from '../bounded-map';
import { GatewayError } from '../gateway-error';
import { misTypedCandidatesField } from '../translation/answer-shape';
import { headersOf, type StreamedBody } from '../openai/dispatch';
import type { CallContext, ChatStream, JsonResult, ModelInfo } from '../provider';
import { SdkProvider } from '../sdk-provider';
import { openStream } from '../translation/chunks';
import { completionId, completionJson } from '../translation/completion';
import { wantsReasoning } from '../translation/params';
import type { ChatCompletionCreateParams, EmbeddingCreateParams } from '../wire';
import { geminiClient } from './client';
import { answeredBatches, toEmbeddingsResult, toEmbedRequests } from './embeddings';
import { fromGeminiError, keepingHeaders } from './errors';
import { chunkEvents } from './events';
import { recallSignatures, rememberSignatures } from './kept-signatures';
import { answerToolNames, GEMINI_PARAMS, toGenerateRequest } from './request';
import { answerParts, checkPromptFeedback, choiceFrom, type ChoiceOptions, usageFrom } from './response';
import { translateChunks } from './stream';

/**
 * A call's SDK config: the request's own, with the signal that cancels it, its own upstream headers
 * and its own fetch (keepingHeaders: a failed answer's Retry-After reaches the error mapping).
 */
function requestConfig<C extends object | undefined>(config: C, ctx: CallContext, fetch: typeof globalThis.fetch) {
  return { ...config, abortSignal: ctx.signal, httpOptions: { ...(ctx.upstreamHeaders && { headers: ctx.upstreamHeaders }), fetch } };
}

/**
 * The batchEmbedContents calls of one request in flight at once: a 2,048-input request is 21
 * calls, and one request should not take the provider's whole connection pool (nor its rate limit).
 */
const CONCURRENT_EMBED_BATCHES = 4;

/** Gemini through generateContent / streamGenerateContent, translated to and from the OpenAI format. */
export class GeminiProvider extends SdkProvider<GoogleGenAI> {
  readonly type = 'gemini' as const;
  readonly embedsTextOnly = true;
  readonly params = GEMINI_PARAMS;
  /** The provider's upstream timeout, for the streams the gateway reads itself (openStream). */
  private readonly timeoutMs: number;

  constructor(config: ProviderConfig, apiKey: string | undefined) {
    super(config, apiKey, (fetch) => geminiClient(config, apiKey, fetch));
    this.timeoutMs = config.timeoutMs;
  }

  async chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult> {
    const params = toGenerateRequest(request, ctx.upstreamModel, ctx.deployment, await recallSignatures(request, ctx));
    const kept = keepingHeaders(this.name, ctx.signal, this.transport.reporting(ctx.sent));
    const response = await this.call(ctx.signal, () =>
      this.sdk.models.generateContent({ ...params, config: requestConfig(params.config, ctx, kept.fetch) }).catch(kept.rethrow),
    );
    const field = misTypedCandidatesField(response as unknown as Record<string, unknown>);
    if (field !== undefined)
      throw GatewayError.invalidResponse(
        `Provider ${this.name} returned a response that is not an answer (\`${field}\` is of the wrong type).`,
      );
    checkPromptFeedback(this.name, response);
    const options = this.choiceOptions(request);
    const candidates = [...response.candidates!].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const usage = usageFrom(
      response.usageMetadata,
      candidates.some((c) => answerParts(c.content?.parts)),
    );
    const id = response.responseId || completionId();
    const choices = candidates.map((c) => choiceFrom(c, options));
    rememberSignatures(
      ctx,
      choices.flatMap((choice) => choice.toolCalls),
    );
    return { body: completionJson(id, response.modelVersion || ctx.upstreamModel, choices, usage), usage };
  }

  async chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream> {
    const params = toGenerateRequest(request, ctx.upstreamModel, ctx.deployment, await recallSignatures(request, ctx));
    const chunks = await this.call(ctx.signal, () => this.openStream(params, ctx));
    const translate = translateChunks({
      ...this.choiceOptions(request),
      model: ctx.upstreamModel,
      includeUsage: request.stream_options?.include_usage === true,
      keep: (calls) => rememberSignatures(ctx, calls),
    });
    // A blocked prompt is found by the translation before its first frame: before the client sees a 200.
    // Read from the answer: what fails there is the upstream's answer, never the SDK refusing the request.
    return openStream(this.name, chunks, translate, (err) => this.toError(err, ctx.signal, true));
  }

  /**
   * The SDK builds the request and turns a failed answer into its ApiError; the gateway sends it
   * and reads a 200's body itself (chunkEvents). The SDK is handed an empty 200 then, in a stream
   * it never starts: its reader cost 6-8x the CPU of the OpenAI-format path and held the event loop
   * through a burst. Its automatic continuation (re-requesting after a cut, which only its reader
   * drives) is off: the router retries.
   */
  private async openStream(params: GenerateContentParameters, ctx: CallContext): Promise<AsyncIterator<GenerateContentResponse>> {
    let body: StreamedBody | undefined;
    const kept = keepingHeaders(this.name, ctx.signal, async (input, init) => {
      const answer = await this.transport.streamed(input, init ?? {}, ctx.signal, this.timeoutMs, ctx.sent);
      if (answer.statusCode === 200) return ((body = answer.body), new Response(null));
      // A 2xx other than 200, or a 3xx (a proxy's): no stream, and no body wanted (a 204 has none: a Response
      // with one threw), refused by its status in keepingHeaders.
      if (answer.statusCode < 400) {
        answer.body.release();
        return new Response(null, { status: answer.statusCode });
      }
      return new Response(ReadableStream.from(answer.body), { status: answer.statusCode, headers: headersOf(answer) });
    });
    await this.sdk.models
      .generateContentStream({ ...params, config: { ...requestConfig(params.config, ctx, kept.fetch), automaticContinuation: false } })
      .catch(kept.rethrow);
    return chunkEvents(this.name, body!, params.config?.candidateCount ?? 1);
  }

  /**
   * One batchEmbedContents call per GEMINI_EMBED_BATCH inputs, CONCURRENT_EMBED_BATCHES at a time. One that fails
   * fails the attempt and starts no other; the batches answered by the time those running settled are told to
   * `ctx.answeredInPart` (Google bills them though the attempt gives the client nothing) and kept (`ctx.kept`), so a
   * later attempt of the request sends only the batches still unanswered and puts the answer together in input order,
   * billed for what it sent.
   */
  async embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult> {
    const batches = toEmbedRequests(request, ctx.upstreamModel);
    // Vectors of one model are comparable only with that model's from the same service: kept ones are taken from the
    // same provider (one endpoint, key and headers) and upstream model only. The batches are the same as the request
    // and the model are (embeddings read no deployment setting); another provider, even one of the same endpoint,
    // or another model gets every batch again, and the vectors are never mixed.
    const kept = ctx.kept?.of<EmbedContentResponse>(`${this.name}\n${ctx.upstreamModel}`) ?? new Map<number, EmbedContentResponse>();
    const unanswered = batches.flatMap((params, at) => (kept.has(at) ? [] : [{ params, at }]));
    const answered: { params: EmbedContentParameters; response: EmbedContentResponse; at: number }[] = [];
    // An attempt that fails after Google answered some of its batches: Google bills those, so the key is charged them.
    const failedAnswered = (error: unknown): never => {
      const part = answeredBatches(answered, request);
      if (part) ctx.answeredInPart?.(part);
      throw error;
    };
    await boundedMap(unanswered, CONCURRENT_EMBED_BATCHES, async ({ params, at }) => {
      const fetching = keepingHeaders(this.name, ctx.signal, this.transport.reporting(ctx.sent));
      const response = await this.call(ctx.signal, () =>
        this.sdk.models.embedContent({ ...params, config: requestConfig(params.config, ctx, fetching.fetch) }).catch(fetching.rethrow),
      );
      answered.push({ params, response, at });
      kept.set(at, response);
    }).catch(failedAnswered);
    let result: JsonResult;
    try {
      result = toEmbeddingsResult(
        this.name,
        batches.map((_, at) => kept.get(at)!),
        request,
        ctx.upstreamModel,
      );
    } catch (error) {
      // No answer (a batch's vectors missing, or of another width): which batch is at fault is not known, so the next
      // attempt sends every one again. Google answered (and bills) this attempt's batches: charged as a failed batch's
      // are; the kept ones were charged when answered, and are again if resent.
      kept.clear();
      return failedAnswered(error);
    }
    if (answered.length === batches.length) return result;
    const sent = answeredBatches(answered, request);
    return { ...result, usage: sent?.usage, billedPromptEstimate: sent?.promptTokens ?? 0 };
  }

  listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    return this.call(signal, async () => {
      const models: ModelInfo[] = [];
      for await (const model of await this.sdk.models.list({ config: { abortSignal: signal } })) {
        models.push({ id: (model.name ?? '').replace(/^models\//, ''), owned_by: 'google' });
      }
      return models;
    });
  }

  protected mapError(err: unknown, signal: AbortSignal, answered: boolean): GatewayError {
    return fromGeminiError(this.name, err, signal, answered);
  }

  private choiceOptions(request: ChatCompletionCreateParams): ChoiceOptions {
    return {
      provider: this.name,
      exposeReasoning: wantsReasoning(request),
      maxToolCalls: request.parallel_tool_calls === false ? 1 : Infinity,
      toolNames: answerToolNames(request),
    };
  }
}
