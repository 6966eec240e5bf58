import type { FastifyReply } from 'fastify';
import { errorShape } from './error-shapes';
import { toGatewayError } from './errors';
import { requestState } from './request-state';

/** Sends `err` as the caller's protocol's error JSON (error-shapes.ts), or ends an already started SSE stream with it. */
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
  const shape = errorShape(reply.request);
  reply
    .code(shape.status(error))
    .headers(error.headers)
    .type('application/json')
    .send(JSON.stringify(shape.body(error, reply.request.id)));
}
