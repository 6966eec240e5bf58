import { randomBytes } from 'node:crypto';
import { isReplyError, type RedisClient, redisRefusal, refusedAt, sendsNow } from '@gateway/redis';
import { SPEND_RETENTION_SECONDS, spendKey, utcDay } from '@gateway/metrics';
import { limitKeys } from './limit-keys';
import { LIMIT_LUA } from './limit-lua';
import { SpendLedger } from './spend-ledger';
import type { SpendGate } from './spend-recovery';
import { MemoryWindowCounter } from './window-counter';

/** What one request asks of its key's limits; a limit left undefined is not checked. */
export interface AdmitInput {
  keyId: string;
  windowMs: number;
  rpm?: number;
  /** Tokens reserved against `tpm`: prompt estimate plus the completion budget. */
  tokens: number;
  tpm?: number;
  budget?: {
    usd: number;
    /** Spend hash of the budget's period (see spendKey). */
    period: string;
    /** Worst-case cost of the request, held until it settles. */
    reserveUsd: number;
    /** Unique per request: `<id>:<usd>`. */
    member: string;
    now: number;
    /** When the hold lapses if nobody settles it (the replica died). */
    until: number;
    /** The most spend Redis reported before (KnownSpend.reportedOf): the spend is taken as at least this. */
    spentAtLeast?: number;
    /**
     * A refusal tells apart the holds renewed by lease syncs that lapse before this (not renewed for several lease
     * periods: a stopped replica's, AdmitOutcome.stopped); unset without leases.
     */
    stoppedBefore?: number;
  };
}

/** A request admitted from a replica's lease (lease-store.ts), settled against that lease. */
export interface LeaseTicket {
  /** The Redis time the TPM window of its tokens ends: settlements of another window are dropped. */
  tpmEnd: number;
  /** USD held for it, part of the replica's in-flight hold. */
  usd: number;
}

export interface WindowState {
  used: number;
  resetMs: number;
  /**
   * On a TPM refusal: of `used`, the tokens reserved by requests still in flight (and by leases),
   * which come back as they settle; the rest is settled use, which only the window's end clears.
   */
  inFlight?: number;
  /** Of `inFlight`, the tokens leased by replicas that stopped: they come back only when the window ends. */
  stopped?: number;
}

export interface AdmitOutcome {
  /** The limit that refused the request; nothing was counted then. */
  refused?: 'rpm' | 'tpm' | 'budget';
  rpm: WindowState;
  tpm: WindowState;
  /** Spend of the budget's period (USD). */
  spentUsd: number;
  /** Holds of requests in flight, this one's included when admitted (USD). */
  heldUsd: number;
  /** On a budget refusal: of `heldUsd`, the holds of replicas that stopped, and when the last of them lapses (ms). */
  stopped?: { usd: number; lapseAt: number };
  /** Set when admitted from this replica's lease (lease-store.ts): hand it back to settle. */
  ticket?: LeaseTicket;
  /** When admitted with tokens counted against TPM: the end of the window they went into (store time). */
  tpmEnd?: number;
}

/** What a finished request gives back: unused tokens, its hold, and what it really cost. */
export interface SettleInput {
  keyId: string;
  /** Actual minus reserved tokens, when tokens were reserved. */
  tokenDelta?: number;
  /** The tokens reserved at admission: no longer in flight once settled. */
  tokens?: number;
  /**
   * The admission's `tpmEnd`: the delta goes to that window only (without it, to the window open
   * now). A request that outlives its window must not give its unused tokens to the next one,
   * which never counted them.
   */
  tpmEnd?: number;
  spend?: { model: string; usd: number };
  hold?: { member: string; usd: number };
  ticket?: LeaseTicket;
}

/**
 * RPM window, TPM reservation and budget hold for one request, all or nothing:
 * one Redis round trip to admit and one to settle (shared by the requests of one
 * event-loop turn), exact across replicas.
 */
