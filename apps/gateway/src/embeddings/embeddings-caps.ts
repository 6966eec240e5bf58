import type { FastifyInstance } from 'fastify';
import { checkEmbeddingCapsEarly } from '@gateway/providers';

/**
 * Refuses an embeddings request over the input count or the token total before the route's
 * schema validation, which reads every input first (embedding-inputs.ts, checkEmbeddingCapsEarly).
 * The controller checks the validated input again.
 */
export function installEmbeddingsCaps(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.routeOptions.url !== '/v1/embeddings') return done();
    try {
      checkEmbeddingCapsEarly((request.body as { input?: unknown } | null | undefined)?.input);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
