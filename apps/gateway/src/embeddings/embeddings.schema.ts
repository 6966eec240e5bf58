/**
 * JSON schema of POST /v1/embeddings (see chat.schema.ts for why a schema, not
 * DTOs, and why unions are `type` lists). `input` is a string, a list of strings,
 * one token-id list, or a list of token-id lists; mixed lists and the total size
 * are checked in embeddings-input.ts. Every size has a cap (README, "Request limits").
 */
import { MAX_EMBEDDING_DIMENSIONS, MAX_EMBEDDING_INPUTS, MAX_INPUT_CHARS, MAX_INPUT_TOKEN_IDS } from '@gateway/providers';

const tokenId = { type: 'integer', minimum: 0, maximum: 2_147_483_647 } as const;

export const embeddingsSchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      type: ['string', 'array'],
      maxLength: MAX_INPUT_CHARS,
      minItems: 1,
      maxItems: Math.max(MAX_EMBEDDING_INPUTS, MAX_INPUT_TOKEN_IDS),
      items: {
        type: ['string', 'integer', 'array'],
        maxLength: MAX_INPUT_CHARS,
        minimum: tokenId.minimum,
        maximum: tokenId.maximum,
        minItems: 1,
        maxItems: MAX_INPUT_TOKEN_IDS,
        items: tokenId,
      },
    },
    encoding_format: { enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1, maximum: MAX_EMBEDDING_DIMENSIONS },
    user: { type: 'string' },
  },
} as const;
