import type { FastifyReply } from 'fastify';
import { errorBody } from './error-shape';
import { toGatewayError } from './errors';
import { requestState } from './request-state';

/** Sends `err` as JSON in the caller's protocol (see error-shape.ts), or ends an already started SSE stream. */
export function sendError(reply: FastifyReply, err: unknown): void {
  const error = toGatewayError(err);
  requestState(reply.request).errorCode = error.code ?? error.type;
  if (error.status === 499 || reply.raw.destroyed) {
    // The client is gone: nothing to send; record the outcome for logs and metrics.
    reply.raw.statusCode = 499;
    if (!reply.raw.destroyed) reply.raw.destroy();
    return;
  }
  if (reply.sent || reply.raw.headersSent) {
    if (!reply.raw.writableEnded) reply.raw.end();
    return;
  }
  reply.code(error.status).headers(error.headers).type('application/json').send(errorBody(reply.request.url, error));
}
