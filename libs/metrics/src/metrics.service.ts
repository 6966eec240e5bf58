import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type CounterChild, CounterFamily, type HistogramChild, HistogramFamily, LabelTree } from './families';
import { EventLoopDelayHistogram } from './event-loop-delay';
import { keyLabeller } from './key-label';
import type { GenAiOperation } from './genai-names';

/**
 * Seconds: LLM calls take from milliseconds (cache, mock) to minutes (long generations). The top bound
 * covers a stream that runs for GKE's backend timeout (600 s, the chart's): one past the last bound is
 * only +Inf, which histogram_quantile reports as that bound.
 */
const LLM_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640];
/** The gateway's own time per request: microseconds to milliseconds. */
/**
 * Up to 2.5 s: a request's first after start, or one waiting on the semantic cache's embedding (embeddingTimeoutMs),
 * takes over 0.1 s, and a p99 above the top bound reads as the bound (obs31).
 */
const OVERHEAD_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** OpenTelemetry's recommended buckets for gen_ai.client.token.usage. */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
const PER_TOKEN_SECONDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1];

export type BreakerStateName = 'closed' | 'half-open' | 'open';
const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

/** One finished request, as the access hook saw it. */
export interface RequestSample {
  route: string;
  /** Public model group, `none` before one was resolved. */
  model: string;
  deployment: string;
  provider: string;
  status: number;
  cache: string;
  seconds: number;
  /** Time the gateway spent outside upstream calls, when an upstream was called. */
  overheadSeconds?: number;
}

/** One completion served by an upstream, for the GenAI metrics and cost. */
export interface CompletionSample {
  operation: GenAiOperation;
  /** `gen_ai.provider.name` (genAiProviderName), for the GenAI metrics. */
  genAiProvider: string;
  /** The configured provider, for the gateway's own metrics. */
  provider: string;
  requestModel: string;
  responseModel: string;
  key: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Searches the upstream ran (Anthropic's web search server tool). */
  webSearches: number;
  seconds: number;
  ttftSeconds?: number;
  /** Set when the operation ended in an error after it began (a stream cut after its first chunk). */
  errorType?: string;
}

/** An operation whose run failed after trying an upstream, for the GenAI duration's error series. */
export interface FailedOperationSample {
  operation: GenAiOperation;
  genAiProvider: string;
  requestModel: string;
  errorType: string;
  seconds: number;
}

type RequestLabels = [route: string, model: string, deployment: string, provider: string, status: number, cache: string];

/** The children one request's outcome adds to (MetricsService.requestSeries). */
interface RequestSeries {
  requests: CounterChild;
  duration: HistogramChild;
  overhead?: HistogramChild;
}

/** The GenAI children of one (operation, provider, request model, response model); those of an error_type are looked up. */
interface GenAiSeries {
  labels: string[];
  input?: HistogramChild;
  output?: HistogramChild;
  duration?: HistogramChild;
  ttft?: HistogramChild;
  perToken?: HistogramChild;
}

const genAiSeriesOf = (labels: string[]): GenAiSeries => ({ labels });

/**
 * Every Prometheus metric the gateway exports, in one place. GenAI metrics follow
 * the OpenTelemetry semantic conventions' Prometheus names; the rest are the
 * gateway's own (`gateway_*`). Label values are bounded by construction.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly overhead: HistogramFamily;
  private readonly tokens: HistogramFamily;
  private readonly upstreamDuration: HistogramFamily;
  private readonly ttft: HistogramFamily;
  private readonly perToken: HistogramFamily;
  private readonly cost: CounterFamily;
  /**
   * A finished request's children of the request families, and an answered operation's of the GenAI
   * ones, by their label values: one lookup a request for what took one per family (seven), each child
   * made at its first use, as `with` makes it, so a scrape shows the same series.
   */
  private readonly requestSeries = new LabelTree<RequestLabels, RequestSeries>();
  private readonly genAiSeries = new LabelTree<string[], GenAiSeries>();
  /** Makes a request's series the first time its labels come (LabelTree.get), made once: no closure a request. */
  private readonly makeRequestSeries = ([route, model, deployment, provider, code, cache]: RequestLabels): RequestSeries => {
    const status = String(code);
    return {
      requests: this.requests.with(route, model, deployment, provider, status, cache),
      duration: this.duration.with(route, model, status),
    };
  };
  private readonly webSearches: CounterFamily;
  private readonly fallbacks: Counter<'model' | 'reason'>;
  private readonly skips: Counter<'model' | 'reason'>;
  private readonly retries: Counter<'model' | 'provider'>;
  private readonly streamErrors: Counter<'model' | 'provider' | 'reason'>;
  private readonly breakerState: Gauge<'deployment'>;
  private breakerStates: () => Iterable<[string, BreakerStateName]> = () => [];
  private readonly rateLimited: Counter<'limit'>;
  private readonly limiterUnavailable: Counter<'limit'>;
  private readonly leasedAdmissions: Counter;
  private readonly leasedKeys: Gauge;
  private leasedKeysHeld: () => number = () => 0;
  private readonly spendRestores: Counter;
  private readonly redisEvictedKeys: Gauge;
  private readonly staleKeyLookups: Counter<'result'>;
  private readonly threadsEvicted: Counter;
  private readonly threadsNotKept: Counter;
  private readonly unhandledRejections: Counter;
  private readonly unpricedTiers: Counter<'deployment' | 'tier'>;
  readonly inflightRequests: Gauge;
  readonly inflightStreams: Gauge;
  readonly eventLoopDelay: EventLoopDelayHistogram;
  private readonly keyLabel: (keyId: string) => string;

