import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ANONYMOUS_KEY_ID } from '@gateway/config';
import { type GenAiOperation, type MetricsService, requestTrace, type TracingService } from '@gateway/metrics';
import { GatewayError, hopsOf, loopDetected, MAX_HOPS } from '@gateway/providers';
import type { UsageShares } from '@gateway/router';
import { type AdmissionService, adminActor, type KeyConcurrency, refusedKeyId } from '@gateway/security';
import { SHUTDOWN_CUT, type ShutdownState } from '../health/shutdown-state';
import type { AccessLog } from '../logger';
import { isAnthropicRequest } from '../messages/errors';
import { bill } from './accounting';
import { abortIfLeft } from './client-signal';
import type { BodyRedactor } from './body-redaction';
import { type RequestState, requestState, tenantOf } from './request-state';
import { sendError } from './send-error';
import { noteUnpricedTier } from './unpriced-tier';

const logger = new Logger('Requests');

/** Client-supplied request ids are kept when they are short and plain; otherwise we make one. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id genReqId gave a request, kept on its IncomingMessage for an answer written outside Fastify (client-error.ts). */
const REQUEST_ID = Symbol('requestId');
type IdentifiedRequest = IncomingMessage & { [REQUEST_ID]?: string };

export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return ((req as IdentifiedRequest)[REQUEST_ID] = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID());
}

/** The id of a request whose route had begun (its access line's reqId), if it has one. */
export function requestIdOf(req: object | undefined): string | undefined {
  return (req as IdentifiedRequest | undefined)?.[REQUEST_ID];
}

/** Every answer carries its request's id (also as `request-id` to Anthropic clients): the one its access line has. */
export function echoRequestId(request: FastifyRequest, reply: FastifyReply): void {
  for (const name of requestIdHeaders(request)) reply.header(name, request.id);
}

const OPENAI_ID_HEADERS = ['x-request-id'];
/** Anthropic's SDKs read a request's id from Anthropic's own header (message._request_id, error.requestID). */
const ANTHROPIC_ID_HEADERS = ['x-request-id', 'request-id'];

/** The headers an answer to `request` says its id in: echoRequestId's, and those of answers written outside Fastify (client-error.ts). */
export function requestIdHeaders(request: { url?: string; headers: IncomingMessage['headers'] }): readonly string[] {
  return isAnthropicRequest(request) ? ANTHROPIC_ID_HEADERS : OPENAI_ID_HEADERS;
}

/**
 * HTTP/1.1 pipelining: the requests of one connection run one after the other, each once the
 * previous answer has gone out, and at most this many wait. Answers to a client that does not
 * read stay in memory, and Node runs every request parsed from one read at once: 40 connections
 * that pipelined embeddings requests and never read took the process from 143 MB to ~1 GB.
 */
export const MAX_PIPELINED = 16;
const PIPELINE = Symbol('pipeline');
/** The answer client-error.ts wrote straight to a socket, whose parser failed on a request's body. */
const WRITTEN = Symbol('answerWrittenOnSocket');
interface SocketAnswer {
  status: number;
  error: string;
}
type PipelinedSocket = Socket & { [PIPELINE]?: { inFlight: number; waiting: (() => void)[] }; [WRITTEN]?: SocketAnswer };

/** Whether a request on `socket` is still being answered: its own access line and count are to come. */
export function answering(socket: Socket): boolean {
  return ((socket as PipelinedSocket)[PIPELINE]?.inFlight ?? 0) > 0;
}

/**
 * Notes the error answer written on `socket` outside any response object (client-error.ts): the
 * request whose body broke, cut short with its route begun, is logged and counted with what its
 * client got, not as a client that left (499).
 */
export function answeredOnSocket(socket: Socket, answer: SocketAnswer): void {
  (socket as PipelinedSocket)[WRITTEN] = answer;
}

/**
 * Probes and scrapes: logged at debug so they do not drown the access log, not counted in flight
 * (a scrape would read itself, and an idle gateway never show 0), and kept out of the request
 * metrics, whose rates are the clients' traffic, not the kubelet's and Prometheus's (record()).
 * `GET /` is the load balancers' default health check (health.controller.ts), a probe too.
 */
const QUIET_ROUTES = new Set(['/', '/health', '/ready', '/metrics']);

/**
 * A probe or scrape answered on its listener. The same path asked of the wrong one (a 404,
 * ops-plane.ts: `/metrics` through the load balancer) is no probe: counted and logged at info.
 */
function probe(route: string, status: number): boolean {
  return QUIET_ROUTES.has(route) && status !== 404;
}

