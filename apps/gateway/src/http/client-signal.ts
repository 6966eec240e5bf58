import type { FastifyReply } from 'fastify';
import { requestState } from './request-state';

/**
 * An AbortSignal that fires when the client goes away before the response is
 * complete: a stream's upstream request is cancelled (it is billed what it streamed), a run
 * starts no further attempt or wait, and a JSON answer's attempt under way finishes, to be
 * billed, once its request was sent upstream; not sent yet, it is cancelled (Executor.runWhole).
 * Aborted from the close listener every request already has (request-hooks.ts: `abortIfLeft`),
 * not one of its own: a listener less on every request's path.
 */
export function clientSignal(reply: FastifyReply): AbortSignal {
  return (requestState(reply.request).clientLeft ??= new AbortController()).signal;
}

/** At the response's close: the client signal, if one was taken, aborts when the response did not finish. */
export function abortIfLeft(reply: FastifyReply): void {
  if (!reply.raw.writableFinished) reply.request.gatewayState?.clientLeft?.abort();
}
