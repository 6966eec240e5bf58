import { randomBytes } from 'node:crypto';
import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { type BudgetPeriod, GatewayConfig } from '@gateway/config';
import { MetricsService, SpendService, utcDay, utcMonth } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import { RedisService, type Subscription } from '@gateway/redis';
import {
  type AdmissionStore,
  type AdmitInput,
  type AdmitOutcome,
  type LeaseTicket,
  MemoryAdmissionStore,
  RedisAdmissionStore,
} from './admission-store';
import type { KeyRecord } from './key-record';
import { LeasedAdmissionStore } from './lease-store';
import { KnownSpend } from './known-spend';
import { SpendLedger } from './spend-ledger';
import { SpendRecovery } from './spend-recovery';
import { OPENAI_RATE_HEADERS, type RateHeaderDialect, rateHeaders, utcSecond } from './rate-headers';
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from './window-counter';

const MINUTE = 60_000;
/** The wait a 429 names when only reservations of requests in flight are in the way: they free up as those settle. */
const IN_FLIGHT_RETRY_MS = 1_000;
/**
 * A hold a replica's lease syncs renew (once a lease period) that was not renewed for this many periods
 * is a stopped replica's: a refusal says when it lapses instead of "retry shortly".
 */
const STOPPED_AFTER_LEASES = 3;
/** Warnings about Redis failing are logged at most this often. */
const WARN_EVERY_MS = 10_000;
/**
 * A budget hold not settled after this long is released by the next admission and
 * charged as spent at its worst case: the replica that made it died. It must outlast any
 * request (a live request's hold that lapsed would be charged twice, at the lapse and when it
 * settles): 15 minutes, or a minute more than the router lets a request (deadlineMs) or a stream (streamMs)
 * run when that is longer.
 */
export function holdLapseMs(config: GatewayConfig): number {
  const { deadlineMs, streamMs } = config.router.timeouts;
  return Math.max(15 * MINUTE, deadlineMs + MINUTE, streamMs + MINUTE);
}
/** Where a replica is asked to write a key's spend now: `<key id> <reply set>`. */
const FLUSH_CHANNEL = 'gateway:limits:flush';
/**
 * How long a change of a key's budget waits for every replica to write the key's spend. One lease
 * call each, milliseconds; a replica that does not answer in time (Redis trouble) writes it at its next sync.
 */
export const FLUSH_WAIT_MS = 1_000;
const FLUSH_POLL_MS = 5;

/** Blocked addresses remembered in process; the oldest is forgotten first (the Redis count still holds). */
const MAX_BLOCKED_IPS = 10_000;

export type LimitKind = 'rpm' | 'tpm' | 'budget' | 'ip';

/** Where an authentication failed: each counts its failures per IP apart (see failedAuth). */
export type AuthPlane = 'v1' | 'admin';

/** What a request holds against its key until it ends (see settle). */
export interface Reservation {
  keyId: string;
  /** Tokens reserved against the TPM window, when the key has one. */
  tokens?: number;
  /** The end of the TPM window they were reserved in (AdmitOutcome.tpmEnd). */
  tpmEnd?: number;
  /** USD held against the budget, when the key has one. */
  hold?: { member: string; usd: number };
  /** Set when admitted from this replica's lease. */
  ticket?: LeaseTicket;
  /** Set when admitted by this replica's own windows while Redis failed (see `outage`). */
  local?: boolean;
  /** The admitted demand's `outputCaps`: sent upstream as the request's limit. */
  outputCaps?: ReadonlyMap<string, number>;
}

/** What a finished request used; undefined when no upstream answered. */
export interface Usage {
  model: string;
  tokens: number;
  usd: number;
}

/** What an admission holds, and the rate-limit headers for the answer. */
export interface Admitted {
  reservation: Reservation;
  headers: Record<string, string>;
}

/** One admission's request and the figures made for it, for its outcome's reading (admitWithin). */
interface Admission {
  key: KeyRecord;
  demand: Demand;
  limits: { rpm: number | undefined; tpm: number | undefined; budget: KeyRecord['budget'] };
  dialect: RateHeaderDialect;
  now: number;
  hold: Reservation['hold'];
  period: string | undefined;
  /** The request's demand sized anew from what is left (LimitsService.admit); unset once tried MAX_RESIZINGS times. */
  resize?: (left: LimitsLeft) => Demand;
  /** How many more times it may be sized anew. */
  resizings: number;
}