/** `gen_ai.operation.name` by route; every other API route (chat completions, messages, responses) is a chat. */
const OPERATIONS: Readonly<Record<string, GenAiOperation>> = {
  '/v1/embeddings': 'embeddings',
  '/v1/messages/count_tokens': 'count_tokens',
  '/v1/responses/input_tokens': 'count_tokens',
};

export interface AccessDeps {
  metrics: MetricsService;
  tracing: TracingService;
  log: AccessLog;
  /** Set only when LOG_BODIES is on: prompts and completions are then logged, redacted. */
  bodies?: BodyRedactor;
  admission: AdmissionService;
  /** Each key's requests in flight: the place this request took (ApiAuth) is given back as its response closes. */
  concurrency: KeyConcurrency;
  /** What the `cost` strategy learns from each answer's reported usage (its cached and reasoning shares). */
  usageShares: UsageShares;
  /** Tells a request the drain cut at the end of its grace from one whose client left. */
  shutdown: ShutdownState;
}

/**
 * One hook for the whole per-request bookkeeping: echo the request id (also as `request-id` to
 * Anthropic clients), then when the response closes (finished or client gone) record the
 * metrics, the cost and one access-log line. Prompts and headers are never part of the line.
 */
export function installRequestHooks(fastify: FastifyInstance, deps: AccessDeps): void {
  fastify.decorateRequest('gatewayState', null);
  fastify.decorate('recordRefusal', (refusal: Refusal) => recordRefusal(refusal, deps));
  fastify.addHook('onRequest', (request, reply, done) => {
    echoRequestId(request, reply);
    const counted = !QUIET_ROUTES.has(request.routeOptions.url ?? '');
    if (counted) deps.metrics.inflightRequests.inc();
    if (deps.tracing.enabled && counted) Object.assign(requestState(request), { timeline: [], trace: requestTrace(request.headers) });
    if (deps.bodies) requestState(request).keepBody = true;
    const pipeline = ((request.raw.socket as PipelinedSocket)[PIPELINE] ??= { inFlight: 0, waiting: [] });
    pipeline.inFlight++;
    reply.raw.once('close', () => {
      if (counted) deps.metrics.inflightRequests.dec();
      pipeline.inFlight--;
      pipeline.waiting.shift()?.();
      const answer = answered(request, reply, deps.shutdown);
      const ms = reply.elapsedTime;
      const finishing = request.gatewayState?.finishing;
      // A JSON answer's upstream call that goes on after its client left holds its connection until it ends.
      deps.concurrency.leave(request.raw, reply.raw.writableFinished ? undefined : finishing);
      // A client that left while its JSON answer's upstream call ran (Executor.runWhole): recorded once the call
      // has ended, with the answer's usage (its cost, tokens and budget), or as a failed attempt if it failed.
      if (answer.status === 499 && finishing && !request.gatewayState!.deployment) {
        const later = () => recordSafely(request, reply, deps, answer, ms);
        finishing.then(later, later);
      } else recordSafely(request, reply, deps, answer, ms);
      // After the record, as when the client signal had a close listener of its own (registered later than this one).
      abortIfLeft(reply);
    });
    if (hopsOf(request.headers) >= MAX_HOPS) return sendError(reply, loopDetected());
    if (pipeline.inFlight === 1) return done();
    if (pipeline.inFlight > MAX_PIPELINED) {
      const why = `At most ${MAX_PIPELINED} requests may wait on one connection; wait for the answers or open another.`;
      reply.header('connection', 'close');
      return sendError(reply, new GatewayError(429, why, 'rate_limit_error', 'too_many_pipelined_requests'));
    }
    // Runs when the answer before it has gone out (its close); not if this one's connection is gone.
    pipeline.waiting.push(() => !reply.raw.destroyed && done());
  });
}

/** A request answered before any route ran (client-error.ts): what is known of it. */
export interface Refusal {
  /** Absent when the request line itself could not be read. */
  method?: string;
  status: number;
  /** The code of the error it was answered with. */
  error: string;
  /** Only when its headers were read: a Fastify request was made for it (a path that is not valid percent-encoding), or Node's (an `Expect` other than 100-continue, a CONNECT). */
  reqId?: string;
  ms?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Logs and counts a request refused before a route ran, as `unmatched` (installRequestHooks). */
    recordRefusal(refusal: Refusal): void;
  }
}

/**
 * The access line and the request metrics of a request Node or Fastify refused before any hook
 * (a bad percent-encoding, an `Expect` other than 100-continue, oversized headers, a malformed
 * request): counted and logged like any other, so a client cannot send these unseen.
 */
function recordRefusal({ method, status, error, reqId, ms = 0 }: Refusal, { metrics, log }: AccessDeps): void {
  metrics.recordRequest({
    route: 'unmatched',
    model: 'none',
    deployment: 'none',
    provider: 'none',
    status,
    cache: 'none',
    seconds: ms / 1000,
  });
  const level = status >= 500 ? 'warn' : 'info';
  if (log.enabled(level)) log.write(level, { reqId, method, route: 'unmatched', status, ms: round(ms), keyId: ANONYMOUS_KEY_ID, error });
}

