import { MockBehaviour, type ProviderConfig } from '@gateway/config';
import type { CallContext, ChatStream, JsonResult, ModelInfo, Provider } from '../provider';
import type { ChatCompletionCreateParams, EmbeddingCreateParams } from '../wire';
import { toEmbeddingResponse } from './embeddings';
import { injectedFailure, upstreamDelay } from './errors';
import { planReply } from './request';
import { shapeAnswer, toCompletion } from './response';
import { streamAnswer } from './stream';

/**
 * An offline model of its own (not a fake of any vendor): answers derived from the
 * prompt, with configurable latency, speed and injected failures.
 */
export class MockProvider implements Provider {
  readonly name: string;
  readonly type = 'mock' as const;
  private readonly behaviour: MockBehaviour;

  constructor(
    config: ProviderConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.name = config.name;
    this.behaviour = config.mock ?? new MockBehaviour();
  }

  async chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult> {
    const answer = shapeAnswer(request, planReply(request));
    const generation = this.behaviour.tokensPerSecond > 0 ? (answer.pieces.length / this.behaviour.tokensPerSecond) * 1000 : 0;
    await this.arrive(ctx, this.behaviour.latencyMs + generation);
    const completion = toCompletion(answer, ctx.upstreamModel, request.n ?? 1);
    return { body: JSON.stringify(completion), usage: completion.usage };
  }

  async chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream> {
    await this.arrive(ctx, this.behaviour.latencyMs);
    const answer = shapeAnswer(request, planReply(request));
    const includeUsage = request.stream_options?.include_usage === true;
    return streamAnswer(this.name, answer, ctx.upstreamModel, this.behaviour, includeUsage, request.n ?? 1, ctx.signal);
  }

  async embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult> {
    await this.arrive(ctx, this.behaviour.latencyMs);
    const body = await toEmbeddingResponse(request, ctx.upstreamModel, this.behaviour.embeddingDimensions);
    return { body: JSON.stringify(body), usage: { ...body.usage, completion_tokens: 0 } };
  }

  async listModels(): Promise<ModelInfo[]> {
    return [{ id: 'mock', owned_by: 'gateway' }];
  }

  async close(): Promise<void> {}

  /** Waits like an upstream would, then fails if a failure is injected. */
  private async arrive(ctx: CallContext, delayMs: number): Promise<void> {
    // The mock is the upstream: nothing waits for a connection, the request is its own at once.
    ctx.sent?.();
    if (delayMs > 0) await upstreamDelay(delayMs, ctx.signal);
    const failure = injectedFailure(this.name, this.behaviour, this.random);
    if (failure) throw failure;
  }
}
