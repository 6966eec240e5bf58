import { ArgumentsHost, Catch, ExceptionFilter, Logger, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { operatorMustSee, toGatewayError } from './errors';
import { servedOnListener } from './ops-plane';
import { sendError } from './send-error';

/**
 * How much of a refused body we read and discard after its answer (a 413, or a 401 given before the
 * body was read), so the client sees that answer rather than a reset (closing with unread bytes
 * resets the connection).
 */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_LIMIT_MS = 5_000;

/**
 * Every error leaves as JSON in the caller's protocol (OpenAI's, or Anthropic's on the
 * Messages API: error-shapes.ts): those controllers throw and those Fastify raises
 * before a controller runs (JSON parse, schema, size, media type), which Nest hands
 * to this filter as well.
 */
@Catch()
export class OpenAIErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (isFailedHealthCheck(exception)) {
      // Probes and operators read Terminus' own report (which check failed), not an API error.
      reply.code(503).send(exception.getResponse());
      return;
    }
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const error = toGatewayError(exception);
    // The client gets a bare 500 (or what the operator must fix); the operator gets what was thrown (an error, never the request).
    if (operatorMustSee(error)) this.logger.error({ err: exception, route: request.routeOptions?.url }, 'unexpected error');
    // Refused before its body was read (too large, no valid key...): read no more than the limits allow.
    discardRestOfBody(request, reply);
    // A request no route matched may still name a path that exists under other methods.
    const unmatched = request.routeOptions?.url === undefined;
    sendError(reply, unmatched && error.status === 404 ? (wrongMethod(request) ?? error) : error);
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * A 405 with `Allow` when the path exists under other methods on the listener the request came
 * in on (Fastify's router says 404 for both). A path with an empty segment (`/v1/models/`)
 * matches a route only through an empty parameter, which Nest answers 404 under every method;
 * one that exists under the request's own method missed for another reason: both stay 404.
 */
function wrongMethod(request: FastifyRequest): GatewayError | undefined {
  const path = routerPath(request.url);
  if (/.\/$|\/\//.test(path) || routeExists(request, request.method) || !servedOnListener(request, path)) return undefined;
  const allowed = METHODS.filter((method) => routeExists(request, method));
  if (!allowed.length) return undefined;
  return new GatewayError(
    405,
    `${request.method} is not allowed here; use ${allowed.join(' or ')}.`,
    'invalid_request_error',
    'method_not_allowed',
    null,
    {
      allow: allowed.join(', '),
    },
  );
}

function routeExists(request: FastifyRequest, method: string): boolean {
  try {
    return request.server.findRoute({ method, url: request.url }) !== null;
  } catch {
    return false; // a path the router cannot parse is unknown under every method
  }
}

/** The request's path as the router matches it: without the query, percent-decoded (`/%61dmin` is `/admin`). */
function routerPath(url: string): string {
  const path = url.split('?', 1)[0];
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** A probe's 503: Terminus' report, or its status alone (health.controller.ts, the public port with auth on). */
function isFailedHealthCheck(exception: unknown): exception is ServiceUnavailableException {
  const body = exception instanceof ServiceUnavailableException ? exception.getResponse() : undefined;
  return typeof body === 'object' && body !== null && 'status' in body && body.status === 'error';
}

/**
 * Reads and discards the rest of a refused body while its answer goes out: the answer does not wait
 * for the body (a client that sends it slowly, or not before an answer, would wait out the limits).
 * A body that ends within the limits leaves the connection ready for the next request; one that
 * does not ends the connection once the answer is written.
 */
function discardRestOfBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  // Fastify asks to close the connection after the answer; with the body still arriving that close
  // would reset it, and the client might never read the 413. It closes below if the body does not end.
  reply.removeHeader('connection');
  let seen = 0;
  const stop = () => {
    clearTimeout(timer);
    raw.removeListener('data', onData);
    raw.removeListener('end', stop);
    raw.removeListener('close', stop);
  };
  const giveUp = () => {
    stop();
    raw.socket.destroySoon();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT_BYTES) giveUp();
  };
  const timer = setTimeout(giveUp, DRAIN_LIMIT_MS);
  raw.on('data', onData);
  raw.once('end', stop);
  raw.once('close', stop);
  raw.resume();
}
