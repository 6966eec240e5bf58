import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { MetricsService } from '@gateway/metrics';
import { type ChatStream, errorLabel, GatewayError } from '@gateway/providers';
import { SHUTDOWN_CUT, type ShutdownState } from '../health/shutdown-state';
import { errorShape } from './error-shapes';
import { operatorMustSee, toGatewayError } from './errors';
import { KeepAlive } from './keep-alive';
import { requestState } from './request-state';
import { StreamTranscript } from './stream-transcript';

const logger = new Logger('Errors');

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // Stops nginx-style proxies in front of the gateway from buffering the stream.
  'x-accel-buffering': 'no',
};

/**
 * The text that ends a stream failed after its first chunk, for a protocol whose error event depends on what was sent
 * (a promise when the protocol keeps the failed answer first: the Responses API stores it).
 */
export type FailureFrame = (error: GatewayError) => string | Promise<string>;

/** What a stream the drain's grace cut says: 503, so Anthropic clients read `overloaded_error` (retry elsewhere). */
function shuttingDown(): GatewayError {
  return new GatewayError(
    503,
    'The gateway is shutting down: its drain ran out of time before this answer was complete. Retry the request.',
    'server_error',
    SHUTDOWN_CUT,
  );
}

/**
 * Writes an OpenAI SSE stream to the client as chunks arrive: headers flushed in
 * the same event-loop turn, backpressure respected, nothing buffered whole. An
 * upstream failure after the first byte ends the stream with an error event in
 * the caller's protocol (no `[DONE]`): `failureFrame`, else the protocol's error shape;
 * so does the end of the drain's grace (`shutdown`), before it closes the connection.
 */
export async function writeSse(
  reply: FastifyReply,
  stream: ChatStream,
  metrics: MetricsService,
  shutdown: ShutdownState,
  failureFrame?: FailureFrame,
): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  // getHeaders() is already a copy: the stream's own go into it (one copy of the headers less).
  res.writeHead(200, Object.assign(reply.getHeaders() as Record<string, string>, SSE_HEADERS));
  // The router primed the stream (its first chunk is here, prime-stream.ts): the headers leave
  // with that chunk in one write. A codec whose first frame comes later gets them out on their
  // own at the end of this event-loop turn.
  const flushHeaders = setImmediate(() => res.flushHeaders());
  const state = requestState(reply.request);
  const { inflightStreams } = metrics;
  inflightStreams.inc();
  let started = false;
  // A client that leaves mid-stream is billed at the close, from what the upstream reported so far.
  state.runningUsage = stream.runningUsage;
  const transcript = state.keepBody ? (state.transcript = new StreamTranscript()) : undefined;
  const frameOf = (error: GatewayError) =>
    failureFrame ? failureFrame(error) : errorShape(reply.request).streamFrame(error, reply.request.id);
  // Set once the drain's grace has cut the stream: its error event is written, nothing may follow it. The
  // drain then closes the connection, which cancels the upstream request as a client that left does (the
  // deployment is not blamed), and the access line says `shutdown_cut` (request-hooks.ts).
  let cut = false;
  let keepAlive: KeepAlive | undefined;
  const cutByDrain = async () => {
    if (res.destroyed || res.writableEnded) return;
    cut = true;
    keepAlive?.stop();
    const frame = await frameOf(shuttingDown());
    if (!res.destroyed) await new Promise<void>((resolve) => res.write(frame, () => resolve()));
  };
  shutdown.streams.add(cutByDrain);
  const output = state.streamed;
  try {
    for await (const chunk of stream) {
      if (res.destroyed || cut) break;
      transcript?.add(chunk);
      if (!started) {
        started = true;
        clearImmediate(flushHeaders);
        // From the first event on: a keep-alive must not come before the protocol's opening event.
        if (stream.keepAlive !== undefined) keepAlive = new KeepAlive(res, stream.keepAlive);
      }
      keepAlive?.wrote();
      // Time to first token: the first chunk written once the upstream's output began (PrimedStream.produced),
      // not a role or a filter's verdict sent before it; an answer replayed from the cache has it in its first chunk.
      if (state.ttftMs === undefined && (output === undefined || output.outputAfterMs !== undefined)) state.ttftMs = reply.elapsedTime;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
  } catch (err) {
    keepAlive?.stop();
    // The upstream aborted once the drain closed the connection: the stream already has its error event.
    if (cut) return;
    const error = toGatewayError(err);
    // The client gets "Internal gateway error"; the operator what was thrown, as error.filter.ts logs one before the stream
    // (with the request's id: the access line of a stream that failed this way says 200).
    if (operatorMustSee(error))
      logger.error({ err, route: reply.request.routeOptions?.url, reqId: reply.request.id }, 'unexpected error in a stream');
    state.errorCode = error.code ?? error.type;
    state.errorLabel = errorLabel(error);
    // The status stays 200 (sent with the first chunk): only this counter shows the failure in /metrics.
    if (!res.destroyed) {
      metrics.recordStreamError(state.model ?? 'none', state.provider ?? 'none', state.errorLabel);
      const frame = await frameOf(error);
      if (!res.destroyed && !cut) res.write(frame);
    }
  } finally {
    keepAlive?.stop();
    shutdown.streams.delete(cutByDrain);
    clearImmediate(flushHeaders);
    inflightStreams.dec();
    state.usage = stream.usage;
  }
  if (!res.destroyed && !cut) res.end();
}

async function drainedOrClosed(res: ServerResponse): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(res, 'drain', { signal: ac.signal }), once(res, 'close', { signal: ac.signal })]).catch(() => {});
  ac.abort();
}