  /** Without a config (unit tests, benchmarks), the defaults: only configured keys get a `key` of their own. */
  constructor(config: GatewayConfig = new GatewayConfig()) {
    this.keyLabel = keyLabeller(config);
    collectDefaultMetrics({ register: this.registry });
    this.eventLoopDelay = new EventLoopDelayHistogram(this.registry);
    const registers = [this.registry];
    this.requests = new CounterFamily(this.registry, {
      name: 'gateway_requests_total',
      help: 'Requests handled, by route, model group, deployment, provider, status and cache result',
      labelNames: ['route', 'model', 'deployment', 'provider', 'status', 'cache'],
    });
    this.duration = new HistogramFamily(this.registry, {
      name: 'gateway_request_duration_seconds',
      help: 'Time from request received to response finished (or client gone)',
      labelNames: ['route', 'model', 'status'],
      buckets: LLM_SECONDS,
    });
    this.overhead = new HistogramFamily(this.registry, {
      name: 'gateway_overhead_seconds',
      help: 'Time the gateway spent on a request outside upstream calls (streams: until the first byte)',
      labelNames: ['route'],
      buckets: OVERHEAD_SECONDS,
    });
    // gen_ai.response.model is the configured upstream id, not the one the answer named: the label stays bounded.
    const genAi = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'];
    this.tokens = new HistogramFamily(this.registry, {
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per request (gen_ai.client.token.usage)',
      labelNames: ['gen_ai_token_type', ...genAi],
      buckets: TOKEN_BUCKETS,
    });
    this.upstreamDuration = new HistogramFamily(this.registry, {
      name: 'gen_ai_server_request_duration_seconds',
      help: 'Upstream generation time per request, failed ones with their error_type (gen_ai.server.request.duration)',
      labelNames: [...genAi, 'error_type'],
      buckets: LLM_SECONDS,
    });
    this.ttft = new HistogramFamily(this.registry, {
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time to the first streamed token (gen_ai.server.time_to_first_token)',
      labelNames: genAi,
      buckets: LLM_SECONDS,
    });
    this.perToken = new HistogramFamily(this.registry, {
      name: 'gen_ai_server_time_per_output_token_seconds',
      help: 'Time per output token after the first (gen_ai.server.time_per_output_token)',
      labelNames: genAi,
      buckets: PER_TOKEN_SECONDS,
    });
    this.cost = new CounterFamily(this.registry, {
      name: 'gateway_cost_usd_total',
      help: 'Spend in USD from actual (or, when the upstream omitted it, estimated) usage',
      labelNames: ['provider', 'model', 'key'],
    });
    this.webSearches = new CounterFamily(this.registry, {
      name: 'gateway_web_searches_total',
      help: "Web searches upstreams ran for requests (Anthropic's web search server tool), priced in gateway_cost_usd_total",
      labelNames: ['provider', 'model', 'key'],
    });
    this.fallbacks = new Counter({
      name: 'gateway_fallbacks_total',
      help: 'Requests sent on to another deployment after a failed attempt, by the reason of that failure',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.skips = new Counter({
      name: 'gateway_deployment_skips_total',
      help: 'Deployments a request passed over without sending it upstream: breaker_open, cooling_down, or cannot_encode (its adapter cannot encode the request)',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'gateway_retries_total',
      help: 'Attempts on a deployment that had already failed for the same request',
      labelNames: ['model', 'provider'],
      registers,
    });
    this.streamErrors = new Counter({
      name: 'gateway_stream_errors_total',
      help: 'Streams that failed after their first chunk (the client had a 200 and got an error event), by the error code',
      labelNames: ['model', 'provider', 'reason'],
      registers,
    });
    this.breakerState = new Gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'Circuit breaker per deployment: 0 closed, 1 half-open, 2 open',
      labelNames: ['deployment'],
      registers,
      // Set at scrape time, not on changes: an open breaker's cool-down ends with no event, and reads half-open then.
      collect: () => {
        this.breakerState.reset();
        for (const [deployment, state] of this.breakerStates()) this.breakerState.set({ deployment }, BREAKER_STATE_VALUE[state]);
      },
    });
    this.rateLimited = new Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused by a limit: rpm, tpm, budget, or ip (failed authentications)',
      labelNames: ['limit'],
      registers,
    });
    this.limiterUnavailable = new Counter({
      name: 'gateway_limiter_unavailable_total',
      help: 'Limit checks that could not reach Redis (then failing open or closed as configured)',
      labelNames: ['limit'],
      registers,
    });
    this.leasedAdmissions = new Counter({
      name: 'gateway_leased_admissions_total',
      help: "Requests admitted from this replica's lease of their key's limits, with no Redis call",
      registers,
    });
    this.leasedKeys = new Gauge({
      name: 'gateway_limit_lease_keys',
      help: 'Keys this replica holds a lease of their limits, requests in flight or unwritten spend for: each is synced with Redis about once a lease period until it holds nothing',
      registers,
      collect: () => this.leasedKeys.set(this.leasedKeysHeld()),
    });
    this.redisEvictedKeys = new Gauge({
      name: 'gateway_redis_evicted_keys',
      help:
        "Keys Redis evicted at maxmemory since it started (its evicted_keys, summed over a cluster's masters), as last read (every 10 s): " +
        'any rise means rate windows, budget holds or spend may be gone (see the warning logged with it); 0 under noeviction',
      registers,
    });
    this.spendRestores = new Counter({
      name: 'gateway_spend_restores_total',
      help: 'Times Redis was found restarted empty and this replica re-added the spend it had recorded in the current period',
      registers,
    });
    this.staleKeyLookups = new Counter({
      name: 'gateway_key_lookups_stale_total',
      help: 'Key lookups made while Redis was unreachable: served from the last known record, or refused (unknown or too old)',
      labelNames: ['result'],
      registers,
    });
    this.threadsEvicted = new Counter({
      name: 'gateway_message_threads_evicted_total',
      help: 'Message threads the in-process store (no Redis) dropped before their TTL to make room for another (messages.threads.maxMemoryMb)',
      registers,
    });
    this.unhandledRejections = new Counter({
      name: 'gateway_unhandled_rejections_total',
      help: 'Promises that failed with nothing to handle it (a gateway bug, logged with its stack): the process keeps serving',
      registers,
    });
    this.threadsNotKept = new Counter({
      name: 'gateway_message_threads_not_kept_total',
      help:
        'Answers on a message thread served but not kept (x-gateway-thread-kept: false), by reason: raced (another continue of the same response was kept first), ' +
        'too_large (the in-process store could not hold the thread), tenant_bound (the key`s threads in Redis hold messages.threads.tenantMaxMemoryMb), store_error (the thread store failed)',
      labelNames: ['reason'],
      registers,
    });
    this.unpricedTiers = new Counter({
      name: 'gateway_unpriced_tier_answers_total',
      help:
        'Answers served in a service tier that may cost more than the standard price (priority, fast, ultrafast, a new name) for which the ' +
        "deployment's price.tiers sets no rates: billed at its dearest configured rates (tier `other`: past the first 100 deployment and tier pairs)",
      labelNames: ['deployment', 'tier'],
      registers,
    });
    this.inflightRequests = new Gauge({ name: 'gateway_inflight_requests', help: 'Requests being handled', registers });
    this.inflightStreams = new Gauge({ name: 'gateway_inflight_streams', help: 'SSE streams being written', registers });
  }

  recordRequest(s: RequestSample): void {
    const series = this.requestSeries.get([s.route, s.model, s.deployment, s.provider, s.status, s.cache], this.makeRequestSeries);
    series.requests.inc();
    series.duration.observe(s.seconds);
    if (s.overheadSeconds !== undefined) (series.overhead ??= this.overhead.with(s.route)).observe(s.overheadSeconds);
  }

  recordCompletion(c: CompletionSample): void {
    const genAi = this.genAiSeries.get([c.operation, c.genAiProvider, c.requestModel, c.responseModel], genAiSeriesOf);
    const labels = genAi.labels;
    (genAi.input ??= this.tokens.with('input', ...labels)).observe(c.inputTokens);
    // The conventions record embeddings' input tokens only: a 0 per call would only inflate the output's count.
    if (c.operation !== 'embeddings') (genAi.output ??= this.tokens.with('output', ...labels)).observe(c.outputTokens);
    // An empty label is no label (Prometheus): answered operations have no error_type series.
    const duration = c.errorType
      ? this.upstreamDuration.with(...labels, c.errorType)
      : (genAi.duration ??= this.upstreamDuration.with(...labels, ''));
    duration.observe(c.seconds);
    if (c.ttftSeconds !== undefined) {
      (genAi.ttft ??= this.ttft.with(...labels)).observe(c.ttftSeconds);
      if (c.outputTokens > 1) {
        const perToken = (c.seconds - c.ttftSeconds) / (c.outputTokens - 1);
        (genAi.perToken ??= this.perToken.with(...labels)).observe(Math.max(0, perToken));
      }
    }
    this.recordCost(c.provider, c.requestModel, c.key, c.costUsd);
    if (c.webSearches > 0) this.webSearches.with(c.provider, c.requestModel, this.keyLabel(c.key)).inc(c.webSearches);
  }

  /** Spend that is no operation of its own (the answered batches of an embeddings attempt that failed): gateway_cost_usd_total only. */
  recordCost(provider: string, model: string, key: string, usd: number): void {
    if (usd > 0) this.cost.with(provider, model, this.keyLabel(key)).inc(usd);
  }

  /**
   * A revoked key's series (its cost and web searches, when it has its own: metrics.keyLabel `all`)
   * leave the scrape: no request will add to them again, and an operator's churn of keys must not
   * grow every scrape until a restart.
   */
  forgetKey(keyId: string): void {
    this.cost.remove('key', keyId);
    this.webSearches.remove('key', keyId);
  }

  /** No answer, so no response model (an empty label is none); `errorType` is an error's label (errorLabel in @gateway/providers): a bounded set. */
  recordFailedOperation(f: FailedOperationSample): void {
    this.upstreamDuration.with(f.operation, f.genAiProvider, f.requestModel, '', f.errorType).observe(f.seconds);
  }

  /** `reason` is an error's label (errorLabel): a bounded set. */
  recordFallback(model: string, reason: string): void {
    this.fallbacks.inc({ model, reason });
  }

  /** A deployment of `model` passed over for a request, never asked: `reason` is one of three (the counter's help). */
  recordSkip(model: string, reason: 'breaker_open' | 'cooling_down' | 'cannot_encode'): void {
    this.skips.inc({ model, reason });
  }

  recordRetry(model: string, provider: string): void {
    this.retries.inc({ model, provider });
  }

  /** `reason` is an error's label (errorLabel): a bounded set. */
  recordStreamError(model: string, provider: string, reason: string): void {
    this.streamErrors.inc({ model, provider, reason });
  }

  /** Where the breaker gauge reads each deployment's state when scraped (the router's breakers). */
  readBreakerStates(read: () => Iterable<[string, BreakerStateName]>): void {
    this.breakerStates = read;
  }

  recordRateLimited(limit: 'rpm' | 'tpm' | 'budget' | 'ip'): void {
    this.rateLimited.inc({ limit });
  }

  recordLimiterUnavailable(limit: 'rpm' | 'tpm' | 'budget' | 'ip'): void {
    this.limiterUnavailable.inc({ limit });
  }

  /** What gateway_limit_lease_keys reads at each scrape (the lease store's count). */
  observeLeasedKeys(read: () => number): void {
    this.leasedKeysHeld = read;
  }

  recordLeasedAdmission(): void {
    this.leasedAdmissions.inc();
  }

  setRedisEvictedKeys(keys: number): void {
    this.redisEvictedKeys.set(keys);
  }

  recordSpendRestore(): void {
    this.spendRestores.inc();
  }

  /** `served`: the last known record was used; `refused`: none, or older than the staleness bound (503). */
  recordStaleKeyLookup(result: 'served' | 'refused'): void {
    this.staleKeyLookups.inc({ result });
  }

  recordThreadsEvicted(threads: number): void {
    this.threadsEvicted.inc(threads);
  }

  recordThreadNotKept(reason: 'raced' | 'too_large' | 'tenant_bound' | 'store_error'): void {
    this.threadsNotKept.inc({ reason });
  }

  recordUnhandledRejection(): void {
    this.unhandledRejections.inc();
  }

  recordUnpricedTier(deployment: string, tier: string): void {
    this.unpricedTiers.inc({ deployment, tier });
  }

  /**
   * The scrape, as `registry.metrics()` writes it, one family at a time with the event loop let go
   * between them: prom-client formats a whole scrape in one synchronous run (its per-family promises
   * resolve as microtasks), so requests and streams waited for all of it, not for one family at most.
   */
  async text(): Promise<string> {
    const families: string[] = [];
    for (const metric of this.registry.getMetricsAsArray()) {
      if (families.length) await new Promise(setImmediate);
      families.push(await this.registry.getSingleMetricAsString(metric.name));
    }
    return `${families.join('\n\n')}\n`;
  }
}