export interface AdmissionStore {
  admit(input: AdmitInput): Promise<AdmitOutcome>;
  /**
   * The outcome when the store decides in process, without a round trip (the in-process store
   * always, a lease while its share lasts), else undefined: admit() then. Spares the request
   * path the promises and ticks of an answer that is already known.
   */
  admitNow?(input: AdmitInput): AdmitOutcome | undefined;
  settle(input: SettleInput): Promise<void>;
  /** Settles in process when the store can (a lease's own request), true then; else false: settle() then. Like admitNow. */
  settleNow?(input: SettleInput): boolean;
  /** Gives back what the store holds in advance (leases); called once at shutdown. */
  close?(): Promise<void>;
  /**
   * Writes what the store owes Redis for one key now (its spend summed in process), instead of at its next sync;
   * without `keyId`, for every key.
   */
  writeOwed?(keyId?: string): Promise<void>;
}

/** Most operations one script call carries: bounds the time Redis spends in one script. */
const MAX_BATCH = 128;
/** Values an admission returns in the script's reply. */
const ADMIT_REPLY_SIZE = 9;

/**
 * How long Redis keeps a batch's record: a batch whose answer was lost (a timeout, a
 * dropped connection) is given back or confirmed within this time (see `resolveLost`).
 */
const RECORD_MS = 60_000;
/** The first wait before the give-back of a lost batch is tried again, doubled each time. */
const RETRY_LOST_MS = 1_000;
/**
 * Settlements that wait for Redis to reconnect, at most (a few MB). Past this a settlement is
 * dropped: its hold is charged at its worst case when it lapses, its tokens stay counted until
 * their window ends, and the spend of a request admitted without a hold (fail open) is lost.
 */
const MAX_UNSENT_SETTLEMENTS = 10_000;
/** How long settlements refused by a Redis that cannot write now (full, a replica) wait before they are sent again. */
const RETRY_REFUSED_MS = 1_000;

/**
 * The batch script's first write; it only reads before it. Redis refuses a script there or nowhere when it cannot
 * write (OOM is checked only at a script's first write; a replica refuses every write), so a refusal naming this line
 * (or none: the call was refused before it ran) counted nothing of the batch, and its settlements can be sent again.
 */
const START_RECORD = `redis.call('SET', KEYS[6], 'started', 'PX', ARGV[2])`;

