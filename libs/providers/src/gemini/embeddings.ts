import type { ContentEmbedding, EmbedContentParameters, EmbedContentResponse } from '@google/genai';
import { checkedVectors, estimatedEmbeddingUsage } from '../embedding-answer';
import { GatewayError } from '../gateway-error';
import type { AnsweredPart, JsonResult } from '../provider';
import type { CompletionUsage, CreateEmbeddingResponse, EmbeddingCreateParams } from '../wire';

/** Google's limit on one batchEmbedContents call: "at most 100 requests can be in one batch" (a 400 beyond). */
export const GEMINI_EMBED_BATCH = 100;

/**
 * An OpenAI embeddings request as batchEmbedContents calls (the SDK's embedContent sends a batch
 * to the Gemini API) of at most GEMINI_EMBED_BATCH inputs each, in input order: OpenAI takes
 * 2,048 inputs in one request (LangChain sends 512). `dimensions` is Gemini's outputDimensionality;
 * token-id inputs have no Gemini equivalent.
 */
export function toEmbedRequests(request: EmbeddingCreateParams, model: string): EmbedContentParameters[] {
  const inputs = typeof request.input === 'string' ? [request.input] : request.input;
  if (!inputs.every((input): input is string => typeof input === 'string')) {
    throw GatewayError.badRequest('Gemini embeds text only; send strings, not token ids.', 'input', 'invalid_value');
  }
  const config = request.dimensions ? { outputDimensionality: request.dimensions } : {};
  const batches: EmbedContentParameters[] = [];
  for (let start = 0; start < inputs.length; start += GEMINI_EMBED_BATCH) {
    batches.push({ model, contents: inputs.slice(start, start + GEMINI_EMBED_BATCH), config });
  }
  return batches;
}

/**
 * Gemini's vectors (the answers to toEmbedRequests' batches, in their order) as an OpenAI list, once
 * checked (checkedVectors: one per input, numeric, of the width asked). Google returns only the
 * full-size vector normalised; shortened ones are scaled to unit length here, as OpenAI's always are.
 * base64 is what the openai SDK asks for by default: little-endian float32, as OpenAI sends.
 */
export function toEmbeddingsResult(
  provider: string,
  responses: EmbedContentResponse[],
  request: EmbeddingCreateParams,
  model: string,
): JsonResult {
  const embeddings = responses.flatMap((response) => response.embeddings ?? []);
  const items = checkedVectors<{ embedding: ContentEmbedding['values'] }>(
    provider,
    embeddings.map((embedding) => ({ embedding: embedding.values })),
    request,
  );
  const base64 = request.encoding_format === 'base64';
  const data = items.map(({ embedding }, index) => {
    const vector = unit(embedding!);
    return {
      object: 'embedding' as const,
      index,
      embedding: (base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector)) as number[],
    };
  });
  // batchEmbedContents reports no usage: the body (whose usage OpenAI clients read) gets the
  // estimate the gateway bills, marked estimated there (accounting.ts).
  const counted = reportedTokens(responses);
  const usage = counted === undefined ? estimatedEmbeddingUsage(request) : { prompt_tokens: counted, total_tokens: counted };
  const body: CreateEmbeddingResponse = { object: 'list', data, model, usage };
  return { body: JSON.stringify(body), usage: counted === undefined ? undefined : countedUsage(counted) };
}

/**
 * Batches of an attempt that Google answered: it embedded, and bills, them. Those of an attempt that failed (one batch
 * refused, or the attempt ended), charged as such; those an answer sent when it took earlier attempts' (KeptAnswers),
 * what it is billed for. Their usage as a whole answer's is taken (reported by every one, else undefined: estimated),
 * and the gateway's estimate of their inputs; undefined when none was answered.
 */
export function answeredBatches(
  answered: readonly { params: EmbedContentParameters; response: EmbedContentResponse }[],
  request: EmbeddingCreateParams,
): AnsweredPart | undefined {
  if (!answered.length) return undefined;
  const counted = reportedTokens(answered.map(({ response }) => response));
  // toEmbedRequests' batches hold the request's strings.
  const inputs = answered.flatMap(({ params }) => params.contents as string[]);
  return {
    usage: counted === undefined ? undefined : countedUsage(counted),
    promptTokens: estimatedEmbeddingUsage({ ...request, input: inputs }).prompt_tokens,
  };
}

/** The tokens answers reported, added up; undefined unless every one reported its count (as a rule none does). */
function reportedTokens(responses: EmbedContentResponse[]): number | undefined {
  const reported = responses.map((response) => response.usageMetadata?.promptTokenCount);
  return reported.every((count) => count !== undefined) ? reported.reduce((sum: number, count) => sum + count!, 0) : undefined;
}

const countedUsage = (tokens: number): CompletionUsage => ({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens });

function unit(values: number[]): Float32Array {
  const vector = Float32Array.from(values);
  let sum = 0;
  for (const v of vector) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  return vector;
}
