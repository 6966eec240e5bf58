import type { BreakerConfig } from '@gateway/config';
import type { ErrorType } from '@gateway/providers';
import { OutcomeWindow } from './outcome-window';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * What an upstream said when it refused the gateway's account (a rejected key, no credit left): enough to say it
 * again to a client while the deployment cools down for it, here or on a replica that heard of the cool-down.
 */
export interface AccountTrouble {
  status: number;
  message: string;
  type: ErrorType;
  code: string | null;
  upstreamStatus: number;
}

/** What an attempt's ending says about the deployment. */
export type Verdict =
  /**
   * It answered: 2xx, or a client error it judged (`judged`: it is up, but answered without serving, so it does
   * not excuse timeouts, see `weigh`).
   */
  | { kind: 'answered'; judged?: boolean }
  /**
   * 5xx, 529, timeout, connection failure; a Retry-After also cools it down. `trouble`: the answer that said the
   * gateway's account is refused (a rejected key, no credit), which cools it down for the breaker's cool-down.
   * `timedOut`: the gateway gave up waiting (attemptMs, a stream's bound), which may be the request's doing.
   * `errorAnswer`: the upstream answered this request with a 5xx, which may be the request's doing too (a prompt the
   * vendor fails on: Gemini's 500 for an input too long). `repeat`: a retry of a request this deployment failed already.
   */
  | { kind: 'failed'; retryAfterMs?: number; trouble?: AccountTrouble; timedOut?: boolean; errorAnswer?: boolean; repeat?: boolean }
  /** 429: up, but not to be asked again before `retryAfterMs`. */
  | { kind: 'rate-limited'; retryAfterMs: number }
  /** The client left or the request's deadline passed: nothing learned. */
  | { kind: 'no-verdict' };

/**
 * A verdict as evidence (DeploymentHealth.weigh): a timeout or 5xx the deployment has served past counts in the failure
 * rate only (a 503's Retry-After still cools it down).
 */
type Evidence = Verdict | { kind: 'excused-failure'; retryAfterMs?: number; repeat?: boolean };

/**
 * Permission for one attempt. `end` must be called once however the attempt ends; later calls do nothing.
 * A stream calls `started` at its first chunk, and `end` when it ends: its outcome is known only then.
 */
export interface Ticket {
  readonly probe: boolean;
  /** The answer began: the deployment is up (a probe closes the breaker and frees its slot); nothing is counted yet. */
  started(): void;
  end(verdict: Verdict, now: number): void;
}

/** Weight of the newest answer in the share of recent answers that were 429s. */
const RATE_LIMIT_ALPHA = 0.1;
/**
 * A 429 cools the whole deployment down only while most recent answers are 429s
 * (about 16 in a row from a clean record): a deployment that rate-limits a share of
 * requests still serves the rest, and the request that got the 429 waits out its
 * Retry-After on its own (see the executor).
 */
const RATE_LIMITED_SHARE = 0.8;

/** A change other replicas should hear about: the breaker opened or closed, or a cool-down started. */
export type HealthChange =
  { state: 'open' | 'closed'; until: number } | { state: 'cooling'; until: number; limited: boolean; trouble?: AccountTrouble };

/** What this replica saw of a deployment since it last told the others (BreakerRegistry shares it), or they told it. */
export interface ServedReport {
  /** When the latest attempt it served started (-Infinity: none yet). */
  servedStartedAt: number;
  answered: number;
  failed: number;
}

/**
 * Before opening on consecutive failures or the rate, which other replicas' reports may excuse or dilute: asks them for
 * their reports, and calls `heard` once those are in (or the bound passed). False: no one to ask (no Redis): open now.
 */
export type AskOthers = (heard: (now: number) => void) => boolean;