// One script runs a batch of one key's admissions and settlements in arrival order, exactly as
// if each had been sent alone. KEYS: rpm, tpm, held, holds, leases, the batch's record, tpm in flight, the
// spend hashes of today and this month (lapsed holds go there), then those of the budget periods the
// admissions name and of the days (and months) the settlements were made in. ARGV[1] is the spend retention, ARGV[2] how long the record is kept; then each operation:
//   'a' windowMs rpm tokens tpm budgetUsd('' = none) reserveUsd member now until (the replica's clock: offsets from now on Redis') spendKeyIndex spentAtLeast (what the
//       replica saw spent before: a floor should Redis have lost spend, restarted empty or flushed, until it is written back)
//       stoppedBefore (0 = none: a budget refusal's stopped replicas' holds, see stoppedHolds)
//   's' tokenDelta reservedTokens tpmEnd model usd holdMember dayKeyIndex monthKeyIndex (the hold's USD is in its member;
//       the spend goes to the hashes of the day it was settled in, which a settlement held through an outage is not today)
// Windows start at their first use and end windowMs later. Refused requests count nothing.
// Holds of dead replicas are released by admissions, a bounded number per call.
// A batch runs at most once: it records what it counted (RPM and TPM with their windows, its holds)
// for GIVE_BACK_SCRIPT, and does nothing, answering nil, when that script came first. The record is its first write
// (START_RECORD), and says 'started' until the end: a script that failed part-way.
const BATCH_SCRIPT = `${LIMIT_LUA}
if redis.call('EXISTS', KEYS[6]) == 1 then return nil end
${START_RECORD}
local counted = {rpm = 0, tpm = 0, holds = {}}
local function admit(a)
  local window, rpmLimit, tokens, tpmLimit = tonumber(a[1]), tonumber(a[2]), tonumber(a[3]), tonumber(a[4])
  local rpmUsed, rpmTtl, tpmUsed, tpmTtl = 0, window, 0, window
  -- Both windows are read first: a refusal reports both (its rate-limit headers).
  if rpmLimit > 0 then rpmUsed, rpmTtl = state(KEYS[1], window) end
  if tpmLimit > 0 then tpmUsed, tpmTtl = state(KEYS[2], window) end
  if rpmLimit > 0 and rpmUsed + 1 > rpmLimit then return {'rpm', rpmUsed, waitFor(KEYS[5], rpmTtl), tpmUsed, tpmTtl, '0', '0', 0, 0} end
  -- Leases of the window count as in flight: a refusal they cause says to retry shortly, as do requests in flight.
  if tpmLimit > 0 and tpmUsed + tokens > tpmLimit then
    local inFlight = inFlightOf(KEYS[7], tpmUsed)
    local stopped = inFlight > 0 and math.min(inFlight, stoppedLeaseTokens(KEYS[5])) or 0
    return {'tpm', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(stopped), '0', 0, inFlight}
  end
  local spent, held = 0, 0
  if a[5] ~= '' then
    -- Holds are timed by Redis' clock, the same for every replica: the replica's times (now, until, stoppedBefore)
    -- count as offsets from its now. A replica's clock an hour fast lapsed the live holds of the others.
    local clock, sent = redisNow(), tonumber(a[8])
    local function onClock(at) return clock + tonumber(at) - sent end
    releaseLapsed(KEYS[4], KEYS[3], clock, KEYS[8], KEYS[9], ARGV[1])
    spent = math.max(spentIn(KEYS[tonumber(a[10])]), tonumber(a[11]))
    held = heldIn(KEYS[3])
    local reserve = tonumber(a[6])
    if spent + held + reserve > tonumber(a[5]) then
      local stopped, lapse = 0, 0
      if tonumber(a[12]) > 0 and spent + reserve <= tonumber(a[5]) then stopped, lapse = stoppedHolds(KEYS[4], onClock(a[12])) end
      return {'budget', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held), tostring(stopped), lapse}
    end
    held = held + reserve
    addHold(KEYS[4], KEYS[3], a[7], reserve, clock, onClock(a[9]))
    counted.holds[#counted.holds + 1] = a[7]
  end
  if rpmLimit > 0 then add(KEYS[1], 1, window); rpmUsed = rpmUsed + 1; counted.rpm = counted.rpm + 1 end
  local tpmEnd = 0
  if tpmLimit > 0 then
    add(KEYS[2], tokens, window); tpmUsed = tpmUsed + tokens; counted.tpm = counted.tpm + tokens
    tpmEnd = redis.call('PEXPIRETIME', KEYS[2])
    reserveInFlight(KEYS[7], tokens, tpmEnd)
  end
  return {'ok', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held), tpmEnd, 0}
end
local function settle(s)
  local delta, reserved, tpmEnd = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
  -- Only into the window the tokens were reserved in (tpmEnd 0: the caller does not know it).
  local ends = (delta ~= 0 or reserved ~= 0) and redis.call('PEXPIRETIME', KEYS[2]) or -2
  if ends > 0 and (tpmEnd == 0 or sameWindow(ends, tpmEnd)) then
    if delta ~= 0 and redis.call('INCRBY', KEYS[2], delta) < 0 then redis.call('SET', KEYS[2], 0, 'KEEPTTL') end
    releaseInFlight(KEYS[7], reserved)
  end
  local usd = tonumber(s[5])
  if usd > 0 then
    for _, key in ipairs({KEYS[tonumber(s[7])], KEYS[tonumber(s[8])]}) do addSpend(key, s[4], usd, ARGV[1]) end
  end
  releaseHold(KEYS[4], KEYS[3], s[6])
end
local out, i = {}, 3
while i <= #ARGV do
  if ARGV[i] == 'a' then
    for _, v in ipairs(admit({unpack(ARGV, i + 1, i + 12)})) do out[#out + 1] = v end
    i = i + 13
  else
    settle({unpack(ARGV, i + 1, i + 8)})
    i = i + 9
  end
end
local function expiry(key, amount) return amount > 0 and redis.call('PEXPIRETIME', key) or 0 end
local record = {counted.rpm, expiry(KEYS[1], counted.rpm), counted.tpm, expiry(KEYS[2], counted.tpm), unpack(counted.holds)}
redis.call('SET', KEYS[6], table.concat(record, ' '), 'PX', ARGV[2])
return out`;
/** The line of START_RECORD in the batch script, as Redis names a script's lines in its errors (refusedAt). */
const FIRST_WRITE_LINE = BATCH_SCRIPT.slice(0, BATCH_SCRIPT.indexOf(START_RECORD)).split('\n').length;