/**
 * How many times a request sized from what is left is sized anew (resized), each time smaller: more than once, as
 * what is left may shrink between two answers of Redis (a request in flight when it was first refused settles before
 * the second call, and the resized request no longer fits what it used: recheck33a D1, a minute's wait for a
 * request that fitted the window).
 */
const MAX_RESIZINGS = 3;

/**
 * What is left of a key's limits, as a request that did not bound its output is sized by (AdmissionService): the
 * budget's USD and the TPM window's tokens that neither finished requests used nor a stopped replica holds (the
 * holds and reservations of requests in flight come back); undefined: no such limit.
 */
export interface LimitsLeft {
  usd?: number;
  tokens?: number;
}

/** The worst case of one request, reserved before any upstream call. */
export interface Demand {
  tokens: number;
  usd: number;
  /** Web searches `usd` holds the price of (RequestProfile.webSearches), named when it is too much. */
  webSearches?: number;
  /**
   * The request's own fields that bound its completion, as its API names them (`max_output_tokens`
   * on the Responses API; `or n` when it asks for several choices), named in a refusal. Unset: `max_tokens`.
   */
  levers?: string;
  /**
   * By deployment id, the output per choice `tokens` and `usd` cover for a request that set no limit of its own,
   * when less than the deployment's default (AdmissionService: what the key's budget and TPM left pay for).
   */
  outputCaps?: ReadonlyMap<string, number>;
}

/**
 * RPM, TPM and budget for gateway keys, and the per-IP limit on failed
 * authentication. A busy key far from its limits is admitted from a slice of
 * them leased by this replica (lease-store.ts); otherwise one Redis round trip
 * admits a request (all three limits at once) and one settles it, shared by the
 * requests of one event-loop turn. Without Redis the same rules hold in process.
 * On a Redis outage each kind fails open or closed as configured; RPM and TPM failing open, and failed
 * authentications, are held by this replica alone meanwhile.
 */
@Injectable()
export class LimitsService implements OnModuleInit, BeforeApplicationShutdown {
  /** Failed authentications per IP, and the current-minute figures of the usage report. */
  readonly counter: WindowCounter;
  private readonly store: AdmissionStore;
  private readonly logger = new Logger('Limits');
  private lastWarning = 0;
  /** Prefix of hold ids: unique per process, so replicas never collide. */
  private readonly holdPrefix = randomBytes(6).toString('hex');
  private readonly holdLapse: number;
  /** STOPPED_AFTER_LEASES lease periods; 0 without leases (no hold is renewed then). */
  private readonly stoppedAfterMs: number;
  private holdSeq = 0;
  /** Addresses over the failed-authentication limit, until their window ends. */
  private readonly blockedIps = new Map<string, number>();
  private flushSubscriber: Subscription | undefined;
  /** Without Redis: the spend itself, kept by the in-process store. */
  private readonly inProcessSpend: SpendLedger | undefined;
  /** Each budgeted key's spend as this replica knows it, for a Redis outage (see KnownSpend). */
  private readonly knownSpend = new KnownSpend();
  /**
   * RPM and TPM failing open, and failed authentications, while Redis fails (down, frozen, a Redis Cluster slot
   * migrating): held by this replica alone, in windows that start at its first failed admission of the key (or
   * failure of the address), so each gets at most its limit from each replica instead of no limit at all.
   */
  private readonly outageWindows = new MemoryWindowCounter();
  private readonly outage = new MemoryAdmissionStore(this.outageWindows);

