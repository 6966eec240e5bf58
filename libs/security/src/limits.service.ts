import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService, SpendService, utcDay } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import type { KeyRecord } from './key-record';
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter, type WindowResult } from './window-counter';

const MINUTE = 60_000;
/** Warnings about Redis failing open are logged at most this often. */
const WARN_EVERY_MS = 10_000;

export type LimitKind = 'rpm' | 'tpm' | 'budget' | 'ip';

/** A TPM reservation to reconcile once actual usage is known. */
export interface Reservation {
  key: string;
  tokens: number;
}

/**
 * RPM, TPM and budget checks for gateway keys, and the per-IP limit on failed
 * authentication. Counts live in Redis when it is configured, so the limits hold
 * across replicas; each kind fails open or closed on a Redis outage as configured.
 */
@Injectable()
export class LimitsService {
  readonly counter: WindowCounter;
  private readonly logger = new Logger('Limits');
  private lastWarning = 0;
  private readonly spendCache = new Map<string, { usd: number; until: number }>();

  constructor(
    private readonly config: GatewayConfig,
    redis: RedisService,
    private readonly spend: SpendService,
    private readonly metrics: MetricsService,
  ) {
    this.counter = redis.client ? new RedisWindowCounter(redis.client) : new MemoryWindowCounter();
  }

  /** The key's requests-per-minute limit, if any. */
  rpmOf(key: KeyRecord): number | undefined {
    return key.rpm ?? this.config.security.defaultRpm;
  }

  /** Counts one request in `counterKey`'s window (the throttler's storage calls this). */
  countRequest(counterKey: string, limit: number, windowMs: number): Promise<WindowResult> {
    return this.count('rpm', counterKey, 1, limit, this.config.security.failOpen.rateLimits, windowMs);
  }

  /** A 429 for a request over its RPM (the throttler guard throws this). */
  requestLimited(limit: number, resetMs: number): GatewayError {
    return this.limited('rpm', `Rate limit reached for requests: ${limit} per minute.`, resetMs);
  }

  /** Reserves the request's estimated tokens against the key's TPM; 429 when over. */
  async reserveTokens(
    key: KeyRecord,
    tokens: number,
  ): Promise<{ reservation: Reservation; result: WindowResult; limit: number } | undefined> {
    const limit = key.tpm ?? this.config.security.defaultTpm;
    if (!limit) return undefined;
    const counterKey = `gateway:tpm:${key.id}`;
    const result = await this.count('tpm', counterKey, tokens, limit, this.config.security.failOpen.rateLimits);
    if (!result.ok) {
      const why =
        tokens > limit ? `this request needs about ${tokens} tokens, more than the limit of ${limit} per minute` : `${limit} per minute`;
      throw this.limited('tpm', `Rate limit reached for tokens: ${why}.`, result.resetMs);
    }
    return { reservation: { key: counterKey, tokens }, result, limit };
  }

  /** Replaces a reservation with the tokens actually used. */
  reconcile(reservation: Reservation, actualTokens: number): void {
    this.counter.adjust(reservation.key, actualTokens - reservation.tokens).catch(() => undefined);
  }

  /** 429 `insufficient_quota` once the key's spend for the period reaches its budget. */
  async checkBudget(key: KeyRecord): Promise<void> {
    const budget = key.budget;
    if (!budget) return;
    let spent: number;
    try {
      spent = await this.spentThisPeriod(key.id, budget.period);
    } catch {
      this.failOpen('budget');
      if (this.config.security.failOpen.budgets) return;
      throw new GatewayError(503, 'Budget store unavailable; try again shortly.', 'server_error', 'budget_store_unavailable', null, {
        'retry-after': '1',
      });
    }
    if (spent >= budget.usd) {
      const reset = Math.ceil(msUntilPeriodEnd(budget.period) / 1000);
      this.metrics.recordRateLimited('budget');
      throw new GatewayError(
        429,
        `This key has used its ${budget.period} budget of $${budget.usd} ($${spent.toFixed(4)} spent); it resets in ${reset} s.`,
        'insufficient_quota',
        'insufficient_quota',
        null,
        { 'retry-after': String(reset) },
      );
    }
  }

  /** Counts a failed authentication from `ip`; 429 once the IP has failed too often. */
  async failedAuth(ip: string): Promise<void> {
    const limit = this.config.security.ipFailuresPerMinute;
    if (!limit) return;
    const result = await this.count('ip', `gateway:authfail:${ip}`, 1, limit, true);
    if (!result.ok) throw this.limited('ip', 'Too many failed authentication attempts from this address.', result.resetMs);
  }

  /** Spend of the current period, cached a second per key (budgets need not be exact to the cent). */
  private async spentThisPeriod(keyId: string, period: 'daily' | 'monthly'): Promise<number> {
    const cacheKey = `${keyId}:${period}`;
    const cached = this.spendCache.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.usd;
    const usd = await this.spend.total(keyId, period === 'daily' ? utcDay() : utcDay().slice(0, 7));
    this.spendCache.set(cacheKey, { usd, until: Date.now() + 1_000 });
    return usd;
  }

  private async count(
    kind: LimitKind,
    key: string,
    amount: number,
    limit: number,
    failOpen: boolean,
    windowMs = MINUTE,
  ): Promise<WindowResult> {
    try {
      return await this.counter.add(key, amount, limit, windowMs);
    } catch {
      this.failOpen(kind);
      if (failOpen) return { ok: true, used: 0, resetMs: MINUTE };
      throw new GatewayError(503, 'Rate limiter unavailable; try again shortly.', 'server_error', 'rate_limiter_unavailable', null, {
        'retry-after': '1',
      });
    }
  }

  private failOpen(kind: LimitKind): void {
    this.metrics.recordLimiterUnavailable(kind);
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn(`Redis unavailable for ${kind} limits (failing ${this.config.security.failOpen.rateLimits ? 'open' : 'closed'})`);
  }

  private limited(kind: LimitKind, message: string, resetMs: number): GatewayError {
    this.metrics.recordRateLimited(kind);
    const retryAfter = String(Math.max(1, Math.ceil(resetMs / 1000)));
    return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, { 'retry-after': retryAfter });
  }
}

/** Time until the UTC day or month ends. */
export function msUntilPeriodEnd(period: 'daily' | 'monthly', now = new Date()): number {
  const end =
    period === 'daily'
      ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
      : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return end - now.getTime();
}
