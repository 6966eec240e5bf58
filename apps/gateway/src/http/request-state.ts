import type { FastifyRequest } from 'fastify';
import { ANONYMOUS_KEY_ID, type Price } from '@gateway/config';
import { type AttemptTiming, incomingTrace, type TraceContext, traceHeaders, type UsageCounts } from '@gateway/metrics';
import { type CompletionUsage, type JsonResult, nextHop, type RunningUsage } from '@gateway/providers';
import type { Deployment, PrimedStream } from '@gateway/router';
import type { Reservation } from '@gateway/security';
import type { StreamTranscript } from './stream-transcript';

/** Usage and cost of a request an upstream served (see accounting.ts). */
export interface Bill {
  usage: CompletionUsage;
  /** True when some of the usage was estimated: the upstream reported none, or (a stream that ended early) not its output. */
  estimated: boolean;
  costUsd: number;
  /** Web searches the upstream ran for it (priced in costUsd). */
  webSearches: number;
}

/** What the handler learnt about a request, for the access log, metrics and cost. */
export interface RequestState {
  /** Public model group (bounded), once resolved. */
  model?: string;
  provider?: string;
  deployment?: string;
  /**
   * The deployment of the attempt under way (or the last one), set as each attempt starts: what
   * labels the request's metrics and access line when no deployment answered (a client that left
   * before the answer, a run whose every attempt failed).
   */
  attempting?: Deployment;
  upstreamModel?: string;
  /** The model the upstream's answer named (`gen_ai.response.model` on the span), read only while tracing. */
  responseModel?: string;
  /**
   * `gen_ai.provider.name` (genAiProviderName) of the deployment that answered, or of a failed
   * run's last attempt (its duration goes to the GenAI metrics with its error).
   */
  genAiProvider?: string;
  stream?: boolean;
  attempts?: number;
  /** `<deployment>=<reason>, …` for attempts that failed before the one that answered. */
  fallbacks?: string;
  /** `<virtual model>:<rule>` when a task rule picked the group. */
  taskRoute?: string;
  /** `hit-exact`, `hit-semantic`, `miss` or `bypass`; unset when the route does not cache. */
  cache?: string;
  /**
   * The upstream's own id for the request, as the latest attempt's answer named it (CallContext.upstreamId), for the
   * access line: the serving deployment's, or the last failed one's (an earlier attempt's is no id of theirs).
   */
  upstreamRequestId?: string;
  /** The error's code as the client got it (the access log's `error`: an upstream's own code included). */
  errorCode?: string;
  /** The same error as a bounded metric label (errorLabel): never an upstream's own code. */
  errorLabel?: string;
  /** Usage as the upstream reported it. */
  usage?: CompletionUsage;
  /** Streams: the usage the upstream reported while streaming, for one that ends before `usage` is set. */
  runningUsage?: RunningUsage;
  /** The deployment's price, for cost. */
  price?: Price;
  /** Prompt size estimated before the call, for usage the upstream did not report. */
  promptEstimate?: number;
  /**
   * The most prompt (the deployment's contextWindow) and completion (max tokens, else the deployment's
   * maxOutputTokens, times `n`) tokens the request allows, where configured: usage far beyond is not believed (accounting.ts).
   */
  usageLimits?: { prompt?: number; completion?: number };
  /** An embeddings request: it generates no completion tokens, whatever its answer's size. */
  embeddings?: boolean;
  /**
   * A JSON answer as the upstream gave it, for completion usage it did not report: its output
   * (answerWeight: text, tool-call arguments, refusals) is measured only then, not what a codec made
   * of it, nor its envelope, so the same output is estimated the same whichever API the client speaks, streamed or not.
   */
  answer?: JsonResult;
  /**
   * The upstream's answer, a JsonResult or a ChatStream (whose tier is set as it ends): the service tier it says
   * served the request, which prices its usage (accounting.ts).
   */
  served?: { serviceTier?: string };
  /** The same of a stream as the router reads it (PrimedStream.produced, growing as chunks come). */
  streamed?: PrimedStream['produced'];
  /**
   * Streams: time from request received to the first chunk sent once the upstream's output began
   * (`streamed.outputAfterMs`); unset when none did.
   */
  ttftMs?: number;
  /** Time spent in the router's run (upstream attempts and waits; streams: until the first chunk). */
  upstreamMs?: number;
  /** Set when LOG_BODIES is on, so the JSON answer is kept for the access log. */
  keepBody?: boolean;
  /** The JSON answer, kept only when LOG_BODIES is on. */
  responseBody?: string;
  /** A streamed answer's text as it is written, kept only when LOG_BODIES is on. */
  transcript?: StreamTranscript;
  /** Tokens reserved against the key's TPM, reconciled when the request ends. */
  reservation?: Reservation;
  /** The usage a cache hit replays (the billed usage of the answer it serves), for the access log: a hit costs 0. */
  replayed?: UsageCounts;
  /** Computed once, when the answer is complete (bill() in accounting.ts). */
  bill?: Bill;
  /** What the semantic cache's embedding calls for this request cost (cache.semantic.embeddingModel; chargeEmbedding). */
  embeddingCostUsd?: number;
  /** The estimated prompts of attempts the gateway hung up on once sent, billed to the key (chargedIfAbandoned). */
  abandonedCostUsd?: number;
  /** What the answered upstream calls of failed attempts cost (chargeAnsweredPart), and their tokens, for the TPM settlement. */
  failedAttemptCostUsd?: number;
  failedAttemptTokens?: number;
  /**
   * A priced embedding the cache's store makes for this request, which may end after the answer went out
   * (CoalesceOptions.charging): the access line is written once it has settled, so it carries its cost.
   */
  charging?: Promise<unknown>;
  /** Upstream attempts, collected only while tracing is on. */
  timeline?: AttemptTiming[];
  /** The request's trace, only while tracing is on. */
  trace?: TraceContext;
  /**
   * A JSON answer's run (Executor.runWhole, as describedRun gives it): a client that leaves before it settled
   * has its request recorded (cost, limits, access line) once it has, with the answer's usage (request-hooks.ts).
   */
  finishing?: Promise<unknown>;
  /** The router's run, settled or not, only while tracing is on: the trace is written once it has settled. */
  running?: Promise<void>;
  /** What aborts the request's client signal (client-signal.ts), once a handler took one. */
  clientLeft?: AbortController;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Declared with decorateRequest at start-up so every request keeps one shape. */
    gatewayState: RequestState | null;
  }
}

