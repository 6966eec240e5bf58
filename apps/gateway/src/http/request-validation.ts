import type { ValidateFunction } from 'ajv';
import type { FastifyServerOptions } from 'fastify';
import { chatCompletionSchema } from '../chat/chat.schema';
import { embeddingsSchema } from '../embeddings/embeddings.schema';
import { countTokensSchema, messagesSchema } from '../messages/messages.schema';
import { createResponseSchema } from '../responses/responses.schema';

/**
 * The request-body schemas of the public routes, by the name their validator is exported
 * under. `npm run build` compiles them with Ajv into `request-validators.js` next to this
 * file (apps/gateway/scripts/build-validators.ts), so a start compiles no schema: Ajv's
 * code generation was ~170 ms of every start (BENCHMARKS.md, "Start-up").
 */
export const REQUEST_SCHEMAS = {
  chatCompletion: chatCompletionSchema,
  embeddings: embeddingsSchema,
  messages: messagesSchema,
  countTokens: countTokensSchema,
  createResponse: createResponseSchema,
} as const;

/**
 * Ajv's options on top of Fastify's defaults (@fastify/ajv-compiler), the ones the routes
 * were validated with when Fastify compiled them at start. OpenAI rejects "0.5" for a
 * number; so do we. Unknown parameters pass through. The schemas use union types
 * (`['string', 'null', 'array']`) on purpose, as the APIs do.
 */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } as const;

/**
 * Fastify's `schemaController` option: hands each route the validator compiled at build
 * time for its schema. A route schema that has none is a start-up error, not a silent
 * compile (or no validation). No route has a response schema (replies are serialized by
 * the handlers), so Fastify's serializer compiler, and the Ajv it loads, are not needed.
 */
export function precompiledValidators(): NonNullable<FastifyServerOptions['schemaController']> {
  const compiled = require('./request-validators') as Record<keyof typeof REQUEST_SCHEMAS, ValidateFunction>;
  const bySchema = new Map<unknown, ValidateFunction>(
    Object.entries(REQUEST_SCHEMAS).map(([name, schema]) => [schema, compiled[name as keyof typeof REQUEST_SCHEMAS]]),
  );
  return {
    compilersFactory: {
      buildValidator:
        () =>
        ({ schema, method, url, httpPart }) => {
          const validate = bySchema.get(schema);
          if (!validate)
            throw new Error(`no precompiled validator for the ${httpPart} of ${method} ${url}: add its schema to REQUEST_SCHEMAS`);
          return validate;
        },
      buildSerializer:
        () =>
        ({ method, url }) => {
          throw new Error(`${method} ${url} has a response schema: replies are serialized by the handlers`);
        },
    },
  };
}
