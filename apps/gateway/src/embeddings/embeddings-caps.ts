import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import { checkEmbeddingCapsEarly } from '@gateway/providers';

/** Refuses a request over the input count or the token total (embedding-inputs.ts, checkEmbeddingCapsEarly). */
const capsFirst: preValidationHookHandler = (request, _reply, done) => {
  try {
    checkEmbeddingCapsEarly((request.body as { input?: unknown } | null | undefined)?.input);
    done();
  } catch (err) {
    done(err as Error);
  }
};

/**
 * Gives the embeddings route the caps before its schema validation, which reads every input first;
 * the controller checks the validated input again. A hook of that route alone: no other request
 * runs it. Installed before the routes are (Nest adds them at init).
 */
export function installEmbeddingsCaps(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    if (route.url !== '/v1/embeddings') return;
    const own = route.preValidation;
    route.preValidation = [capsFirst, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
}
