import type { Logger } from '@nestjs/common';
import { withinBudget } from '@gateway/redis';
import type { CacheMetrics } from './metrics';

const WARN_EVERY_MS = 30_000;

/**
 * Why a call was given up (the `reason` label of gateway_cache_backend_errors_total), by the error's
 * name: the worker embedder is loaded beside the bundle, with its own copy of Overloaded. A
 * TimeoutError is a budget running out, ours or an AbortSignal.timeout's; anything else is `error`.
 * `warn`: false for a refusal by design, which is no failure to log.
 */
const REASONS = new Map([
  ['TimeoutError', { reason: 'timeout', warn: true }],
  ['Overloaded', { reason: 'overloaded', warn: true }],
  ['Unrepresentable', { reason: 'unrepresented', warn: false }],
  ['Loading', { reason: 'loading', warn: false }],
]);
/** The reason of a call not made: its backend ran out of its budget lately (FailOpen's pauseAfterTimeoutMs). */
const PAUSED = 'paused';
const OTHER = { reason: 'error', warn: true };

/**
 * Runs backend calls so that a slow, busy or broken cache never fails a request: past the
 * time budget, when turned away (Overloaded) or on any error the caller gets the fallback,
 * a metric counts it and a warning is logged at most every 30 s per backend (one slot for all let
 * a Redis outage be told as the embedder's failures). A backend whose call ran out of its budget
 * (`budgetMs`: Redis) is not called for `pauseAfterTimeoutMs`, the fallback given at once: a hung
 * Redis would cost every request its budget, twice. Then the next call tries again, so caching
 * resumes by itself when the backend returns.
 */
export class FailOpen {
  /** By backend: when its last warning was logged, and the failures not logged since. */
  private readonly warnings = new Map<string, { at: number; suppressed: number }>();
  /** By backend: until when it is not called (performance.now()). */
  private readonly pausedUntil = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: CacheMetrics,
    private readonly pauseAfterTimeoutMs: number,
  ) {}

  async run<T>(backend: string, operation: string, budgetMs: number | undefined, work: () => Promise<T>, fallback: T): Promise<T> {
    if (budgetMs !== undefined && (this.pausedUntil.get(backend) ?? 0) > performance.now()) {
      this.metrics.backendErrors.labels(backend, operation, PAUSED).inc();
      return fallback;
    }
    try {
      return await (budgetMs === undefined ? work() : withinBudget(work(), budgetMs));
    } catch (err) {
      const reason = this.failed(backend, operation, err);
      if (budgetMs !== undefined && reason === 'timeout') this.pausedUntil.set(backend, performance.now() + this.pauseAfterTimeoutMs);
      return fallback;
    }
  }

  /** Counts a failed call and logs it (rate-limited, not a refusal by design); its reason. */
  private failed(backend: string, operation: string, err: unknown): string {
    const { reason, warn } = REASONS.get((err as Error | undefined)?.name ?? '') ?? OTHER;
    this.metrics.backendErrors.labels(backend, operation, reason).inc();
    if (warn) this.warn(backend, operation, err);
    return reason;
  }

  private warn(backend: string, operation: string, err: unknown): void {
    const now = Date.now();
    const last = this.warnings.get(backend);
    if (last && now - last.at < WARN_EVERY_MS) {
      last.suppressed++;
      return;
    }
    const more = last?.suppressed ? ` (${last.suppressed} more ${backend} failures since its last warning)` : '';
    this.logger.warn(`cache ${backend} ${operation} failed, going on without it: ${(err as Error).message}${more}`);
    this.warnings.set(backend, { at: now, suppressed: 0 });
  }
}
