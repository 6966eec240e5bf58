import { Injectable } from '@nestjs/common';
import { RedisService } from '@gateway/redis';

/** How long a spend hash is kept: a month and a bit, for budgets and reports. */
const RETENTION_SECONDS = 40 * 24 * 3600;
export const SPEND_TOTAL_FIELD = '_total';

/**
 * `gateway:spend:<period>:<key id>`: one hash per key and UTC day (`yyyy-mm-dd`) or
 * month (`yyyy-mm`), a field per model plus `_total`.
 */
export function spendKey(keyId: string, period: string): string {
  return `gateway:spend:${period}:${keyId}`;
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
    const multi = client.multi();
    const day = utcDay();
    for (const key of [spendKey(keyId, day), spendKey(keyId, day.slice(0, 7))]) {
      multi.hincrbyfloat(key, model, usd).hincrbyfloat(key, SPEND_TOTAL_FIELD, usd).expire(key, RETENTION_SECONDS);
    }
    multi.exec().catch(() => undefined);
  }

  /** Total spend of a key in a day or month; 0 without Redis. Throws when Redis fails. */
  async total(keyId: string, period: string): Promise<number> {
    const client = this.redis.client;
    if (!client) return 0;
    return Number((await client.hget(spendKey(keyId, period), SPEND_TOTAL_FIELD)) ?? 0);
  }

  /** Spend of one key in a day or month, by model plus `_total`; empty without Redis. */
  async byModel(keyId: string, period: string): Promise<Record<string, number>> {
    const client = this.redis.client;
    if (!client) return {};
    const raw = await client.hgetall(spendKey(keyId, period));
    return Object.fromEntries(Object.entries(raw).map(([model, usd]) => [model, Number(usd)]));
  }
}