/**
 * One deployment's health, as a small state machine plus one time:
 *
 *   closed --(N consecutive failures | failure rate over the window)--> open(until)
 *   open --(until passed, next admit)--> half-open: exactly one probe ticket
 *   half-open --probe answered (a stream: its first chunk) or rate limited--> closed
 *   half-open --probe failed--> open(now + cooldownMs)
 *   half-open --probe answered with a 5xx--> half-open, slot free; open(now + cooldownMs) at the Nth such probe in a row
 *   half-open --probe ended without verdict (client gone, deadline)--> half-open, slot free
 *
 * A timeout or a 5xx is evidence against the deployment only while it has not shown itself up since: an attempt that
 * timed out or was answered with a 5xx (not a connection failure) is not counted among the consecutive failures when the deployment served (its first byte or a whole answer; not a
 * 429 nor a client error, which an overloaded deployment may give at once while it hangs the rest) an attempt that
 * started after it, and such an answer that comes later takes back the ones already counted there. It still counts in the failure rate over the window: a deployment that times out most
 * requests while answering a few is degraded, and opens on the rate. Such a deployment serves others who asked later; the slow
 * one was the request (a huge prompt, a long generation), and one tenant's slow requests would otherwise take it from
 * every tenant for the cool-down; the same for a 5xx a request's content provokes (fair31 D3). Across replicas (sharing
 * Redis) an answer another replica served excuses as well: they report what they served about once a second (`heard`), and
 * a replica about to open asks them first (`AskOthers`), so the excuse does not lag behind a
 * tenant's burst; the failure rate counts their reported outcomes with its own. A hung or failing
 * deployment serves nothing, so its timeouts and 5xx count as before; a probe is the only attempt since it opened, so its
 * failure is never excused (one answered with a 5xx lets the next request probe, see above).
 *
 * `coolUntil` (from a Retry-After) is a time, not a state: no attempt starts before it,
 * whatever the breaker says, and nothing has to happen for it to end. A 503/529's
 * Retry-After sets it at once; a 429's only while most recent answers are 429s. The probe slot is
 * held by a ticket and released in `end`, which the executor calls in a `finally`.
 */
export class DeploymentHealth {
  state: BreakerState = 'closed';
  /** When an open breaker lets a probe through. */
  openUntil = 0;
  /** No attempt starts before this (the upstream's Retry-After). */
  coolUntil = 0;
  /** The part of `coolUntil` a 429 set: only that wait is the upstream rate limiting us. */
  private limitedUntil = 0;
  /** The account trouble that cooled it down, and until when: while that is what keeps it out, a refusal says it. */
  private trouble: (AccountTrouble & { until: number }) | undefined;
  /** The probe in flight, if any: only its ticket may resolve the half-open state; aborted when it ends. */
  private probe: AbortController | undefined;
  private consecutive = 0;
  /** When the latest attempt the deployment served started: a timeout of one started before it is excused (weigh). */
  private answeredStartedAt = -Infinity;
  /** When the timeouts and 5xx among the `consecutive` failures started: an answer to a later attempt takes them back. */
  private countedExcusable: number[] = [];
  /** Outcomes not yet reported to the other replicas (`takeReport`). */
  private unreported = { answered: 0, failed: 0 };
  /** True while the other replicas are asked before opening (AskOthers): one question at a time. */
  private asking = false;
  /** Share of recent answers that were 429s (moving average). */
  private limitedShare = 0;
  /** Answers and failures over the last `windowMs`, for the failure rate. */
  private readonly window: OutcomeWindow;

  constructor(
    private readonly config: BreakerConfig,
    private readonly onChange: (change: HealthChange) => void,
    private readonly askOthers?: AskOthers,
  ) {
    this.window = new OutcomeWindow(config.windowMs);
  }

  /** True while a probe holds the half-open slot. */
  get probing(): boolean {
    return this.probe !== undefined;
  }

  /** While a probe is in flight: aborts when it ends, with a verdict or none (requests waiting for it wake then). */
  get probeEnded(): AbortSignal | undefined {
    return this.probe?.signal;
  }

  /**
   * Whether a request may wait for this deployment: it is back within `waitMs`, or a probe in flight
   * decides first (an attempt, bounded by `attemptMs`), unless a Retry-After keeps it out longer.
   */
  servesWithin(now: number, waitMs: number): boolean {
    const limit = now + waitMs;
    return this.readyAt(now) <= limit || (waitMs > 0 && this.probing && this.coolUntil <= limit);
  }

