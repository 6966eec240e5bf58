import type { CachedAnswer } from './backends/backend';

/** Ends a lead: with the answer its followers are served, or undefined when there is none to share. Idempotent. */
export type Settle = (answer: CachedAnswer | undefined) => void;

/**
 * Cache misses still waiting for their answer, by exact key, in this process: an identical
 * request that arrives meanwhile waits for that answer instead of calling the upstream too
 * (twenty identical concurrent requests made twenty upstream calls). The exact key holds the
 * tenant, so no one waits for another tenant's answer.
 */
export class InFlight {
  private readonly leads = new Map<string, Promise<CachedAnswer | undefined>>();

  /** The answer of an identical request already on its way upstream, or undefined when there is none. */
  answerOf(key: string): Promise<CachedAnswer | undefined> | undefined {
    return this.leads.get(key);
  }

  /** Makes the caller the request the others wait for; it must settle, whatever happens to it. */
  lead(key: string): Settle {
    let resolve!: (answer: CachedAnswer | undefined) => void;
    const answer = new Promise<CachedAnswer | undefined>((r) => (resolve = r));
    this.leads.set(key, answer);
    let settled = false;
    return (value) => {
      if (settled) return;
      settled = true;
      if (this.leads.get(key) === answer) this.leads.delete(key);
      resolve(value);
    };
  }
}