  constructor(
    private readonly config: GatewayConfig,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    private readonly spend: SpendService,
  ) {
    this.holdLapse = holdLapseMs(config);
    this.stoppedAfterMs = STOPPED_AFTER_LEASES * config.security.limitLeaseMs;
    if (redis.client) {
      this.counter = new RedisWindowCounter(redis.client);
      const ledger = new SpendLedger();
      const recovery = new SpendRecovery(redis.client, ledger, this.holdPrefix, (restored) => {
        this.metrics.recordSpendRestore();
        this.logger.warn(
          `Redis lost its data (restarted empty): re-added the spend this replica recorded this period, $${usd(restored.usd)} of ${restored.keys} key(s)` +
            `${restored.failed ? `, ${restored.failed} key(s) not restored (Redis did not take it)` : ''}; spend other replicas recorded they re-add themselves, that of replicas restarted since is lost`,
        );
      });
      const exact = new RedisAdmissionStore(redis.client, ledger, recovery);
      const leaseMs = config.security.limitLeaseMs;
      const leased =
        leaseMs > 0 &&
        new LeasedAdmissionStore(redis.client, exact, {
          replica: this.holdPrefix,
          leaseMs,
          holdLapseMs: this.holdLapse,
          ledger,
          gate: recovery,
          leasing: () => this.flushSubscriber?.live === true,
        });
      if (leased) metrics.observeLeasedKeys(() => leased.keysHeld());
      this.store = leased || exact;
    } else {
      const windows = new MemoryWindowCounter();
      this.counter = windows;
      const store = new MemoryAdmissionStore(windows);
      this.inProcessSpend = store.spend;
      this.store = store;
    }
  }

  /**
   * Spend of one key in a day or month, by model plus `_total`, for the usage report: the figures
   * its budget is checked against, to 1e-10 USD as x-gateway-cost-usd is written, so the float
   * noise of their sums (0.6960000000000002) does not show. Budgets use the sums as kept.
   */
  async spendByModel(keyId: string, period: string): Promise<Record<string, number>> {
    const spend = this.inProcessSpend ? this.inProcessSpend.byModel(keyId, period) : await this.spend.byModel(keyId, period);
    for (const model in spend) spend[model] = Number(spend[model].toFixed(10));
    return spend;
  }

  /**
   * Counts the request against the key's RPM, reserves its tokens against the TPM
   * and holds its worst-case cost against the budget, atomically; 429 when any
   * would pass its limit (nothing is counted then). Returns what to settle and
   * the rate-limit headers for the answer, the key's RPM and TPM named in `dialect`. `resize`: for a request
   * sized from limitsLeft, its demand from other figures of what is left (see resized).
   */
  admit(key: KeyRecord, demand: Demand, dialect: RateHeaderDialect, resize?: (left: LimitsLeft) => Demand): Admitted | Promise<Admitted> {
    const { rpm, tpm } = this.limitsOf(key);
    return this.admitWithin(key, demand, { rpm, tpm, budget: key.budget }, dialect, resize);
  }

  /**
   * What is left of `key`'s limits as this replica knows it without asking Redis: of the budget this period, the
   * spend Redis last reported plus its own since (a lower bound of the spend, so at most what is left); of the TPM,
   * the whole limit (the window's use is not known here: a refusal reports it, see resized).
   */
  limitsLeft(key: KeyRecord): LimitsLeft {
    const usd = key.budget && Math.max(0, key.budget.usd - this.knownSpend.of(key.id, periodOf(key.budget.period)));
    return { usd, tokens: this.limitsOf(key).tpm };
  }

  /** The RPM and TPM `key` is held to: its own, else the configured defaults (undefined: none). */
  limitsOf(key: KeyRecord): { rpm: number | undefined; tpm: number | undefined } {
    const { defaultRpm, defaultTpm } = this.config.security;
    return { rpm: key.rpm ?? defaultRpm, tpm: key.tpm ?? defaultTpm };
  }

  /**
   * A request that uses no tokens and costs nothing (a token count), counted against the
   * key's RPM alone: a TPM or budget check would only refuse it for what others used.
   */
  admitFree(key: KeyRecord, dialect: RateHeaderDialect): Admitted | Promise<Admitted> {
    return this.admitWithin(key, { tokens: 0, usd: 0 }, { rpm: this.limitsOf(key).rpm, tpm: undefined, budget: undefined }, dialect);
  }

