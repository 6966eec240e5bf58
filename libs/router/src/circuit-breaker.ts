import type { BreakerConfig } from '@gateway/config';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * One deployment's breaker. Opens after N consecutive failures or a failure rate
 * over a window; after the cooldown one probe goes through (half-open); its
 * success closes the breaker, its failure opens it again. `coolDown` opens it for
 * a given time (a 429's Retry-After) whatever the counts.
 */
export class CircuitBreaker {
  state: BreakerState = 'closed';
  openUntil = 0;
  /** Why it is open: the upstream's rate limit, or failures. */
  openedBy: 'rate_limit' | 'failures' = 'failures';
  private consecutive = 0;
  private probing = false;
  /** Outcomes in the current window: [timestamp, failed]. */
  private window: [number, boolean][] = [];

  constructor(
    private readonly config: BreakerConfig,
    private readonly onChange: (state: BreakerState, until: number) => void,
  ) {}

  /** May a request go to this deployment now? Claims the half-open probe slot when it does. */
  allows(now: number): boolean {
    if (this.state === 'open' && now >= this.openUntil) this.set('half-open', 0);
    if (this.state === 'closed') return true;
    if (this.state === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  /** Read-only check, for eligibility filtering before a plan is made. */
  wouldAllow(now: number): boolean {
    return this.state === 'closed' || (this.state === 'open' ? now >= this.openUntil : !this.probing);
  }

  success(now: number): void {
    this.record(now, false);
    this.consecutive = 0;
    this.probing = false;
    if (this.state !== 'closed') this.set('closed', 0);
  }

  failure(now: number): void {
    this.record(now, true);
    this.consecutive++;
    this.probing = false;
    const failures = this.window.filter(([, failed]) => failed).length;
    const rateTripped = this.window.length >= this.config.minRequests && failures / this.window.length >= this.config.failureRate;
    if (this.state === 'half-open' || this.consecutive >= this.config.consecutiveFailures || rateTripped) {
      this.open(now + this.config.cooldownMs, 'failures');
    }
  }

  /** Opens for a set time, e.g. a rate limit's Retry-After. */
  coolDown(until: number): void {
    if (until > this.openUntil || this.state !== 'open') this.open(until, 'rate_limit');
  }

  /** Applies a state another replica announced, without announcing it again. */
  apply(state: BreakerState, until: number): void {
    this.state = state;
    this.openUntil = until;
    this.probing = false;
    if (state === 'closed') {
      this.consecutive = 0;
      this.window = [];
    }
  }

  private open(until: number, by: CircuitBreaker['openedBy']): void {
    this.openedBy = by;
    this.window = [];
    this.consecutive = 0;
    this.set('open', until);
  }

  private set(state: BreakerState, until: number): void {
    this.state = state;
    this.openUntil = until;
    this.onChange(state, until);
  }

  private record(now: number, failed: boolean): void {
    const from = now - this.config.windowMs;
    while (this.window.length && this.window[0][0] < from) this.window.shift();
    this.window.push([now, failed]);
  }
}