/**
 * An attempt starts on `d`: the deployment the access line and metrics name, and the attempts it counts, when the
 * request ends before its run settles (a client that left: its line had no `attempts`). The run's own count (the same)
 * replaces it once it settles (describe-run.ts).
 */
export function attemptStarted(state: RequestState, d: Deployment): void {
  state.attempting = d;
  state.upstreamRequestId = undefined;
  state.attempts = (state.attempts ?? 0) + 1;
}

/** Whose request this is: the gateway key's id, the cache's and the response store's tenant. */
export function tenantOf(request: FastifyRequest): string {
  return request.gatewayKey?.id ?? ANONYMOUS_KEY_ID;
}

export function requestState(request: FastifyRequest): RequestState {
  return (request.gatewayState ??= {});
}

/**
 * The request's own headers on an upstream attempt: its id (X-Client-Request-Id, the header OpenAI documents for a
 * caller's own id, which the other vendors ignore), so an operator finds the gateway's access line in the vendor's
 * logs and support; its hop count (gateway-hops.ts) and its trace context, the attempt's own span under the request's
 * span when tracing is on, else the caller's `traceparent` passed on as it came (what a proxy that does not trace
 * does), so a traced upstream still joins the caller's trace.
 */
export function upstreamHeaders(request: FastifyRequest, timing: AttemptTiming | undefined): Readonly<Record<string, string>> {
  // The id is at most 128 plain ASCII characters (requestId): within OpenAI's 512 ASCII.
  const own = { ...nextHop(request.headers), 'x-client-request-id': request.id };
  const trace = request.gatewayState?.trace;
  if (trace && timing) return { ...own, ...traceHeaders(trace, timing.spanId) };
  const { traceparent, tracestate } = request.headers;
  if (!incomingTrace(request.headers)) return own;
  // Verbatim: a later version's fields and flags are the caller's to send, not ours to rewrite.
  return { ...own, traceparent: traceparent as string, ...(typeof tracestate === 'string' && tracestate ? { tracestate } : {}) };
}