interface Answered {
  status: number;
  error?: string;
}

/**
 * The status the client got: its response's, else the error written on the socket for the one
 * request whose body the parser could not finish (the earlier ones of a pipeline are complete),
 * else, once the drain's grace is over, the drain's cut (503, or the 200 a stream had already
 * sent), else none (499: it left, or its connection was closed, before an answer).
 */
function answered(request: FastifyRequest, reply: FastifyReply, shutdown: ShutdownState): Answered {
  if (reply.raw.writableFinished) return { status: reply.raw.statusCode };
  const written = request.raw.complete ? undefined : (request.raw.socket as PipelinedSocket | null)?.[WRITTEN];
  if (written) return written;
  if (shutdown.graceOver) return { status: reply.raw.headersSent ? reply.raw.statusCode : 503, error: SHUTDOWN_CUT };
  return { status: 499 };
}

/** A listener that throws takes the process down: bookkeeping of one request must not (an odd upstream answer once did, billed at close). */
function recordSafely(request: FastifyRequest, reply: FastifyReply, deps: AccessDeps, answer: Answered, ms: number): void {
  try {
    record(request, reply, deps, answer, ms);
  } catch (err) {
    logger.error({ err, route: request.routeOptions?.url }, 'unexpected error while recording a request');
  }
}

function record(
  request: FastifyRequest,
  reply: FastifyReply,
  { metrics, tracing, log, bodies, admission, usageShares, shutdown }: AccessDeps,
  { status, error }: Answered,
  ms: number,
): void {
  const route = request.routeOptions.url ?? 'unmatched';
  const state = requestState(request);
  if (error) state.errorCode = error;
  const cut = error === SHUTDOWN_CUT;
  if (cut) {
    shutdown.cut++;
    // A stream that had begun: its 200 is all the status shows, as for an upstream failing mid-stream (sse.ts).
    if (reply.raw.headersSent && state.stream) metrics.recordStreamError(state.model ?? 'none', state.provider ?? 'none', SHUTDOWN_CUT);
  }
  const keyId = tenantOf(request);
  // The upstream's time until the answer: a stream's to its first token (its run to the first chunk, then on to
  // the first with output; unset when none came), a JSON answer's run.
  const outputAfterMs = state.streamed?.outputAfterMs;
  const upstreamMs = state.stream ? (outputAfterMs !== undefined ? state.upstreamMs! + outputAfterMs : undefined) : state.upstreamMs;
  const served = upstreamMs !== undefined ? (state.stream ? state.ttftMs : ms) : undefined;
  // The deployment that answered, else the one last tried (a client that left before the answer, a failed run).
  const deployment = state.deployment ?? state.attempting?.id;
  const provider = state.provider ?? state.attempting?.provider.name;
  if (!probe(route, status))
    metrics.recordRequest({
      route,
      model: state.model ?? 'none',
      deployment: deployment ?? 'none',
      provider: provider ?? 'none',
      status,
      cache: state.cache ?? 'none',
      seconds: ms / 1000,
      overheadSeconds: served !== undefined ? Math.max(0, served - upstreamMs!) / 1000 : undefined,
    });
  const operation = Object.hasOwn(OPERATIONS, route) ? OPERATIONS[route] : 'chat';
  // A JSON answer whose client left before it was sent: sendJson did not take its usage.
  if (state.answer) state.usage ??= state.answer.usage;
  const b = bill(state);
  if (b && !b.estimated) usageShares.observe(state.deployment!, b.usage);
  if (b) {
    noteUnpricedTier(state, metrics);
    metrics.recordCompletion({
      operation,
      genAiProvider: state.genAiProvider!,
      provider: state.provider!,
      requestModel: state.model!,
      responseModel: state.upstreamModel!,
      key: keyId,
      inputTokens: b.usage.prompt_tokens,
      outputTokens: b.usage.completion_tokens ?? 0,
      costUsd: b.costUsd,
      webSearches: b.webSearches,
      // Non-streamed: the router's run is the generation; streamed: everything from the call on.
      seconds: (state.stream ? ms : (state.upstreamMs ?? ms)) / 1000,
      ttftSeconds: state.stream && upstreamMs !== undefined ? upstreamMs / 1000 : undefined,
      errorType: state.errorLabel,
    });
  } else if (state.genAiProvider && state.errorLabel) {
    // The run failed after trying an upstream: the whole request is the operation's time.
    metrics.recordFailedOperation({
      operation,
      genAiProvider: state.genAiProvider,
      requestModel: state.model!,
      errorType: state.errorLabel,
      seconds: ms / 1000,
    });
  }
  if (state.reservation) {
    // The answered calls of failed attempts count in the TPM window too (their spend was charged as they failed).
    const tokens = (b ? b.usage.prompt_tokens + (b.usage.completion_tokens ?? 0) : 0) + (state.failedAttemptTokens ?? 0);
    admission.settle(state.reservation, b || tokens > 0 ? { model: state.model!, tokens, usd: b?.costUsd ?? 0 } : undefined);
  }
  if (tracing.enabled && state.trace) traceRequest(tracing, state, operation, status, ms);
  const level = probe(route, status) ? 'debug' : status >= 500 || cut ? 'warn' : 'info';
  if (!log.enabled(level)) return;
  const line = {
    reqId: request.id,
    method: request.method,
    route,
    status,
    ms: round(ms),
    keyId: refusedKeyId(request) ?? keyId,
    // An admin request has no gateway key: who made it (the master key or an admin key's id).
    actor: adminActor(request),
    model: state.model,
    deployment,
    provider,
    upstreamModel: state.upstreamModel,
    upstreamRequestId: state.upstreamRequestId,
    stream: state.stream,
    ttftMs: state.ttftMs !== undefined ? round(state.ttftMs) : undefined,
    attempts: state.attempts,
    fallbacks: state.fallbacks,
    taskRoute: state.taskRoute,
    cache: state.cache,
    // A cache hit's line: the usage it replays, at no cost (no upstream was paid).
    promptTokens: b ? b.usage.prompt_tokens : state.replayed?.prompt_tokens,
    completionTokens: b ? b.usage.completion_tokens : state.replayed?.completion_tokens,
    costUsd: b ? b.costUsd : state.replayed && 0,
    usageEstimated: b?.estimated || undefined,
    embeddingCostUsd: state.embeddingCostUsd,
    abandonedCostUsd: state.abandonedCostUsd,
    failedAttemptCostUsd: state.failedAttemptCostUsd,
    error: state.errorCode,
    ...(bodies && loggedBodies(request, state, bodies)),
  };
  // A priced embedding the cache's store still makes for it: the line waits for its charge, so it carries its cost.
  if (!state.charging) return log.write(level, line);
  shutdown.lineAfter(state.charging, () => {
    try {
      log.write(level, { ...line, embeddingCostUsd: state.embeddingCostUsd });
    } catch (err) {
      logger.error({ err, route }, 'unexpected error while recording a request');
    }
  });
}