  /**
   * Admitted at once when the store can decide without Redis (a lease's share: AdmissionStore.admitNow),
   * else once the store answers: no promise and no tick on the request path for what is decided in process.
   */
  private admitWithin(
    key: KeyRecord,
    demand: Demand,
    limits: { rpm: number | undefined; tpm: number | undefined; budget: KeyRecord['budget'] },
    dialect: RateHeaderDialect,
    resize?: Admission['resize'],
    resizings = MAX_RESIZINGS,
  ): Admitted | Promise<Admitted> {
    const { rpm, tpm, budget } = limits;
    if (rpm === undefined && tpm === undefined && !budget) return { reservation: { keyId: key.id }, headers: {} };
    const now = Date.now();
    const hold = budget && { member: `${this.holdPrefix}-${++this.holdSeq}:${demand.usd}`, usd: demand.usd };
    const period = budget && periodOf(budget.period);
    const input: AdmitInput = {
      keyId: key.id,
      windowMs: MINUTE,
      rpm,
      tpm,
      tokens: demand.tokens,
      budget: budget && {
        usd: budget.usd,
        period: period!,
        reserveUsd: demand.usd,
        member: hold!.member,
        now,
        until: now + this.holdLapse,
        spentAtLeast: this.knownSpend.reportedOf(key.id, period!),
        stoppedBefore: this.stoppedAfterMs && now + this.holdLapse - this.stoppedAfterMs,
      },
    };
    const decided = this.store.admitNow?.(input);
    const admission = { key, demand, limits, dialect, now, hold, period, resize: resizings > 0 ? resize : undefined, resizings };
    if (decided) return this.admitted(admission, decided, false);
    return this.store.admit(input).then(
      (outcome) => this.admitted(admission, outcome, false),
      (error: Error) => this.storeFailed(admission, error),
    );
  }

  /**
   * The store could not be asked (Redis failing, for `cause`): the fail-open policy decides, and RPM and TPM
   * failing open are held by this replica's own windows (`outage`).
   */
  private storeFailed(admission: Admission, cause: Error): Admitted | Promise<Admitted> {
    const {
      key,
      demand,
      limits: { rpm, tpm, budget },
      now,
      period,
    } = admission;
    const closed = (budget && !this.config.security.failOpen.budgets) || ((rpm || tpm) && !this.config.security.failOpen.rateLimits);
    if (rpm !== undefined) this.unavailable('rpm', cause);
    if (tpm !== undefined) this.unavailable('tpm', cause);
    if (budget) this.unavailable('budget', cause);
    // What this replica knows is over budget stays refused, failing open or closed: the spend it
    // knows is a lower bound of the key's (holds of requests in flight unknown, taken as none).
    const knownUsd = budget ? this.knownSpend.of(key.id, period!) : 0;
    if (budget && knownUsd + demand.usd > budget.usd) throw this.overBudget(budget, demand, { spentUsd: knownUsd, heldUsd: 0 }, {}, now);
    if (closed) throw storeUnavailable();
    if (rpm === undefined && tpm === undefined) return { reservation: { keyId: key.id }, headers: {} };
    return this.outage
      .admit({ keyId: key.id, windowMs: MINUTE, rpm, tpm, tokens: demand.tokens })
      .then((outcome) => this.admitted(admission, outcome, true));
  }

