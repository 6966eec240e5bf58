import type { CachedAnswer } from './backends/backend';

/**
 * How a lead ended: the answer its followers are served; `lost` when it brought none (it failed, its
 * client left, or its client reads too slowly to share its stream), so one follower takes over; or
 * `unshareable` when its answer may not be shared (a refusal, a tool call, one too large, a vendor's
 * own), so every follower goes upstream: another lead would most likely get one the same, and the
 * followers would only have waited for it in turn.
 */
export type LeadOutcome = CachedAnswer | 'lost' | 'unshareable';

/** Ends a lead with its outcome. Idempotent: the first outcome stands. */
export type Settle = (outcome: LeadOutcome) => void;

/**
 * Cache misses still waiting for their answer, by exact key, in this process: an identical
 * request that arrives meanwhile waits for that answer instead of calling the upstream too
 * (twenty identical concurrent requests made twenty upstream calls). The exact key holds the
 * tenant, so no one waits for another tenant's answer.
 */
export class InFlight {
  private readonly leads = new Map<string, Promise<LeadOutcome>>();

  /** The outcome of an identical request already on its way upstream, or undefined when there is none. */
  outcomeOf(key: string): Promise<LeadOutcome> | undefined {
    return this.leads.get(key);
  }

  /**
   * Makes the caller the request the others wait for; it must settle, whatever happens to it. The lead
   * is gone before its followers resume: after a `lost` one, the first of them to resume can lead.
   */
  lead(key: string): Settle {
    let resolve!: (outcome: LeadOutcome) => void;
    const outcome = new Promise<LeadOutcome>((r) => (resolve = r));
    this.leads.set(key, outcome);
    let settled = false;
    return (value) => {
      if (settled) return;
      settled = true;
      if (this.leads.get(key) === outcome) this.leads.delete(key);
      resolve(value);
    };
  }
}