  /**
   * The state as of `now`, for the gauge: an open breaker whose cool-down is over lets the next
   * request probe (half-open), though no request has come to make it so (admit does, lazily).
   */
  stateAt(now: number): BreakerState {
    return this.state === 'open' && this.openUntil <= now ? 'half-open' : this.state;
  }

  /** The earliest time an attempt may start: `now` if one may start now; Infinity while a probe decides. */
  readyAt(now: number): number {
    const breakerAt = this.state === 'open' ? this.openUntil : this.state === 'half-open' && this.probe ? Infinity : now;
    return Math.max(now, this.coolUntil, breakerAt);
  }

  /**
   * True when every reason to wait is a 429's Retry-After (the group then answers 429 rather
   * than 503; a 503's or 529's Retry-After is an outage, not a rate limit).
   */
  rateLimited(now: number): boolean {
    return this.limitedUntil > now && this.readyAt(now) === this.limitedUntil;
  }

  /**
   * Why no attempt may start now (readyAt(now) > now), for the answer's list of skipped deployments:
   * `cooling_down` while a Retry-After is what keeps it out (a 429's, a 503's or 529's), `breaker_open`
   * while its breaker is open or a probe decides.
   */
  whyOut(now: number): 'cooling_down' | 'breaker_open' {
    return this.coolUntil >= this.readyAt(now) ? 'cooling_down' : 'breaker_open';
  }

  /**
   * The answer that said the gateway's account is refused (the `failed` verdict's `trouble`), while its cool-down is what
   * keeps the deployment out: a refusal tells the client that, not "try again shortly", which no retry would make true.
   */
  accountTrouble(now: number): AccountTrouble | undefined {
    const trouble = this.trouble;
    return trouble && trouble.until > now && this.readyAt(now) <= trouble.until ? trouble : undefined;
  }

  /** A ticket for one attempt now, or undefined when the deployment must not be asked. */
  admit(now: number): Ticket | undefined {
    if (this.readyAt(now) > now) return undefined;
    if (this.state === 'open') this.setState('half-open');
    if (this.state === 'closed') return this.ticket(undefined, now);
    const token = new AbortController();
    this.probe = token;
    return this.ticket(token, now);
  }

  /** When the latest attempt this replica saw served started (-Infinity: none): what it tells a replica that asks. */
  get servedStartedAt(): number {
    return this.answeredStartedAt;
  }

  /** The outcomes seen here since the last call, with the latest served attempt's start; undefined when there were none. */
  takeReport(): ServedReport | undefined {
    const { answered, failed } = this.unreported;
    if (!answered && !failed) return undefined;
    this.unreported = { answered: 0, failed: 0 };
    return { servedStartedAt: this.answeredStartedAt, answered, failed };
  }

  /**
   * What another replica reported: its answers excuse the timeouts and 5xx of attempts started before them, as this
   * replica's own do, and its outcomes count in the failure rate. It opens nothing by itself: the next failure here may.
   */
  heard(report: ServedReport, now: number): void {
    // Not later than now: a replica whose clock runs ahead would otherwise excuse failures still to come.
    if (report.servedStartedAt > -Infinity) this.answeredAfter(Math.min(report.servedStartedAt, now));
    if (this.state !== 'closed') return;
    this.window.record(now, false, report.answered);
    this.window.record(now, true, report.failed);
  }

  /** A state another replica announced; any local probe's outcome no longer decides. */
  applyRemote(change: HealthChange, now: number): void {
    // The end is the sender's clock's: capped at the longest this replica would wait itself (cooldownMs), so a replica
    // whose clock runs ahead cannot keep the deployment out everywhere for as long as its clock is wrong.
    const until = Math.min(change.until, now + this.config.cooldownMs);
    if (change.state === 'cooling') {
      this.coolUntil = Math.max(this.coolUntil, until);
      if (change.trouble) this.trouble = { ...change.trouble, until };
      if (change.limited) this.limitedUntil = Math.max(this.limitedUntil, until);
      return;
    }
    const probe = this.probe;
    this.probe = undefined;
    this.openUntil = change.state === 'open' ? until : 0;
    if (change.state === 'closed') this.reset();
    this.setState(change.state);
    probe?.abort();
  }

