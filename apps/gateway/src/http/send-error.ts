import { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { errorLabel } from '@gateway/providers';
import { refusalOf } from '@gateway/router';
import { describeGroup } from './describe-run';
import { errorShape } from './error-shapes';
import { toGatewayError } from './errors';
import { requestState } from './request-state';
import { retryAdvice } from './retry-advice';

const logger = new Logger('Errors');

/** Sends `err` as the caller's protocol's error JSON (error-shapes.ts), or ends an already started SSE stream with it. */
export function sendError(reply: FastifyReply, err: unknown): void {
  const error = toGatewayError(err);
  const state = requestState(reply.request);
  state.errorCode = error.code ?? error.type;
  state.errorLabel = errorLabel(error);
  // A request refused before any attempt (its group cooling down, too long for it…) still has a model group and task rule;
  // one its key may not use, the group in its log line and metrics (as for its limits or budget), not in its headers.
  const refusal = refusalOf(error);
  if (refusal?.permission) state.model ??= refusal.group;
  else if (refusal) describeGroup(reply, state, refusal);
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
  const status = shape.status(error);
  // Node has no reason phrase for Anthropic's 529 (its status line read "529 unknown").
  if (status === 529) reply.raw.statusMessage = 'Overloaded';
  try {
    reply
      .code(status)
      .headers({ ...error.headers, ...retryAdvice(error, status) })
      .type('application/json')
      .send(JSON.stringify(shape.body(error, reply.request.id)));
  } catch (err) {
    // Node refused the response (a header it will not write, set before the error): no answer can
    // go out on this connection, and a throw from here would escape the error filter and end the
    // process, with every other request in flight.
    logger.error({ err, route: reply.request.routeOptions?.url }, 'could not send the error response; connection closed');
    reply.raw.destroy();
  }
}
