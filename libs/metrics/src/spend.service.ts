import { Injectable } from '@nestjs/common';
import { RedisService } from '@gateway/redis';

/** How long a spend hash is kept: a month and a bit, for budgets and reports. */
export const SPEND_RETENTION_SECONDS = 40 * 24 * 3600;
export const SPEND_TOTAL_FIELD = '_total';
/** Worst-case cost charged for budget holds whose replica died before settling them (see LIMIT_LUA's releaseLapsed). */
export const SPEND_LAPSED_FIELD = '_lapsed';

/**
 * `gateway:{<key id>}:spend:<period>`: one hash per key and UTC day (`yyyy-mm-dd`) or
 * month (`yyyy-mm`), a field per model plus `_total`. The hash tag is the key id, the
 * same as the key's limit counters, so one script can update them together on Redis Cluster.
 */
export function spendKey(keyId: string, period: string): string {
  return `gateway:{${keyId}}:spend:${period}`;
}

const DAY_MS = 86_400_000;
/** The last day formatted, and its month: every request asks for them, and they change once a day. */
let lastDay = { number: NaN, text: '', month: '' };

// Date.now(), not a Date: the request path asks two or three times a request, and a Date each was ~1 µs.
function today(at?: Date): typeof lastDay {
  const ms = at ? at.getTime() : Date.now();
  const number = Math.floor(ms / DAY_MS);
  if (number !== lastDay.number) {
    const text = new Date(ms).toISOString().slice(0, 10);
    lastDay = { number, text, month: text.slice(0, 7) };
  }
  return lastDay;
}

/** The UTC day, `2026-12-06`. */
export function utcDay(at?: Date): string {
  return today(at).text;
}

/** The UTC month, `2026-12` (a monthly budget's period): the same string all month, not a slice of the day made per call. */
export function utcMonth(at?: Date): string {
  return today(at).month;
}

/**
 * Reads of the spend per gateway key, model and day. The figures are written by
 * the admission store's settle script (libs/security), atomically with the release
 * of the request's budget hold.
 */
@Injectable()
export class SpendService {
  constructor(private readonly redis: RedisService) {}

  /** Spend of one key in a day or month, by model plus `_total`; empty without Redis (the in-process store keeps it then: LimitsService.spendByModel). */
  async byModel(keyId: string, period: string): Promise<Record<string, number>> {
    const client = this.redis.client;
    if (!client) return {};
    const raw = await client.hgetall(spendKey(keyId, period));
    return Object.fromEntries(Object.entries(raw).map(([model, usd]) => [model, Number(usd)]));
  }
}