  /** `startedAt`: when the attempt starts, to weigh its timeout against the answers to attempts started after it. */
  private ticket(token: AbortController | undefined, startedAt: number): Ticket {
    let ended = false;
    const releaseProbe = () => {
      const wasProbe = token !== undefined && this.probe === token;
      if (wasProbe) this.probe = undefined;
      return wasProbe;
    };
    return {
      probe: token !== undefined,
      started: () => {
        if (ended) return;
        this.answeredAfter(startedAt);
        const wasProbe = releaseProbe();
        if (this.state !== 'closed') this.close();
        // Requests waiting for the probe's verdict wake once it is in the state.
        if (wasProbe) token?.abort();
      },
      end: (verdict, now) => {
        if (ended) return;
        ended = true;
        const wasProbe = releaseProbe();
        this.settle(this.weigh(verdict, startedAt), now, wasProbe);
        if (wasProbe) token?.abort();
      },
    };
  }

  /** The verdict as evidence: an answer shows the deployment up as of its attempt's start; a timeout or 5xx before then is none. */
  private weigh(verdict: Verdict, startedAt: number): Evidence {
    // Only a request served shows the deployment serves: a 429 or a client error can come at once from a
    // deployment that hangs every request it takes on (an overloaded one answers 429 to the rest), and one
    // tenant's invalid requests would keep it in for everyone (recheck30 D1).
    if (verdict.kind === 'answered' && !verdict.judged) this.answeredAfter(startedAt);
    if (verdict.kind !== 'failed' || !(verdict.timedOut || verdict.errorAnswer)) return verdict;
    // The same request's 5xx again is no new evidence: counted, one tenant's failing prompts counted twice each, opening
    // it in a burst of retries no other tenant's answer could come between (a deployment failing every request opens on
    // their first attempts). Its Retry-After still counts.
    if (verdict.errorAnswer && verdict.repeat) return { kind: 'excused-failure', retryAfterMs: verdict.retryAfterMs, repeat: true };
    // An answer to an attempt started at the same time shows it up as well: a burst woken at once (a probe's end).
    if (this.answeredStartedAt >= startedAt) return { kind: 'excused-failure', retryAfterMs: verdict.retryAfterMs };
    this.countedExcusable.push(startedAt);
    return verdict;
  }

  /**
   * The deployment answered an attempt that started at `startedAt` (its first byte, or a whole answer): the timeouts
   * and 5xx already counted of attempts started before it no longer count towards the consecutive failures (a stream's first
   * byte ends no run of failures as an answer does, and the answer may come after their verdicts).
   */
  private answeredAfter(startedAt: number): void {
    this.answeredStartedAt = Math.max(this.answeredStartedAt, startedAt);
    const kept = this.countedExcusable.filter((t) => t > startedAt);
    this.consecutive -= this.countedExcusable.length - kept.length;
    this.countedExcusable = kept;
  }