/** The request's span, written once its run settled (attempts and their endings are then known). */
function traceRequest(tracing: TracingService, state: RequestState, operation: GenAiOperation, status: number, ms: number): void {
  const endedAt = Date.now();
  void (state.running ?? Promise.resolve()).then(() => {
    const b = bill(state);
    tracing.record({
      operation,
      startedAt: endedAt - ms,
      endedAt,
      status,
      trace: state.trace!,
      attempts: state.timeline ?? [],
      attributes: {
        ...(state.model && { 'gen_ai.request.model': state.model }),
        ...(state.genAiProvider && { 'gen_ai.provider.name': state.genAiProvider }),
        // The model the answer named (a dated version, Gemini's modelVersion), else the id it was asked for.
        ...(state.provider && { 'gen_ai.response.model': state.responseModel ?? state.upstreamModel }),
        ...(b && { 'gen_ai.usage.input_tokens': b.usage.prompt_tokens, 'gen_ai.usage.output_tokens': b.usage.completion_tokens ?? 0 }),
        'gateway.cache': state.cache ?? 'none',
        'gateway.attempts': state.attempts ?? 0,
        ...(state.fallbacks && { 'gateway.fallbacks': state.fallbacks }),
        ...(state.errorCode && { 'error.type': state.errorCode }),
      },
    });
  });
}

/**
 * The prompt (chat's and Messages' `messages`, Responses' `input`), its system prompt where the
 * protocol keeps it apart (Messages' `system`, Responses' `instructions`) and the answer (a JSON
 * body, or a stream's text as written), redacted.
 */
function loggedBodies(request: FastifyRequest, state: RequestState, bodies: BodyRedactor) {
  const body = request.body as { messages?: unknown; input?: unknown; system?: unknown; instructions?: unknown } | undefined;
  const prompt = body?.messages ?? body?.input;
  const system = body?.system ?? body?.instructions;
  const completion = state.responseBody ?? state.transcript?.text;
  return {
    system: system === undefined ? undefined : bodies.redact(JSON.stringify(system)),
    prompt: prompt === undefined ? undefined : bodies.redact(JSON.stringify(prompt)),
    completion: completion === undefined ? undefined : bodies.redact(completion),
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
