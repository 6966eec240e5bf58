import type { Logger } from '@nestjs/common';
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

/** Thrown by a backend that turns work away at once because it could not do it in time (a full queue). */
export class Overloaded extends Error {
  override readonly name = 'Overloaded';
}

/** Thrown by an embedder for a prompt its model cannot represent (a script outside its vocabulary). */
export class Unrepresentable extends Error {
  override readonly name = 'Unrepresentable';
}

/** Thrown by an offline embedder asked for a prompt before its model has loaded (the first second after start-up). */
export class Loading extends Error {
  override readonly name = 'Loading';
}

/**
 * Runs backend calls so that a slow, busy or broken cache never fails a request: past the
 * time budget, when turned away (Overloaded) or on any error the caller gets the fallback,
 * a metric counts it and a warning is logged at most every 30 s. Nothing is latched: the
 * next call tries again, so caching resumes by itself when the backend returns.
 */
export class FailOpen {
  private lastWarning = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: CacheMetrics,
  ) {}

  async run<T>(backend: string, operation: string, budgetMs: number | undefined, work: () => Promise<T>, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      if (budgetMs === undefined) return await work();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DOMException(`no answer within ${budgetMs} ms`, 'TimeoutError')), budgetMs);
      });
      return await Promise.race([work(), timeout]);
    } catch (err) {
      this.failed(backend, operation, err);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }

  private failed(backend: string, operation: string, err: unknown): void {
    const { reason, warn } = REASONS.get((err as Error | undefined)?.name ?? '') ?? OTHER;
    this.metrics.backendErrors.labels(backend, operation, reason).inc();
    if (!warn) return;
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed ? ` (${this.suppressed} more failures since the last warning)` : '';
    this.logger.warn(`cache ${backend} ${operation} failed, going on without it: ${(err as Error).message}${more}`);
    this.lastWarning = now;
    this.suppressed = 0;
  }
}