// Settles a batch whose answer was lost. KEYS: rpm, tpm, held, holds, the batch's record, tpm in flight; ARGV[1]: how long
// the record is kept. When the batch ran, what it admitted is given back (its requests were answered as
// failed) and 1 is answered; when it has not run, a record makes sure it never will, and 0 is answered. One that
// failed part-way ('started') ran as far as it did: 1, nothing given back, nothing of it sent again.
const GIVE_BACK_SCRIPT = `${LIMIT_LUA}
local record = redis.call('GET', KEYS[5])
if not record then
  redis.call('SET', KEYS[5], 'cancelled', 'PX', ARGV[1])
  return 0
end
if record == 'cancelled' then return 0 end
if record == 'given back' or record == 'started' then return 1 end
local f = {}
for word in string.gmatch(record, '%S+') do f[#f + 1] = word end
giveBack(KEYS[1], tonumber(f[2]), tonumber(f[1]))
releaseInFlightOf(KEYS[2], KEYS[6], tonumber(f[4]), tonumber(f[3]))
giveBack(KEYS[2], tonumber(f[4]), tonumber(f[3]))
for i = 5, #f do releaseHold(KEYS[4], KEYS[3], f[i]) end
redis.call('SET', KEYS[5], 'given back', 'KEEPTTL')
return 1`;

type Pending =
  | { kind: 'admit'; input: AdmitInput; resolve(outcome: AdmitOutcome): void; reject(error: unknown): void }
  | { kind: 'settle'; input: SettleInput; day: string; resolve(): void; reject(error: unknown): void };
type Settling = Extract<Pending, { kind: 'settle' }>;

/**
 * Admissions and settlements of one event-loop turn are sent per gateway key as one
 * script call: under load one Redis write and reply serve many requests, and a
 * request waits for nothing but the end of the turn it was admitted in.
 *
 * A call whose answer is lost (it timed out, its connection dropped) may still have
 * run, or run later: its admissions are answered as failed at once, and what it
 * counted is given back (`resolveLost`), so a slow Redis never leaves phantom
 * requests in a key's windows or holds. Its settlements are sent again when it is
 * known never to run. Settlements made while Redis is disconnected wait for it to
 * reconnect, and those it refused because it cannot write now (full, a replica) are
 * sent again each RETRY_REFUSED_MS: a request that ends during an outage is still
 * charged, and its hold released, instead of blocking the budget until the hold lapses.
 */
export class RedisAdmissionStore implements AdmissionStore {
  private pending = new Map<string, Pending[]>();
  private flushScheduled = false;
  /** Names this process's calls: unique across replicas. */
  private readonly id = randomBytes(6).toString('hex');
  private seq = 0;
  private readonly resolving = new Set<Promise<void>>();
  /** Settlements not counted (Redis was disconnected, or refused them), sent when it is ready again or RETRY_REFUSED_MS later. */
  private unsent: Settling[] = [];
  private retryTimer?: NodeJS.Timeout;
  private readonly sendUnsent = () => {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const unsent = this.unsent;
    this.unsent = [];
    for (const op of unsent) this.enqueue(op);
  };
  private closed = false;

  /**
   * `ledger`: where the spend this store writes is recorded once Redis confirmed it (see SpendLedger).
   * `gate`: what admissions holding a budget wait for on a new connection (SpendRecovery).
   */
  constructor(
    private readonly client: RedisClient,
    private readonly ledger?: SpendLedger,
    private readonly gate?: SpendGate,
  ) {
    client.defineCommand('gatewayAdmission', { lua: BATCH_SCRIPT });
    client.defineCommand('gatewayGiveBack', { numberOfKeys: 6, lua: GIVE_BACK_SCRIPT });
    client.on('ready', this.sendUnsent);
  }