  /**
   * The store's answer (`local`: this replica's outage windows'): the rate-limit headers, and the reservation or the
   * refusal; or, for a request sized anew (resized), the answer to that.
   */
  private admitted(admission: Admission, outcome: AdmitOutcome, local: boolean): Admitted | Promise<Admitted> {
    const {
      key,
      demand,
      limits: { rpm, tpm, budget },
      dialect,
      now,
      hold,
      period,
    } = admission;
    const reservation: Reservation = { keyId: key.id };
    if (local) reservation.local = true;
    if (budget && !local) this.knownSpend.reported(key.id, period!, outcome.spentUsd);
    const resized = !local && this.resized(admission, outcome);
    if (resized) return this.admitWithin(key, resized, admission.limits, dialect, admission.resize, admission.resizings - 1);
    const headers: Record<string, string> = {};
    // Refused by TPM while settled use leaves room for this request: requests in flight (and other
    // replicas' leases) hold the rest, which comes back as they settle, not only at the window's end.
    // Tokens leased by a replica that stopped are in flight too, but come back only when the window ends.
    const settledTokens = outcome.tpm.used - (outcome.tpm.inFlight ?? 0);
    const stoppedTokens = outcome.tpm.stopped ?? 0;
    const inFlightInTheWay = outcome.refused === 'tpm' && settledTokens + stoppedTokens + demand.tokens <= tpm!;
    const stoppedInTheWay = outcome.refused === 'tpm' && !inFlightInTheWay && settledTokens + demand.tokens <= tpm!;
    const tpmResetMs = inFlightInTheWay ? Math.min(IN_FLIGHT_RETRY_MS, outcome.tpm.resetMs) : outcome.tpm.resetMs;
    if (rpm !== undefined) rateHeaders(headers, dialect, 'requests', rpm, rpm - outcome.rpm.used, outcome.rpm.resetMs, now);
    if (tpm !== undefined) rateHeaders(headers, dialect, 'tokens', tpm, tpm - outcome.tpm.used, tpmResetMs, now);
    if (outcome.refused === 'rpm')
      throw this.limited('rpm', `Rate limit reached for requests: ${rpm} per minute.`, headers, outcome.rpm.resetMs);
    if (outcome.refused === 'tpm') {
      if (demand.tokens > tpm!) throw this.tooLargeForTpm(demand, tpm!, headers);
      const message = inFlightInTheWay
        ? `Requests in flight reserve ${outcome.tpm.used - settledTokens} of this key's ${tpm} tokens per minute (${settledTokens} used by finished requests${stoppedTokens ? `; ${stoppedTokens} of them leased by a gateway replica that stopped, back when the window ends in ${Math.ceil(outcome.tpm.resetMs / 1000)} s` : ''}); this one needs up to ${demand.tokens}. Retry shortly.`
        : stoppedInTheWay
          ? `A gateway replica that stopped leased ${stoppedTokens} of this key's ${tpm} tokens per minute and did not give them back (requests in flight reserve ${outcome.tpm.used - settledTokens - stoppedTokens}, finished ones used ${settledTokens}); this one needs up to ${demand.tokens}. They come back when the window ends, in ${Math.ceil(tpmResetMs / 1000)} s.`
          : `Rate limit reached for tokens: ${tpm} per minute.`;
      throw this.limited('tpm', message, headers, tpmResetMs);
    }
    if (outcome.refused === 'budget') throw this.overBudget(budget!, demand, outcome, headers, now);
    if (tpm !== undefined) {
      reservation.tokens = demand.tokens;
      reservation.tpmEnd = outcome.tpmEnd;
    }
    if (hold && !local) reservation.hold = hold;
    if (outcome.ticket) {
      reservation.ticket = outcome.ticket;
      this.metrics.recordLeasedAdmission();
    }
    if (demand.outputCaps) reservation.outputCaps = demand.outputCaps;
    return { reservation, headers };
  }

  /**
   * A request that did not bound its output is sized from what this replica knows is left (limitsLeft): a view
   * that lags other replicas' spend, and the whole TPM whatever the window used. Refused by the budget or the TPM,
   * it is sized once more from what Redis reported with the refusal, when that makes it smaller: its reserve was the
   * gateway's choice, and a smaller one may fit now. Else a replica with a stale view told such a request "not before
   * the budget resets" (x-should-retry: false, hours) with budget left for a shorter answer (race33 D2), and a key
   * whose TPM is below the deployment's maxOutputTokens got one such request a window, not one at a time (D3).
   * Refused again, it is sized anew while that makes it smaller (MAX_RESIZINGS times at most); the last refusal is the
   * resized request's: "retry shortly" while only requests in flight are in the way.
   */
  private resized({ demand, resize, limits: { tpm, budget } }: Admission, outcome: AdmitOutcome): Demand | undefined {
    if (!resize || (outcome.refused !== 'budget' && outcome.refused !== 'tpm')) return undefined;
    const settledTokens = outcome.tpm.used - (outcome.tpm.inFlight ?? 0);
    const again = resize({
      usd: budget && Math.max(0, budget.usd - outcome.spentUsd - (outcome.stopped?.usd ?? 0)),
      tokens: tpm === undefined ? undefined : Math.max(0, tpm - settledTokens - (outcome.tpm.stopped ?? 0)),
    });
    return again.usd < demand.usd || again.tokens < demand.tokens ? again : undefined;
  }

