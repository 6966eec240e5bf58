import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { MetricsService } from '@gateway/metrics';
import { requestState } from './request-state';

/** Client-supplied request ids are kept when they are short and plain; otherwise we make one. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Probes and scrapes are logged at debug so they do not drown the access log. */
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * One hook for the whole per-request bookkeeping: echo the request id, then when
 * the response closes (finished or client gone) record one metric sample and one
 * access-log line. Prompts and headers are never part of the line.
 */
export function installRequestHooks(fastify: FastifyInstance, metrics: MetricsService, log: Logger): void {
  fastify.decorateRequest('gatewayState', null);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.raw.once('close', () => record(request, reply, metrics, log));
    done();
  });
}

function record(request: FastifyRequest, reply: FastifyReply, metrics: MetricsService, log: Logger): void {
  const status = reply.raw.writableFinished ? reply.raw.statusCode : 499;
  const route = request.routeOptions.url ?? 'unmatched';
  const { usage, ...state } = requestState(request);
  const ms = reply.elapsedTime;
  metrics.recordRequest(route, state.model ?? 'none', status, ms / 1000);
  const level = QUIET_ROUTES.has(route) ? 'debug' : status >= 500 ? 'warn' : 'info';
  if (!log.isLevelEnabled(level)) return;
  log[level](
    {
      reqId: request.id,
      method: request.method,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      ...state,
      promptTokens: usage?.prompt_tokens,
      completionTokens: usage?.completion_tokens,
    },
    'request',
  );
}
