import { createHash } from 'node:crypto';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from '../wire';
import { estimateTokens } from './request';

/**
 * Deterministic embeddings by feature hashing of words and character trigrams:
 * texts that share words get close vectors, so the semantic cache can be demoed
 * offline. Not a language model: paraphrases with no shared words are far apart.
 */
export function embed(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const features = [...words, ...words.flatMap((w) => trigrams(w))];
  for (const feature of features) {
    const digest = createHash('sha1').update(feature).digest();
    const slot = digest.readUInt32LE(0) % dimensions;
    vector[slot] += digest[4] & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...vector) || 1;
  for (let i = 0; i < dimensions; i++) vector[i] /= norm;
  return vector;
}

function trigrams(word: string): string[] {
  const padded = `#${word}#`;
  return Array.from({ length: Math.max(0, padded.length - 2) }, (_, i) => `3:${padded.slice(i, i + 3)}`);
}

export function toEmbeddingResponse(request: EmbeddingCreateParams, model: string, defaultDimensions: number): CreateEmbeddingResponse {
  const inputs = (Array.isArray(request.input) ? request.input : [request.input]).map((input) =>
    typeof input === 'string' ? input : Array.isArray(input) ? input.join(' ') : String(input),
  );
  const dimensions = request.dimensions ?? defaultDimensions;
  const base64 = request.encoding_format === 'base64';
  const data = inputs.map((text, index) => {
    const vector = embed(text, dimensions);
    const embedding = base64 ? Buffer.from(vector.buffer).toString('base64') : Array.from(vector);
    return { object: 'embedding' as const, index, embedding: embedding as number[] };
  });
  const tokens = inputs.reduce((sum, text) => sum + estimateTokens(text), 0);
  return { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