  /**
   * Gives back what the request did not use: the TPM window keeps its actual
   * tokens, its budget hold becomes its actual cost, added to the key's spend.
   * Off the request path: while Redis is disconnected the store keeps it until
   * Redis is back; a failure loses the figures (the hold is charged at its worst
   * case when it lapses), not the answer.
   */
  settle(reservation: Reservation, usage: Usage | undefined): void {
    // A lease's ticket (its place in flight) goes back even when nothing else does (a key with an RPM alone).
    if (!usage && reservation.tokens === undefined && !reservation.hold && !reservation.ticket) return;
    const tokenDelta = reservation.tokens !== undefined ? (usage?.tokens ?? 0) - reservation.tokens : undefined;
    if (usage) this.knownSpend.spent(reservation.keyId, usage.usd);
    const spend = usage && { model: usage.model, usd: usage.usd };
    if (reservation.local) {
      // Tokens counted by this replica's outage windows go back there; the spend still goes to Redis.
      void this.outage.settle({ keyId: reservation.keyId, tokenDelta, tokens: reservation.tokens, tpmEnd: reservation.tpmEnd });
      if (spend) this.store.settle({ keyId: reservation.keyId, spend }).catch(this.settlementLost);
      return;
    }
    const settlement = {
      keyId: reservation.keyId,
      tokenDelta,
      tokens: reservation.tokens,
      tpmEnd: reservation.tpmEnd,
      spend,
      hold: reservation.hold,
      ticket: reservation.ticket,
    };
    if (this.store.settleNow?.(settlement)) return;
    this.store.settle(settlement).catch(this.settlementLost);
  }

  /**
   * Spend of a request beyond its answer (its semantic cache lookup's embedding call): written to the
   * key's spend as a settlement's is, with nothing reserved or held for it.
   */
  charge(keyId: string, usage: Usage): void {
    if (!(usage.usd > 0)) return;
    this.knownSpend.spent(keyId, usage.usd);
    this.store
      .settle({ keyId, spend: { model: usage.model, usd: usage.usd } })
      .catch((error: Error) => this.warn(`A charge of key ${keyId} did not reach Redis (${error.message}): it is not in its spend`));
  }

  private readonly settlementLost = (error: Error): void =>
    this.warn(`A settlement did not reach Redis (${error.message}): its hold is charged at its worst case when it lapses`);

  /** Leased limits go back to Redis before it disconnects. */
  async beforeApplicationShutdown(): Promise<void> {
    this.flushSubscriber?.close();
    await this.store.close?.();
  }

  onModuleInit(): void {
    if (!this.store.writeOwed) return;
    const writeOwed = this.store.writeOwed.bind(this.store);
    this.flushSubscriber = this.redis.subscribe(FLUSH_CHANNEL, {
      onMessage: (message) => {
        const [keyId, replies] = message.split(' ');
        // Not written (Redis failing): no acknowledgement; the change's wait runs out and says so.
        writeOwed(keyId)
          .then(() =>
            this.redis
              .client!.multi()
              .sadd(replies, this.holdPrefix)
              .pexpire(replies, 10 * FLUSH_WAIT_MS)
              .exec(),
          )
          .catch((error: Error) => this.warn(`The spend of key ${keyId} was not written when asked (${error.message})`));
      },
      // Subscribed again after a loss: a budget set meanwhile asked for this replica's spend unheard, so all it owes goes now.
      onSubscribed: () =>
        void writeOwed().catch((error: Error) => this.warn(`The spend owed was not written on re-subscribing (${error.message})`)),
      // Lost: no lease is used until subscribed again (LeaseOptions.leasing), and those held go back now with the
      // spend owed. Redis gone too: they go back at their next sync, which fails until it is back.
      onLost: () => void writeOwed().catch(() => undefined),
    });
  }

