import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

/** The route option (Fastify's per-route `config`) that says a route's body may be left out. */
const OPTIONAL_BODY = 'optionalBody';

/**
 * Marks a POST whose body may be left out (a key rotation, whose only field is optional): an empty body
 * under a JSON content type, which the SDKs and `curl -H 'content-type: application/json'` send, is then
 * no body, not invalid JSON (a 400).
 */
export const OptionalBody = (): MethodDecorator => RouteConfig({ [OPTIONAL_BODY]: true });

/**
 * Whether an empty body of `request` is none: a GET, a DELETE (openai-python sends a JSON content type on
 * every call) or a route marked OptionalBody.
 */
export function emptyBodyIsNone(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'DELETE') return true;
  return (request.routeOptions.config as { [OPTIONAL_BODY]?: unknown } | undefined)?.[OPTIONAL_BODY] === true;
}
