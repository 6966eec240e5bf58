import type { FastifyInstance } from 'fastify';
import { type AccessDeps, installRequestHooks } from './request-hooks';

/**
 * Fastify-level set-up that Nest does not cover: one JSON parser (any other content
 * type is a 415) and the per-request hook for logs and metrics.
 */
export function configureFastify(fastify: FastifyInstance, deps: AccessDeps): void {
  fastify.removeAllContentTypeParsers();
  // Fastify's own parser: it refuses `__proto__` / `constructor` poisoning.
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, fastify.getDefaultJsonParser('error', 'error'));
  installRequestHooks(fastify, deps);
}