  /**
   * Every replica writes the spend it summed in process for `keyId` (requests of a key without a
   * budget, written a lease period later) before this resolves, or FLUSH_WAIT_MS passes (false):
   * a budget set on a key that just spent is then checked against all of it on every replica.
   * PUBLISH says how many replicas heard the request; each adds itself to a reply set once written.
   */
  async flushEverywhere(keyId: string): Promise<boolean> {
    const client = this.redis.client;
    if (!client || !this.store.writeOwed) return true;
    const replies = `gateway:limits:flushed:{${keyId}}:${randomBytes(6).toString('hex')}`;
    const { receivers } = await this.redis.publishToAll(FLUSH_CHANNEL, `${keyId} ${replies}`);
    const deadline = Date.now() + FLUSH_WAIT_MS;
    for (;;) {
      if ((await client.scard(replies)) >= receivers) return true;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, FLUSH_POLL_MS));
    }
    this.logger.warn(
      `Key ${keyId}: ${receivers - (await client.scard(replies))} of ${receivers} replicas did not write its spend within ${FLUSH_WAIT_MS} ms`,
    );
    return false;
  }

  /**
   * 429 when `ip` is blocked for failing admin authentication too often, before any key
   * is checked, so a blocked address learns nothing from its guesses. The admin API
   * uses it (operators only); /v1 does not, so one client's bad key cannot lock out
   * every client behind the same NAT. Blocks are known in process (no Redis call),
   * learnt by each replica at its first admin failure past the limit.
   */
  checkBlocked(ip: string): void {
    const until = this.blockedIps.get(ip);
    if (until === undefined) return;
    const left = until - Date.now();
    if (left > 0) throw this.ipLimited(0, left);
    this.blockedIps.delete(ip);
  }

  /**
   * Counts a failed authentication from `ip` on `plane`; 429 once the IP has failed too often there
   * (and on the admin API, a block). Each plane counts apart, to the same limit: failed /v1 keys
   * (a client behind the operator's NAT or sidecar) must not lock the operator out of the admin API.
   */
  async failedAuth(ip: string, plane: AuthPlane): Promise<void> {
    const limit = this.config.security.ipFailuresPerMinute;
    if (!limit) return;
    const key = `gateway:authfail:${plane}:{${ip}}`;
    let result;
    try {
      result = await this.counter.add(key, 1, limit, MINUTE);
    } catch (error) {
      this.unavailable('ip', error as Error);
      // Held by this replica alone meanwhile, as RPM and TPM are: without it, a Redis outage let an address guess
      // keys (the master key on the admin API, which needs no Redis to check) without limit.
      result = await this.outageWindows.add(key, 1, limit, MINUTE);
    }
    if (result.ok) return;
    if (plane === 'v1') throw this.ipLimited(result.used, result.resetMs);
    if (this.blockedIps.size >= MAX_BLOCKED_IPS) this.blockedIps.delete(this.blockedIps.keys().next().value!);
    this.blockedIps.set(ip, Date.now() + result.resetMs);
    throw this.ipLimited(result.used, result.resetMs);
  }

  private ipLimited(used: number, resetMs: number): GatewayError {
    const limit = this.config.security.ipFailuresPerMinute;
    const headers = rateHeaders({}, OPENAI_RATE_HEADERS, 'auth-failures', limit, limit - Math.max(used, limit), resetMs, Date.now());
    return this.limited('ip', 'Too many failed authentication attempts from this address.', headers, resetMs);
  }

  /**
   * 429 over budget, with Retry-After when waiting helps: a second while only the holds of
   * requests in flight are in the way, until the period resets (UTC) once what is left is less
   * than the request's worst case (the message then says whether a cheaper request may pass now),
   * and none for a request dearer than the whole budget, which no period admits. Holds of a replica
   * that stopped (AdmitOutcome.stopped) do not come back: they are charged as spent when they lapse,
   * so when they alone are in the way the request waits for the period's reset too, and is told so.
   */
  private overBudget(
    budget: NonNullable<KeyRecord['budget']>,
    { usd: reserveUsd, webSearches, levers = 'max_tokens' }: Demand,
    outcome: Pick<AdmitOutcome, 'spentUsd' | 'heldUsd' | 'stopped'>,
    headers: Record<string, string>,
    now: number,
  ): GatewayError {
    this.metrics.recordRateLimited('budget');
    const { period, usd: limit } = budget;
    const periodEnd = msUntilPeriodEnd(period, new Date(now));
    rateHeaders(headers, OPENAI_RATE_HEADERS, 'budget', limit, limit - outcome.spentUsd, periodEnd, now, usd);
    const stopped = outcome.stopped;
    if (stopped && outcome.spentUsd + stopped.usd + reserveUsd > limit) {
      const seconds = Math.ceil(periodEnd / 1000);
      headers['retry-after'] = String(seconds);
      const message = `Holds of a gateway replica that stopped ($${usd(stopped.usd)}, not renewed for ${STOPPED_AFTER_LEASES} lease periods) are part of the $${usd(outcome.heldUsd)} held of the $${usd(limit - outcome.spentUsd)} left of this key's ${period} budget of $${limit}; this one could cost up to $${usd(reserveUsd)}. The stopped replica's holds lapse at ${utcSecond(stopped.lapseAt)} and are then charged as spent (its requests may have been served): not before the budget resets at ${utcSecond(now + periodEnd)} (in ${seconds} s), unless a cheaper request fits now.`;
      return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, headers);
    }
    if (outcome.spentUsd + reserveUsd <= limit) {
      headers['retry-after'] = '1';
      const message = `Requests in flight hold $${usd(outcome.heldUsd)} of the $${usd(limit - outcome.spentUsd)} left of this key's ${period} budget of $${limit}; this one could cost up to $${usd(reserveUsd)}. Retry shortly.`;
      return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, headers);
    }
    if (reserveUsd > limit) {
      const message = `This request could cost up to $${usd(reserveUsd)}, more than the key's ${period} budget of $${limit}; lower ${levers}${webSearches ? " or the web search tool's max_uses" : ''}.`;
      return new GatewayError(429, message, 'insufficient_quota', 'insufficient_quota', null, headers);
    }
    const seconds = Math.ceil(periodEnd / 1000);
    headers['retry-after'] = String(seconds);
    const left = limit - outcome.spentUsd;
    // Not spent yet: this request would not fit before the reset, a cheaper one may now.
    const message =
      left > 0
        ? `This request could cost up to $${usd(reserveUsd)}, more than the $${usd(left)} left of this key's ${period} budget of $${limit} ($${usd(outcome.spentUsd)} spent): lower ${levers}${webSearches ? " or the web search tool's max_uses" : ''} and it may be admitted now; as it is, not before the budget resets at ${utcSecond(now + periodEnd)} (in ${seconds} s).`
        : `This key has used its ${period} budget of $${limit} ($${usd(outcome.spentUsd)} spent, this request could cost up to $${usd(reserveUsd)}); it resets at ${utcSecond(now + periodEnd)} (in ${seconds} s).`;
    return new GatewayError(429, message, 'insufficient_quota', 'insufficient_quota', null, headers);
  }

  /**
   * A request that alone needs more tokens than the key's TPM: no window ever admits it, so no
   * Retry-After, and a code retry-advice.ts marks permanent (`x-should-retry: false`).
   */
  private tooLargeForTpm({ tokens, levers = 'max_tokens' }: Demand, tpm: number, headers: Record<string, string>): GatewayError {
    this.metrics.recordRateLimited('tpm');
    const message = `Request too large for this key's token limit: it needs about ${tokens} tokens, more than the limit of ${tpm} per minute; shorten the prompt or lower ${levers}.`;
    return new GatewayError(429, message, 'rate_limit_error', 'request_exceeds_tpm', null, headers);
  }

  /** Named with its cause: Redis away, full (OOM), a replica (READONLY) or refusing the gateway's user (NOPERM) each want another fix. */
  private unavailable(kind: LimitKind, cause: Error): void {
    this.metrics.recordLimiterUnavailable(kind);
    const { rateLimits, budgets } = this.config.security.failOpen;
    this.warn(
      `Redis unavailable for ${kind} limits (${cause.message}): rate limits fail ${rateLimits ? 'open' : 'closed'}, budgets ${budgets ? 'open' : 'closed'}`,
    );
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn(message);
  }

  private limited(kind: LimitKind, message: string, headers: Record<string, string>, resetMs: number): GatewayError {
    this.metrics.recordRateLimited(kind);
    const retryAfter = String(Math.max(1, Math.ceil(resetMs / 1000)));
    return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, { ...headers, 'retry-after': retryAfter });
  }
}

function storeUnavailable(): GatewayError {
  return new GatewayError(503, 'Rate limiter unavailable; try again shortly.', 'server_error', 'rate_limiter_unavailable', null, {
    'retry-after': '1',
  });
}

const usd = (n: number) => n.toFixed(6).replace(/\.?0+$/, '');

/** The spend hash a budget reads: the UTC day or month. */
function periodOf(period: BudgetPeriod): string {
  return period === 'daily' ? utcDay() : utcMonth();
}

/** Time until the UTC day or month ends. */
export function msUntilPeriodEnd(period: BudgetPeriod, now = new Date()): number {
  const end =
    period === 'daily'
      ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
      : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return end - now.getTime();
}
