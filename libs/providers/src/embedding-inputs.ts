import { GatewayError } from './gateway-error';
import { estimateTokens } from './token-estimate';
import type { EmbeddingCreateParams } from './wire';

/** Fixed bounds on an embeddings request (README, "Request limits"); the schema and the check below enforce them. */
export const MAX_EMBEDDING_INPUTS = 2048;
/** One text input: generous for any model's window (about 32k tokens of plain text). */
export const MAX_INPUT_CHARS = 131_072;
/** One token-id input. */
export const MAX_INPUT_TOKEN_IDS = 32_768;
/** Every input together, estimated (OpenAI's own per-request limit). */
export const MAX_EMBEDDING_REQUEST_TOKENS = 300_000;
/** The widest vector an embedding model may be configured for (as cache.semantic.embeddingDimensions). */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

/** One input to embed: a text or a list of token ids. */
export type EmbeddingInput = string | number[];

/**
 * The request's inputs as OpenAI reads them: a string is one input, a list of
 * integers is ONE token-id input, a list of strings or of token-id lists is one
 * input per item. A list that mixes forms is refused.
 */
export function embeddingInputs(input: EmbeddingCreateParams['input']): EmbeddingInput[] {
  if (typeof input === 'string') return [input];
  if (input.every((item) => typeof item === 'number')) return [input as number[]];
  if (input.every((item) => typeof item === 'string') || input.every(Array.isArray)) return input as EmbeddingInput[];
  throw GatewayError.badRequest(
    "Invalid value for 'input': a list must hold only strings, only token ids, or only token-id lists.",
    'input',
    'invalid_value',
  );
}

/** Rough token count of the inputs (estimateTokens; a token-id list, its length). */
export function embeddingTokens(inputs: EmbeddingInput[]): number {
  let tokens = 0;
  for (const input of inputs) tokens += inputTokens(input);
  return tokens;
}

/** Rough token count of one input, as embeddingTokens counts it. */
export function inputTokens(input: EmbeddingInput): number {
  return typeof input === 'string' ? Math.max(1, estimateTokens(input)) : input.length;
}

/**
 * The most tokens the inputs can be: a token per character (tokenizers make fewer; the usage check
 * allows twice this and more, accounting.ts) or per id. An upstream that reports more is not believed.
 */
export function embeddingTokensAtMost(inputs: EmbeddingInput[]): number {
  let tokens = 0;
  for (const input of inputs) tokens += input.length;
  return tokens;
}

/** Refuses a request whose inputs together exceed MAX_EMBEDDING_REQUEST_TOKENS. */
export function checkEmbeddingSize(inputs: EmbeddingInput[]): void {
  if (inputs.length > MAX_EMBEDDING_INPUTS) {
    throw GatewayError.badRequest(
      `Invalid value for 'input': at most ${MAX_EMBEDDING_INPUTS} inputs per request, got ${inputs.length}.`,
      'input',
      'invalid_value',
    );
  }
  const tokens = embeddingTokens(inputs);
  if (tokens > MAX_EMBEDDING_REQUEST_TOKENS) {
    throw GatewayError.badRequest(
      `Invalid value for 'input': about ${tokens} tokens in total; at most ${MAX_EMBEDDING_REQUEST_TOKENS} per request.`,
      'input',
      'invalid_value',
    );
  }
}

/**
 * The count and token-total caps of checkEmbeddingSize, applied to an `input` not yet validated
 * (any JSON), so a request over them is refused before the schema's per-element work: 2,048
 * texts of 2,000 characters took ~250 ms to validate (each length is counted in code points)
 * before the total refused them. A single text, or a list of numbers (one token-id input), is
 * within the caps once the schema has bounded its length; any other list is one input per item,
 * and an item of no input's form (null, an object) counts as an empty text here: the schema
 * refuses it, after these caps.
 */
export function checkEmbeddingCapsEarly(input: unknown): void {
  if (!Array.isArray(input) || input.every((item) => typeof item === 'number')) return;
  checkEmbeddingSize(input.map((item: unknown) => (typeof item === 'string' || Array.isArray(item) ? item : '')) as EmbeddingInput[]);
}
