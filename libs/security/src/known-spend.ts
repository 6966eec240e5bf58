import { utcDay, utcMonth } from '@gateway/metrics';

/**
 * What this replica knows of each budgeted key's spend in its budget's period (a UTC day or month):
 * the most Redis reported at an admission, plus what the replica's own requests cost since. A cost
 * is added here before it is written to Redis, so a report never lacks what the view already
 * counted as reported; taking the larger of the view and each report counts nothing twice, and the
 * view stays a lower bound of the key's spend. During a Redis outage a request this view already
 * puts over the budget is refused rather than admitted unheld. One entry per key: bounded by the
 * number of keys.
 */
export class KnownSpend {
  /** `reported`: the most Redis reported, without the replica's own costs since (reportedOf). */
  private readonly keys = new Map<string, { period: string; usd: number; reported: number }>();

  /** Redis reported `usd` spent by `keyId` in `period` (a day or a month, as spendKey takes it). */
  reported(keyId: string, period: string, usd: number): void {
    const known = this.keys.get(keyId);
    if (known?.period !== period) return void this.keys.set(keyId, { period, usd, reported: usd });
    known.usd = Math.max(known.usd, usd);
    known.reported = Math.max(known.reported, usd);
  }

  /**
   * The most Redis reported of `keyId`'s spend in `period` (0 when it knows only another period): spend only
   * grows within its period, so Redis holding less lost some (restarted empty, flushed) until every replica has
   * written its part back, and an admission takes this as the spend's floor (AdmitInput.budget.spentAtLeast).
   * Not the replica's own costs since: held in Redis until their settlement lands, they would count twice.
   */
  reportedOf(keyId: string, period: string): number {
    const known = this.keys.get(keyId);
    return known?.period === period ? known.reported : 0;
  }

  /** A request of `keyId` cost `usd` now: added when the key's known period is the current one. */
  spent(keyId: string, usd: number): void {
    const known = this.keys.get(keyId);
    if (!known || !(usd > 0)) return;
    if (known.period === utcDay() || known.period === utcMonth()) known.usd += usd;
  }

  /** The spend known of `keyId` in `period`: 0 when it knows only another period. */
  of(keyId: string, period: string): number {
    const known = this.keys.get(keyId);
    return known?.period === period ? known.usd : 0;
  }
}
