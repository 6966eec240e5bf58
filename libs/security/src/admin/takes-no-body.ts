import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

/** The route option (Fastify's per-route `config`) that says a route reads no body. */
const NO_BODY = 'takesNoBody';

/**
 * Marks a POST that reads no body (a key rotation): an empty body under a JSON content type, which the
 * SDKs and `curl -H 'content-type: application/json'` send, is then no body, not invalid JSON (a 400).
 */
export const TakesNoBody = (): MethodDecorator => RouteConfig({ [NO_BODY]: true });

/**
 * Whether `request`'s route reads no body: a GET, a DELETE (openai-python sends a JSON content type on
 * every call) or a route marked TakesNoBody.
 */
export function takesNoBody(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'DELETE') return true;
  return (request.routeOptions.config as { [NO_BODY]?: unknown } | undefined)?.[NO_BODY] === true;
}
