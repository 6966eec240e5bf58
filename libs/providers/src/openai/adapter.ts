import type { ProviderConfig, ProviderType } from '@gateway/config';
import { checkedEmbeddingsAnswer } from '../embedding-answer';
import type { CallContext, ChatStream, JsonResult, ModelInfo, Provider } from '../provider';
import type { ChatCompletionCreateParams, EmbeddingCreateParams } from '../wire';
import { UpstreamClient } from './client';
import { type ChatDialect, chatDialect, toUpstreamBody, toUpstreamChat } from './request';
import { readChatResult, readJsonResult } from './response';
import { passThroughStream } from './stream';

/** OpenAI itself and every OpenAI-compatible server (Groq, Together, Mistral, vLLM, Ollama, …). */
export class OpenAIProvider implements Provider {
  readonly name: string;
  readonly type: ProviderType;
  private readonly client: UpstreamClient;
  private readonly dialect: ChatDialect;

  constructor(
    config: ProviderConfig,
    private readonly apiKey: string | undefined,
  ) {
    this.name = config.name;
    this.type = config.type;
    this.client = new UpstreamClient(config, apiKey);
    this.dialect = chatDialect(config);
  }

  // then(), not an async function and its await: one promise on the request path, not two.
  chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult> {
    return this.client
      .sendBuffered('/chat/completions', toUpstreamChat(request, ctx.upstreamModel, this.dialect, ctx.deployment.maxOutputTokens), ctx)
      .then((body) => readChatResult(this.name, body, this.apiKey));
  }

  async chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream> {
    const res = await this.client.send(
      '/chat/completions',
      toUpstreamChat(request, ctx.upstreamModel, this.dialect, ctx.deployment.maxOutputTokens),
      ctx,
    );
    return passThroughStream(
      this.name,
      res,
      ctx.signal,
      request.stream_options?.include_usage !== true,
      this.apiKey,
      !!request.tools?.length,
    );
  }

  /** OpenAI-format upstreams handle float and base64 encodings themselves; their answer is checked (checkedEmbeddingsAnswer). */
  async embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult> {
    const body = await this.client.sendBuffered('/embeddings', toUpstreamBody(request, ctx.upstreamModel, this.dialect), ctx);
    return checkedEmbeddingsAnswer(this.name, readJsonResult(this.name, body, 'list'), request);
  }

  async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
    const body = await this.client.sendBuffered('/models', undefined, { signal });
    return (JSON.parse(body.toString('utf8')) as { data?: ModelInfo[] }).data ?? [];
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