  admit(input: AdmitInput): Promise<AdmitOutcome> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'admit', input, resolve, reject }));
  }

  /** The spend counts in the UTC day (and month) of this call, however late Redis takes it (an outage, a lost call). */
  settle(input: SettleInput): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'settle', input, day: utcDay(), resolve, reject }));
  }

  /** Waits for lost calls to be settled, one more try each when Redis does not answer; drops settlements still waiting for it. */
  async close(): Promise<void> {
    this.closed = true;
    this.client.off('ready', this.sendUnsent);
    clearTimeout(this.retryTimer);
    const error = new Error('Redis is not connected at shutdown');
    for (const op of this.unsent.splice(0)) op.reject(error);
    while (this.resolving.size) await Promise.allSettled([...this.resolving]);
  }

  private enqueue(op: Pending): void {
    const ops = this.pending.get(op.input.keyId);
    if (ops) ops.push(op);
    else this.pending.set(op.input.keyId, [op]);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const batches = this.pending;
    this.pending = new Map();
    this.flushScheduled = false;
    // One connection keeps the calls in order, so chunks of one key run in arrival order too.
    for (const [keyId, ops] of batches) for (let i = 0; i < ops.length; i += MAX_BATCH) void this.send(keyId, ops.slice(i, i + MAX_BATCH));
  }

  private async send(keyId: string, ops: Pending[]): Promise<void> {
    // A budget decided before the connection's spend check (and restore) would read a spend Redis lost.
    if (this.gate && !this.gate.ready && ops.some(holdsBudget)) {
      try {
        await this.gate.whenReady();
      } catch (error) {
        // The check got no answer: the admissions fail (the failure policy decides), the settlements go on alone.
        for (const op of ops) {
          if (op.kind === 'admit') op.reject(error);
          else this.enqueue(op);
        }
        return;
      }
    }
    if (!sendsNow(this.client)) {
      // Never sent: nothing to give back. An admission fails now (the caller applies the fail-open policy).
      const error = new Error('Redis is not connected');
      for (const op of ops) {
        if (op.kind === 'settle') this.keepUnsent(op, error);
        else op.reject(error);
      }
      return;
    }
    const keys = limitKeys(keyId);
    const record = keys.call(`${this.id}.${++this.seq}`);
    const day = utcDay();
    const spendKeys = [spendKey(keyId, day), spendKey(keyId, day.slice(0, 7))];
    const spendKeyIndex = (period: string) => {
      const key = spendKey(keyId, period);
      const at = spendKeys.indexOf(key);
      return 8 + (at >= 0 ? at : spendKeys.push(key) - 1); // Lua's KEYS index: after the seven fixed keys
    };
    const args: (string | number)[] = [SPEND_RETENTION_SECONDS, RECORD_MS];
    for (const op of ops) {
      if (op.kind === 'admit') {
        const { windowMs, rpm, tokens, tpm, budget: b } = op.input;
        args.push('a', windowMs, rpm ?? 0, tokens, tpm ?? 0, b ? b.usd : '', b?.reserveUsd ?? 0, b?.member ?? '', b?.now ?? 0);
        args.push(b?.until ?? 0, b ? spendKeyIndex(b.period) : 0, b?.spentAtLeast ?? 0, b?.stoppedBefore ?? 0);
      } else {
        const { tokenDelta, tokens, tpmEnd, spend, hold } = op.input;
        const end = tpmEnd ?? op.input.ticket?.tpmEnd ?? 0;
        args.push('s', tokenDelta ?? 0, tokens ?? 0, end, spend?.model ?? '', spend?.usd ?? 0, hold?.member ?? '');
        args.push(spendKeyIndex(op.day), spendKeyIndex(op.day.slice(0, 7)));
      }
    }
    const call = this.client as unknown as { gatewayAdmission(...args: (string | number)[]): Promise<(string | number)[] | null> };
    let reply: (string | number)[] | null;
    try {
      reply = await call.gatewayAdmission(
        7 + spendKeys.length,
        keys.rpm,
        keys.tpm,
        keys.held,
        keys.holds,
        keys.leases,
        record,
        keys.tpmInFlight,
        ...spendKeys,
        ...args,
      );
      if (!reply) throw new Error('admission batch cancelled'); // only a lost call's give-back cancels it
    } catch (error) {
      if (isReplyError(error)) {
        // Redis answered with an error: the batch is not lost. Refused before its first write by a Redis that cannot
        // write now (full, a replica since a failover), it counted nothing: its settlements wait to be sent again.
        // Else a failing script keeps what ran before the failure, and sending its settlements again could count them twice.
        const resend = redisRefusal(error)?.kind === 'transient' && refusedAt(error as Error) <= FIRST_WRITE_LINE;
        for (const op of ops) {
          if (op.kind === 'settle' && resend) this.keepUnsent(op, error);
          else op.reject(error);
        }
        if (resend && !this.retryTimer) this.retryTimer = setTimeout(this.sendUnsent, RETRY_REFUSED_MS).unref();
        return;
      }
      const settling: Settling[] = [];
      for (const op of ops) {
        if (op.kind === 'admit') op.reject(error);
        else settling.push(op);
      }
      const resolving = this.resolveLost(keyId, record, settling);
      this.resolving.add(resolving);
      void resolving.finally(() => this.resolving.delete(resolving));
      return;
    }
    let at = 0;
    for (const op of ops) {
      if (op.kind === 'settle') {
        this.recordSpend(keyId, op);
        op.resolve();
        continue;
      }
      const [verdict, rpmUsed, rpmTtl, tpmUsed, tpmTtl, spent, held, tpmEnd, tpmInFlight] = reply.slice(at, (at += ADMIT_REPLY_SIZE));
      // A budget refusal's last two: the stopped replicas' holds and their last lapse (stoppedHolds).
      const stopped = verdict === 'budget' && Number(tpmEnd) > 0 ? { usd: Number(tpmEnd), lapseAt: Number(tpmInFlight) } : undefined;
      op.resolve({
        ...(stopped && { stopped }),
        refused: verdict === 'ok' ? undefined : (verdict as AdmitOutcome['refused']),
        rpm: { used: Number(rpmUsed), resetMs: Number(rpmTtl) },
        tpm: {
          used: Number(tpmUsed),
          resetMs: Number(tpmTtl),
          // A TPM refusal's spent slot: the tokens in flight of replicas that stopped (stoppedLeaseTokens).
          ...(verdict === 'tpm' && { inFlight: Number(tpmInFlight), stopped: Number(spent) }),
        },
        spentUsd: Number(spent),
        heldUsd: Number(held),
        ...(verdict !== 'budget' && Number(tpmEnd) > 0 && { tpmEnd: Number(tpmEnd) }),
      });
    }
  }

  /** Keeps a settlement to send once Redis takes it (reconnected, or after a refusal); dropped past the bound or once closed. */
  private keepUnsent(op: Settling, error: unknown): void {
    if (!this.closed && this.unsent.length < MAX_UNSENT_SETTLEMENTS) this.unsent.push(op);
    else op.reject(error);
  }

  /**
   * Gives back what a call whose answer was lost admitted, or makes sure it never runs,
   * retried until Redis answers. Sent on the same connection after the call, it runs
   * after it; on a new connection the record decides. Gives up after half the
   * record's life (past that, the record may be gone), or after one try once closed.
   */
  private async resolveLost(keyId: string, record: string, settling: Settling[]): Promise<void> {
    const call = this.client as unknown as { gatewayGiveBack(...args: (string | number)[]): Promise<number> };
    const keys = limitKeys(keyId);
    const giveUpAt = Date.now() + RECORD_MS / 2;
    for (let wait = RETRY_LOST_MS; ; wait *= 2) {
      const last = this.closed || Date.now() >= giveUpAt;
      try {
        const ran = await call.gatewayGiveBack(keys.rpm, keys.tpm, keys.held, keys.holds, record, keys.tpmInFlight, RECORD_MS);
        // Settlements of a call that never runs are still owed.
        for (const op of settling) {
          if (!ran) this.enqueue(op);
          else {
            this.recordSpend(keyId, op);
            op.resolve();
          }
        }
        return;
      } catch (error) {
        if (last) {
          for (const op of settling) op.reject(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait).unref());
      }
    }
  }

  /** A settlement's spend, written to the hashes of the day it was settled in (Redis confirmed it). */
  private recordSpend(keyId: string, op: Settling): void {
    const spend = op.input.spend;
    if (spend) this.ledger?.record(keyId, op.day, spend.model, spend.usd);
  }
}

