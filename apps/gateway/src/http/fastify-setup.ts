import type { FastifyInstance } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { nestsDeeperThan } from './json-depth';
import { type AccessDeps, installRequestHooks } from './request-hooks';

/** Time a client gets to send its request headers (slow-loris guard). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Slow-loris guard: the whole request (headers and body) must arrive in time. */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Fastify-level set-up that Nest does not cover: timeouts, one JSON parser (any
 * other content type is a 415) and the per-request hook for logs and metrics.
 */
export function configureFastify(fastify: FastifyInstance, deps: AccessDeps, maxJsonDepth: number): void {
  fastify.server.headersTimeout = HEADERS_TIMEOUT_MS;
  fastify.removeAllContentTypeParsers();
  // Fastify's own parser refuses `__proto__` / `constructor` poisoning; we add a depth limit.
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (nestsDeeperThan(body as string, maxJsonDepth)) {
      return done(GatewayError.badRequest(`JSON nesting is deeper than ${maxJsonDepth} levels.`, null, 'json_too_deep'), undefined);
    }
    parse(request, body as string, done);
  });
  fastify.decorateRequest('gatewayKey', null);
  installRequestHooks(fastify, deps);
}
