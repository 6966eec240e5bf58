import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { embeddingInputs, embeddingTokens, type EmbeddingInput } from '../embedding-inputs';
import { GatewayError } from '../gateway-error';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from '../wire';

/** Features hashed between two yields to the event loop, so a large input never holds it (about a millisecond). */
const FEATURES_PER_SLICE = 2_000;

/**
 * Deterministic embeddings by feature hashing of words and character trigrams:
 * texts that share words get close vectors, so the semantic cache can be demoed
 * offline. Not a language model: paraphrases with no shared words are far apart.
 * Token-id inputs hash their ids as words. The work is cut in slices with a yield
 * between them: it grows with the input, and /health must not wait behind it.
 */
export async function embed(input: EmbeddingInput, dimensions: number): Promise<Float32Array> {
  const vector = new Float32Array(dimensions);
  const words = typeof input === 'string' ? (input.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) : input.map(String);
  let hashed = 0;
  for (const word of words) {
    for (const feature of [word, ...trigrams(word)]) {
      const digest = createHash('sha1').update(feature).digest();
      vector[digest.readUInt32LE(0) % dimensions] += digest[4] & 1 ? 1 : -1;
      if (++hashed % FEATURES_PER_SLICE === 0) await yieldToEventLoop();
    }
  }
  let sumOfSquares = 0;
  for (const value of vector) sumOfSquares += value * value;
  const norm = Math.sqrt(sumOfSquares) || 1;
  for (let i = 0; i < dimensions; i++) vector[i] /= norm;
  return vector;
}

function trigrams(word: string): string[] {
  const padded = `#${word}#`;
  return Array.from({ length: Math.max(0, padded.length - 2) }, (_, i) => `3:${padded.slice(i, i + 3)}`);
}

/** The mock's vectors have `nativeDimensions`; like OpenAI's models it shortens them on request, never widens. */
export async function toEmbeddingResponse(
  request: EmbeddingCreateParams,
  model: string,
  nativeDimensions: number,
): Promise<CreateEmbeddingResponse> {
  const dimensions = request.dimensions ?? nativeDimensions;
  if (dimensions > nativeDimensions) {
    throw GatewayError.badRequest(
      `Invalid value for 'dimensions': ${model} returns at most ${nativeDimensions} dimensions.`,
      'dimensions',
      'invalid_value',
    );
  }
  const inputs = embeddingInputs(request.input);
  const base64 = request.encoding_format === 'base64';
  const data: CreateEmbeddingResponse['data'] = [];
  for (const [index, input] of inputs.entries()) {
    const vector = await embed(input, dimensions);
    const embedding = base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
    data.push({ object: 'embedding', index, embedding: embedding as number[] });
  }
  const tokens = embeddingTokens(inputs);
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
