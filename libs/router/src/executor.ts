import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayConfig } from '@gateway/config';
import { type AttemptTiming, MetricsService } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import { BreakerRegistry } from './breaker-registry';
import { coolingDown } from './eligibility';
import { type LatencyKind, LatencyTracker } from './latency-tracker';
import type { Deployment } from './model-catalog';
import type { Plan } from './router.service';

/** One failed attempt, for the response headers and the access log. */
export interface FailedAttempt {
  deployment: string;
  /** The error code (or type) that made us move on. */
  reason: string;
}

export interface Attempted<T> {
  result: T;
  deployment: Deployment;
  /** Attempts made, the successful one included. */
  attempts: number;
  failures: FailedAttempt[];
  /** Time spent in the run: attempts and waits between them (streams: until the first chunk). */
  elapsedMs: number;
}

/** A call to one deployment; it must settle once the answer has started (streams: first chunk). */
export type AttemptCall<T> = (deployment: Deployment, signal: AbortSignal) => Promise<T>;

/**
 * Runs a plan: each deployment in order, retried with exponential backoff and full
 * jitter (or after a short Retry-After), the next one tried when an upstream
 * failure is in `fallbackOn`. Client errors return at once. Each attempt has a
 * timeout and the whole run a deadline; breakers and latency averages learn from
 * every outcome.
 */
@Injectable()
export class Executor {
  private readonly fallbackOn: Set<unknown>;

  constructor(
    private readonly config: GatewayConfig,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
    private readonly metrics: MetricsService,
  ) {
    this.fallbackOn = new Set(config.router.retry.fallbackOn);
  }

  /** `timeline`, when given, receives every attempt's timing (for traces), even when the run fails. */
  async run<T>(
    plan: Plan,
    signal: AbortSignal,
    kind: LatencyKind,
    call: AttemptCall<T>,
    timeline?: AttemptTiming[],
  ): Promise<Attempted<T>> {
    const { retry, timeouts } = this.config.router;
    const runStarted = performance.now();
    const deadline = Date.now() + timeouts.deadlineMs;
    const failures: FailedAttempt[] = [];
    let last: GatewayError | undefined;
    let attempts = 0;

    for (const deployment of plan.deployments) {
      const breaker = this.breakers.get(deployment.id);
      for (let attempt = 1; attempt <= retry.attemptsPerDeployment; attempt++) {
        if (!breaker.allows(Date.now())) {
          failures.push({ deployment: deployment.id, reason: 'breaker_open' });
          break;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw last ?? deadlineError(timeouts.deadlineMs);
        attempts++;
        if (attempts > 1) this.metrics.recordRetry(plan.group.name, deployment.provider.name);
        const started = performance.now();
        const limit = Math.min(timeouts.attemptMs, remaining);
        const attemptSignal = withTimeout(signal, limit, () =>
          limit < timeouts.attemptMs ? deadlineError(timeouts.deadlineMs) : attemptTimeout(limit),
        );
        const timing = timeline && start(timeline, deployment);
        try {
          const result = await call(deployment, attemptSignal.signal);
          if (timing) timing.endedAt = Date.now();
          breaker.success(Date.now());
          this.latency.observe(deployment.id, kind, performance.now() - started);
          return { result, deployment, attempts, failures, elapsedMs: performance.now() - runStarted };
        } catch (err) {
          const error = asGatewayError(err, attemptSignal.signal);
          if (timing) Object.assign(timing, { endedAt: Date.now(), error: error.code ?? error.type });
          if (signal.aborted || !this.isFallbackTrigger(error)) throw error;
          last = error;
          failures.push({ deployment: deployment.id, reason: error.code ?? error.type });
          this.metrics.recordFallback(plan.group.name, error.code ?? error.type);
          const retryAfterMs = Number(error.headers['retry-after']) * 1000;
          if (retryAfterMs > 0) breaker.coolDown(Date.now() + retryAfterMs);
          else breaker.failure(Date.now());
          const wait =
            retryAfterMs > 0
              ? retryAfterMs <= retry.retryAfterCapMs
                ? retryAfterMs
                : undefined
              : backoff(attempt, retry.backoffMs, retry.maxBackoffMs);
          if (wait === undefined || attempt === retry.attemptsPerDeployment || Date.now() + wait >= deadline) break;
          await sleep(wait, undefined, { signal }).catch(() => undefined);
          if (signal.aborted) throw GatewayError.clientClosed();
        } finally {
          attemptSignal.clear();
        }
      }
    }
    throw last ?? coolingDown(plan.group.name, 1);
  }

  private isFallbackTrigger(error: GatewayError): boolean {
    return error.upstreamStatus !== undefined && this.fallbackOn.has(error.upstreamStatus);
  }
}

function start(timeline: AttemptTiming[], d: Deployment): AttemptTiming {
  const now = Date.now();
  const timing = { deployment: d.id, provider: d.provider.name, upstreamModel: d.upstreamModel, startedAt: now, endedAt: now };
  timeline.push(timing);
  return timing;
}

/** Full jitter: a random wait between 0 and the capped exponential step. */
function backoff(attempt: number, base: number, max: number): number {
  return Math.random() * Math.min(max, base * 2 ** (attempt - 1));
}

/**
 * A child signal that aborts with `reason()` after `ms`, or when the parent aborts.
 * `clear()` stops the timer only: a stream that started keeps following the parent.
 * The reason is built only on timeout: an Error's stack trace is too costly per request.
 */
function withTimeout(parent: AbortSignal, ms: number, reason: () => GatewayError): { signal: AbortSignal; clear: () => void } {
  const ac = new AbortController();
  if (parent.aborted) ac.abort(parent.reason);
  else parent.addEventListener('abort', () => ac.abort(parent.reason), { once: true });
  const timer = setTimeout(() => ac.abort(reason()), ms);
  return { signal: ac.signal, clear: () => clearTimeout(timer) };
}

function attemptTimeout(ms: number): GatewayError {
  return new GatewayError(504, `The upstream did not answer within ${ms} ms.`, 'timeout_error', 'upstream_timeout', null, {}, true).from(
    'timeout',
  );
}

function deadlineError(ms: number): GatewayError {
  return new GatewayError(
    504,
    `The request deadline of ${ms} ms passed before any deployment answered.`,
    'timeout_error',
    'deadline_exceeded',
  );
}

/** Whatever an attempt threw, as the error the client should see. */
export function asGatewayError(err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (signal.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (signal.aborted) return GatewayError.clientClosed();
  return new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error');
}
