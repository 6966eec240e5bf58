/**
 * The OpenAI wire format is the gateway's contract with clients; the `openai`
 * package's types describe it, so we reuse them instead of writing our own.
 */
export type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
export type { CompletionUsage } from 'openai/resources/completions';
export type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
