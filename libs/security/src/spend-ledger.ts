import { SPEND_TOTAL_FIELD } from '@gateway/metrics';

/** What one replica wrote of one key's spend to Redis: in its latest day and month, by model (USD). */
export interface KeySpend {
  keyId: string;
  day: string;
  dayUsd: Map<string, number>;
  month: string;
  monthUsd: Map<string, number>;
}

/**
 * The spend this replica wrote to Redis in the current day and month, per key, each figure counted
 * once Redis confirmed the write. Redis restarted empty loses the spend hashes: each replica then
 * writes back what it recorded here (spend-recovery.ts), so the sum over live replicas restores
 * the period's total for what they wrote. Without Redis it is the spend itself, which budgets and
 * the usage report read (MemoryAdmissionStore). One entry per key (a day's and a month's map by
 * model): bounded by the number of keys, not of requests.
 */
export class SpendLedger {
  private readonly keys = new Map<string, KeySpend>();

  /** `usd` of `model` written to the spend hashes of `day` (`yyyy-mm-dd`) and its month. */
  record(keyId: string, day: string, model: string, usd: number): void {
    if (!(usd > 0)) return;
    const month = day.slice(0, 7);
    let entry = this.keys.get(keyId);
    if (!entry) this.keys.set(keyId, (entry = { keyId, day, dayUsd: new Map(), month, monthUsd: new Map() }));
    // A later period starts afresh; a write to an earlier one (a lost call sent again) is not of the current period.
    if (day > entry.day) [entry.day, entry.dayUsd] = [day, new Map()];
    if (month > entry.month) [entry.month, entry.monthUsd] = [month, new Map()];
    if (day === entry.day) entry.dayUsd.set(model, (entry.dayUsd.get(model) ?? 0) + usd);
    if (month === entry.month) entry.monthUsd.set(model, (entry.monthUsd.get(model) ?? 0) + usd);
  }

  /** What is recorded of `period` (a day or a month) by model, plus `_total`, as a spend hash holds it; empty for another period. */
  byModel(keyId: string, period: string): Record<string, number> {
    const spend = this.of(keyId, period);
    if (!spend?.size) return {};
    return { ...Object.fromEntries(spend), [SPEND_TOTAL_FIELD]: this.totalOf(keyId, period) };
  }

  /** What is recorded of `period` (a day or a month), all models; 0 for another period. */
  totalOf(keyId: string, period: string): number {
    let total = 0;
    for (const usd of this.of(keyId, period)?.values() ?? []) total += usd;
    return total;
  }

  private of(keyId: string, period: string): Map<string, number> | undefined {
    const entry = this.keys.get(keyId);
    if (entry?.day === period) return entry.dayUsd;
    if (entry?.month === period) return entry.monthUsd;
    return undefined;
  }

  /** A copy of what is recorded now, of the month `month` (UTC, `yyyy-mm`): earlier months are forgotten. */
  snapshot(month: string): KeySpend[] {
    const copy: KeySpend[] = [];
    for (const [keyId, entry] of this.keys) {
      if (entry.month < month) this.keys.delete(keyId);
      else copy.push({ ...entry, dayUsd: new Map(entry.dayUsd), monthUsd: new Map(entry.monthUsd) });
    }
    return copy;
  }
}
