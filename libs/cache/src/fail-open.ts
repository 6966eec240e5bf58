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
const OTHER = { reason: 'error', warn: true };

/**
 * Runs backend calls so that a slow, busy or broken cache never fails a request: past the
 * time budget, when turned away (Overloaded) or on any error the caller gets the fallback,
 * a metric counts it and a warning is logged at most every 30 s per backend (one slot for all let
 * a Redis outage be told as the embedder's failures). Nothing is latched: the next call tries
 * again, so caching resumes by itself when the backend returns.
 */
export class FailOpen {
  /** By backend: when its last warning was logged, and the failures not logged since. */
  private readonly warnings = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly metrics: CacheMetrics,
  ) {}

  async run<T>(backend: string, operation: string, budgetMs: number | undefined, work: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await (budgetMs === undefined ? work() : withinBudget(work(), budgetMs));
    } catch (err) {
      this.failed(backend, operation, err);
      return fallback;
    }
  }

  private failed(backend: string, operation: string, err: unknown): void {
    const { reason, warn } = REASONS.get((err as Error | undefined)?.name ?? '') ?? OTHER;
    this.metrics.backendErrors.labels(backend, operation, reason).inc();
    if (!warn) return;
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