  private settle(verdict: Evidence, now: number, wasProbe: boolean): void {
    switch (verdict.kind) {
      case 'answered':
        this.record(now, false);
        this.consecutive = 0;
        this.countedExcusable = [];
        this.limitedShare *= 1 - RATE_LIMIT_ALPHA;
        if (this.state !== 'closed') this.close();
        return;
      case 'rate-limited':
        this.limitedShare += RATE_LIMIT_ALPHA * (1 - this.limitedShare);
        if (wasProbe || this.limitedShare >= RATE_LIMITED_SHARE) this.coolDown(now, verdict.retryAfterMs, true);
        if (wasProbe) this.close();
        return;
      case 'failed': {
        if (verdict.retryAfterMs) this.coolDown(now, verdict.retryAfterMs, false, verdict.trouble);
        this.record(now, true);
        this.consecutive++;
        // A probe answered with a 5xx may have been one tenant's request the vendor fails on, and that tenant, sending
        // them steadily, would win the probe each cool-down (fair31 D3): the next request probes, one at a time, until
        // consecutiveFailures probes in a row failed so. A timeout still reopens at once: a hung probe costs attemptMs.
        const probeFails = wasProbe && (!verdict.errorAnswer || this.consecutive >= this.config.consecutiveFailures);
        if (probeFails) this.open(now + this.config.cooldownMs);
        else if (this.tripped(now)) this.openUnlessServedElsewhere(now);
        return;
      }
      case 'excused-failure':
        if (verdict.retryAfterMs) this.coolDown(now, verdict.retryAfterMs, false);
        if (verdict.repeat) return;
        this.record(now, true);
        if (wasProbe) this.open(now + this.config.cooldownMs);
        else if (this.state === 'closed' && this.rateTripped(now)) this.openUnlessServedElsewhere(now);
        return;
      case 'no-verdict':
        return;
    }
  }

  private record(now: number, failed: boolean): void {
    this.window.record(now, failed);
    if (failed) this.unreported.failed++;
    else this.unreported.answered++;
  }

  /** Closed, with consecutive failures or the failure rate enough to open it. */
  private tripped(now: number): boolean {
    return this.state === 'closed' && (this.consecutive >= this.config.consecutiveFailures || this.rateTripped(now));
  }

  /**
   * Tripped: open, unless the other replicas' reports keep it closed, their answers excusing the timeouts and 5xx among
   * the consecutive failures, their outcomes lowering the failure rate (reports come once a second; they are asked for
   * fresh ones first, one question at a time, while the failures here go on counting). With no one to ask, or with
   * failures no answer excuses (connection failures) enough by themselves, it opens now.
   */
  private openUnlessServedElsewhere(now: number): void {
    if (this.asking) return;
    const unexcusable = this.consecutive - this.countedExcusable.length >= this.config.consecutiveFailures;
    this.asking = !unexcusable && this.askOthers !== undefined && this.askOthers((later) => this.reconsider(later));
    if (!this.asking) this.open(now + this.config.cooldownMs);
  }

  /** The other replicas' reports are in (heard), or the bound passed: still tripped, it opens. */
  private reconsider(now: number): void {
    this.asking = false;
    if (this.tripped(now)) this.open(now + this.config.cooldownMs);
  }

  /** The share of failures over the window has reached the breaker's `failureRate` (on at least `minRequests`). */
  private rateTripped(now: number): boolean {
    const { total, failures } = this.window.counts(now);
    return total >= this.config.minRequests && failures / total >= this.config.failureRate;
  }

  /**
   * Retry-After, capped at the breaker's cool-down so no upstream can park a deployment for long. `trouble`: the
   * account trouble it is for, kept for refusals and announced with it.
   */
  private coolDown(now: number, retryAfterMs: number, limited: boolean, trouble?: AccountTrouble): void {
    const until = now + Math.min(retryAfterMs, this.config.cooldownMs);
    if (limited) this.limitedUntil = Math.max(this.limitedUntil, until);
    if (until <= this.coolUntil) return;
    const fresh = this.coolUntil <= now;
    this.coolUntil = until;
    if (trouble) this.trouble = { ...trouble, until };
    // Announce a new cool-down, not every extension of one (a storm of 429s stays one message a second), and one
    // for account trouble, whose cause the other replicas tell their clients.
    if (fresh || trouble) this.onChange({ state: 'cooling', until, limited, ...(trouble && { trouble }) });
  }

  private open(until: number): void {
    this.reset();
    this.openUntil = until;
    this.setState('open');
    this.onChange({ state: 'open', until });
  }

  private close(): void {
    this.reset();
    this.openUntil = 0;
    this.setState('closed');
    this.onChange({ state: 'closed', until: 0 });
  }

  private reset(): void {
    this.window.clear();
    this.consecutive = 0;
    this.countedExcusable = [];
  }

  private setState(state: BreakerState): void {
    this.state = state;
  }
}
