import type { EmbedContentParameters, EmbedContentResponse } from '@google/genai';
import { embeddingInputs, embeddingTokens } from '../embedding-inputs';
import { GatewayError } from '../gateway-error';
import type { JsonResult } from '../provider';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from '../wire';

/**
 * An OpenAI embeddings request as one batchEmbedContents call (the SDK's
 * embedContent sends a batch to the Gemini API). `dimensions` is Gemini's
 * outputDimensionality; token-id inputs have no Gemini equivalent.
 */
export function toEmbedRequest(request: EmbeddingCreateParams, model: string): EmbedContentParameters {
  const inputs = typeof request.input === 'string' ? [request.input] : request.input;
  if (!inputs.every((input): input is string => typeof input === 'string')) {
    throw GatewayError.badRequest('Gemini embeds text only; send strings, not token ids.', 'input', 'invalid_value');
  }
  return { model, contents: inputs, config: request.dimensions ? { outputDimensionality: request.dimensions } : {} };
}

/**
 * Gemini's vectors as an OpenAI list. Google returns only the full-size vector
 * normalised; shortened ones are scaled to unit length here, as OpenAI's always are.
 * base64 is what the openai SDK asks for by default: little-endian float32, as OpenAI sends.
 */
export function toEmbeddingsResult(response: EmbedContentResponse, request: EmbeddingCreateParams, model: string): JsonResult {
  const base64 = request.encoding_format === 'base64';
  const data = (response.embeddings ?? []).map((embedding, index) => {
    const vector = unit(embedding.values ?? []);
    return {
      object: 'embedding' as const,
      index,
      embedding: (base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector)) as number[],
    };
  });
  // batchEmbedContents reports no usage: the body (whose usage OpenAI clients read) gets the
  // estimate the gateway bills, marked estimated there (accounting.ts).
  const reported = response.usageMetadata?.promptTokenCount;
  const tokens = reported ?? embeddingTokens(embeddingInputs(request.input));
  const body: CreateEmbeddingResponse = { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
  return {
    body: JSON.stringify(body),
    usage: reported === undefined ? undefined : { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens },
  };
}

function unit(values: number[]): Float32Array {
  const vector = Float32Array.from(values);
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}
