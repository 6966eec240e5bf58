import { Injectable } from '@nestjs/common';
import { RedisService } from '@gateway/redis';

/** Days a daily spend hash is kept: long enough for monthly budgets and reports. */
const RETENTION_SECONDS = 40 * 24 * 3600;
export const SPEND_TOTAL_FIELD = '_total';

/** `gateway:spend:<yyyy-mm-dd>:<key id>`, one hash per key and UTC day, a field per model. */
export function spendKey(keyId: string, day: string): string {
  return `gateway:spend:${day}:${keyId}`;
}

export function utcDay(at = new Date()): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Spend per gateway key, model and day, accumulated atomically in Redis (when it is
 * configured) so every replica adds to the same figures. Off the request path:
 * callers do not wait, and an unreachable Redis loses the increment, not the request.
 */
@Injectable()
export class SpendService {
  constructor(private readonly redis: RedisService) {}

  add(keyId: string, model: string, usd: number): void {
    const client = this.redis.client;
    if (!client || usd <= 0 || client.status !== 'ready') return;
    const key = spendKey(keyId, utcDay());
    client
      .multi()
      .hincrbyfloat(key, model, usd)
      .hincrbyfloat(key, SPEND_TOTAL_FIELD, usd)
      .expire(key, RETENTION_SECONDS)
      .exec()
      .catch(() => undefined);
  }

  /** Spend of one key on one day, by model plus `_total`; empty without Redis. */
  async day(keyId: string, day = utcDay()): Promise<Record<string, number>> {
    const client = this.redis.client;
    if (!client) return {};
    const raw = await client.hgetall(spendKey(keyId, day));
    return Object.fromEntries(Object.entries(raw).map(([model, usd]) => [model, Number(usd)]));
  }
}
