import { embeddingInputs, embeddingTokens } from './embedding-inputs';
import { GatewayError } from './gateway-error';
import type { JsonResult } from './provider';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from './wire';

/** One item of an upstream's `data`: its vector is a list of numbers, or float32 bytes in base64 (OpenAI's encoding). */
interface AnsweredItem {
  index?: unknown;
  embedding?: unknown;
}

/**
 * The upstream's vectors, in input order, once checked to be what the request asked for: one per
 * input, each non-empty and numeric, all of one width, that of `dimensions` when it was asked (a
 * server that ignored it is not guessed at by truncation). Anything else is a 502
 * upstream_invalid_response, which the router retries on the next deployment: a client that zips
 * its inputs with `data` would otherwise get the wrong vectors, and be billed for them. Items are
 * put in `index` order (an item without one keeps its place); indexes that are not each input's
 * once are refused too.
 */
export function checkedVectors<T extends AnsweredItem>(provider: string, data: unknown, request: EmbeddingCreateParams): T[] {
  const refuse = (why: string) => GatewayError.invalidResponse(`Provider ${provider} returned an unusable embeddings answer: ${why}.`);
  const count = embeddingInputs(request.input).length;
  if (!Array.isArray(data)) throw refuse('no `data` list');
  if (data.length !== count) throw refuse(`${data.length} vectors for ${count} inputs`);
  const ordered: T[] = new Array<T>(count);
  let width: number | undefined;
  for (const [position, item] of (data as unknown[]).entries()) {
    if (typeof item !== 'object' || item === null) throw refuse(`item ${position} is not an object`);
    const { index = position } = item as AnsweredItem;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= count || ordered[index as number])
      throw refuse(`item ${position} has index ${JSON.stringify(index)}`);
    const length = vectorLength((item as AnsweredItem).embedding);
    if (!length) throw refuse(`the vector of input ${index as number} is empty or not numeric`);
    if (width !== undefined && length !== width) throw refuse(`vectors of ${width} and of ${length} dimensions`);
    width = length;
    ordered[index as number] = item as T;
  }
  if (request.dimensions !== undefined && width !== request.dimensions)
    throw refuse(`vectors of ${width} dimensions where ${request.dimensions} were asked`);
  return ordered;
}

/** A vector's width: numbers listed, or base64 of float32 bytes; 0 when it is neither (or empty). */
function vectorLength(embedding: unknown): number {
  if (typeof embedding === 'string') {
    const bytes = Buffer.byteLength(embedding, 'base64');
    return bytes % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(embedding) ? bytes / 4 : 0;
  }
  if (!Array.isArray(embedding)) return 0;
  for (const value of embedding) if (typeof value !== 'number') return 0;
  return embedding.length;
}

/** The gateway's estimate of an embeddings request's tokens, for an answer without usage (billed as estimated). */
export function estimatedEmbeddingUsage(request: EmbeddingCreateParams): CreateEmbeddingResponse['usage'] {
  const tokens = embeddingTokens(embeddingInputs(request.input));
  return { prompt_tokens: tokens, total_tokens: tokens };
}

/**
 * An OpenAI-format answer checked (checkedVectors): its bytes go on as they came when its `data` is
 * in order and it has `usage`; otherwise it is rewritten in order, and with the estimate the gateway
 * bills as its usage (OpenAI's schema makes `usage` required; Gemini's answers carry the same).
 * Parsed whole to be checked: a few milliseconds for base64 answers (the openai SDK's default),
 * ~0.5 s for 2,048 float vectors of 1,536 dimensions (62 MB).
 */
export function checkedEmbeddingsAnswer(provider: string, result: JsonResult, request: EmbeddingCreateParams): JsonResult {
  let answer: { data?: unknown; usage?: unknown };
  try {
    answer = JSON.parse(Buffer.from(result.body).toString('utf8')) as typeof answer;
  } catch {
    throw GatewayError.invalidResponse(`Provider ${provider} returned an embeddings answer that is not JSON.`);
  }
  const ordered = checkedVectors(provider, answer.data, request);
  const inOrder = ordered.every((item, i) => item === (answer.data as unknown[])[i]);
  const hasUsage = typeof answer.usage === 'object' && answer.usage !== null;
  if (inOrder && hasUsage) return result;
  const body = { ...answer, data: ordered, usage: hasUsage ? answer.usage : estimatedEmbeddingUsage(request) };
  return { ...result, body: JSON.stringify(body) };
}