function holdsBudget(op: Pending): boolean {
  return op.kind === 'admit' && op.input.budget !== undefined;
}

/** The same semantics in one process, for a gateway without Redis. */
export class MemoryAdmissionStore implements AdmissionStore {
  /** Each key's holds: their USD summed, and how many (none left: the sum is 0 exactly, as lessHeld has it in Redis). */
  private readonly holds = new Map<string, { usd: number; count: number }>();

  /** `spend`: the spend itself (no Redis holds it), read by the budgets here and by the usage report. */
  constructor(
    private readonly windows: MemoryWindowCounter,
    readonly spend = new SpendLedger(),
  ) {}

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    return this.admitNow(input);
  }

  admitNow(input: AdmitInput): AdmitOutcome {
    const keys = limitKeys(input.keyId);
    const now = Date.now();
    const rpm = this.windows.open(keys.rpm, input.windowMs, now);
    const tpm = this.windows.open(keys.tpm, input.windowMs, now);
    const view = (w: { used: number; resetAt: number }) => ({ used: w.used, resetMs: w.resetAt - now });
    const outcome = (refused: AdmitOutcome['refused'], spentUsd = 0, heldUsd = 0) => ({
      refused,
      rpm: view(rpm),
      tpm: view(tpm),
      spentUsd,
      heldUsd,
    });
    if (input.rpm !== undefined && rpm.used + 1 > input.rpm) return outcome('rpm');
    if (input.tpm !== undefined && tpm.used + input.tokens > input.tpm)
      return { ...outcome('tpm'), tpm: { ...view(tpm), inFlight: Math.min(tpm.used, tpm.inFlight) } };
    let spent = 0;
    let held = 0;
    const b = input.budget;
    if (b) {
      spent = this.spend.totalOf(input.keyId, b.period);
      const holds = this.holds.get(keys.held) ?? { usd: 0, count: 0 };
      held = holds.usd;
      if (spent + held + b.reserveUsd > b.usd) return outcome('budget', spent, held);
      held += b.reserveUsd;
      this.holds.set(keys.held, { usd: held, count: holds.count + 1 });
    }
    if (input.rpm !== undefined) rpm.used += 1;
    if (input.tpm === undefined) return outcome(undefined, spent, held);
    tpm.used += input.tokens;
    tpm.inFlight += input.tokens;
    return { ...outcome(undefined, spent, held), tpmEnd: tpm.resetAt };
  }

  async settle(input: SettleInput): Promise<void> {
    const keys = limitKeys(input.keyId);
    const tpm = this.windows.current(keys.tpm);
    const end = input.tpmEnd ?? input.ticket?.tpmEnd;
    if (tpm && (end === undefined || tpm.resetAt === end)) {
      if (input.tokenDelta) tpm.used = Math.max(0, tpm.used + input.tokenDelta);
      if (input.tokens) tpm.inFlight = Math.max(0, tpm.inFlight - input.tokens);
    }
    if (input.spend) this.spend.record(input.keyId, utcDay(), input.spend.model, input.spend.usd);
    const holds = input.hold && this.holds.get(keys.held);
    if (!holds) return;
    if (holds.count > 1) this.holds.set(keys.held, { usd: Math.max(0, holds.usd - input.hold!.usd), count: holds.count - 1 });
    else this.holds.delete(keys.held);
  }
}
