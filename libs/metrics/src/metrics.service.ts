import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: LLM calls take from milliseconds (cache, mock) to minutes (long generations). */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface RequestSeries {
  count: Counter.Internal;
  duration: Histogram.Internal<string>;
}

/**
 * The gateway's Prometheus registry. Label values are bounded by construction:
 * routes are registered paths, models are configured group names or `unknown`,
 * statuses are HTTP codes. Label children are bound once per combination so a
 * request costs two increments, not a label lookup each.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'model' | 'status'>;
  private readonly duration: Histogram<'route' | 'model' | 'status'>;
  private readonly series = new Map<string, RequestSeries>();
  private readonly fallbacks: Counter<'model' | 'reason'>;
  private readonly retries: Counter<'model' | 'provider'>;
  private readonly breakerState: Gauge<'deployment'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests handled, by route, public model and status',
      labelNames: ['route', 'model', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Time from request received to response finished (or client gone)',
      labelNames: ['route', 'model', 'status'],
      buckets: REQUEST_BUCKETS,
      registers: [this.registry],
    });
    this.fallbacks = new Counter({
      name: 'gateway_fallbacks_total',
      help: 'Failed attempts that sent a request on to a retry or another deployment, by reason',
      labelNames: ['model', 'reason'],
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: 'gateway_retries_total',
      help: 'Attempts after the first for one request',
      labelNames: ['model', 'provider'],
      registers: [this.registry],
    });
    this.breakerState = new Gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'Circuit breaker per deployment: 0 closed, 1 half-open, 2 open',
      labelNames: ['deployment'],
      registers: [this.registry],
    });
  }

  /** `reason` is a GatewayError code: a bounded set. */
  recordFallback(model: string, reason: string): void {
    this.fallbacks.inc({ model, reason });
  }

  recordRetry(model: string, provider: string): void {
    this.retries.inc({ model, provider });
  }

  setBreakerState(deployment: string, state: 'closed' | 'half-open' | 'open'): void {
    this.breakerState.set({ deployment }, state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
  }

  recordRequest(route: string, model: string, status: number, seconds: number): void {
    const key = `${route}\u0000${model}\u0000${status}`;
    let s = this.series.get(key);
    if (!s) {
      const labels = { route, model, status: String(status) };
      s = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
      this.series.set(key, s);
    }
    s.count.inc();
    s.duration.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
