import { type RedisClient, sendsNow } from '@gateway/redis';
import { SPEND_RETENTION_SECONDS, spendKey, utcDay } from '@gateway/metrics';
import type { AdmissionStore, AdmitInput, AdmitOutcome, LeaseTicket, SettleInput } from './admission-store';
import { limitKeys } from './limit-keys';
import { LIMIT_LUA, sameWindow } from './limit-lua';
import type { SpendLedger } from './spend-ledger';
import type { SpendGate } from './spend-recovery';

/** A lease takes at most this share of what is left of each limit, so the other replicas keep the rest. */
const LEASE_SHARE = 16;
/**
 * A lease smaller than this many requests (of the one asking) is not worth having:
 * keys this close to a limit are admitted one request at a time, exactly.
 */
const MIN_LEASE_REQUESTS = 8;

/** Lease exchanges an admission waits for before it asks the exact store. */
const MAX_WAITS = 3;

export interface LeaseOptions {
  /** This process's id among the replicas (hex), the prefix of its hold members. */
  replica: string;
  /** How long a lease lasts; its unused part then goes back to Redis. */
  leaseMs: number;
  /** When this replica's holds (requests in flight, its lease) lapse if it dies (longer than any request). */
  holdLapseMs: number;
  /** Where the spend the calls write is recorded once Redis confirmed it (see SpendLedger). */
  ledger?: SpendLedger;
  /** What a lease of a budget waits for on a new connection (SpendRecovery). */
  gate?: SpendGate;
  /**
   * False while this replica could miss a request to write what it owes (its flush subscription is down, see
   * LimitsService): no lease is taken, used or renewed then, each admission asks Redis, and what is held goes back
   * at its next sync. Leased meanwhile, a budget set elsewhere would not see the spend of the requests it admitted.
   */
  leasing?: () => boolean;
}

/** A slice of a key's limits this replica may use without asking Redis. */
interface Lease {
  /** The admission it was granted for: a change of the key's limits (PATCH, a new budget period) ends it. */
  grantedFor: AdmitInput;
  endsAt: number;
  rpm: number;
  tpm: number;
  usd: number;
  rpmUsed: number;
  tpmUsed: number;
  rpmResetAt: number;
  tpmResetAt: number;
  spentUsd: number;
  heldUsd: number;
}

/** USD by model, by the UTC day (`yyyy-mm-dd`) it was spent in. */
type SpendByDay = Map<string, Map<string, number>>;

/** What this replica holds of one key, and what it owes Redis at the next sync. */
interface Account {
  keyId: string;
  lease?: Lease;
  syncing?: Promise<void>;
  /** After a lease was refused (too close to a limit): admit one by one until then. */
  exactUntil: number;
  /**
   * When the windows the last lease was counted in expire (PEXPIRETIME, Redis ms; 0 = none): their names. For TPM,
   * the last lease with a TPM share: its requests settle into that window while leases of RPM alone come and go.
   */
  rpmEnd: number;
  tpmEnd: number;
  /** Tokens to add to the `tpmEnd` window: settlements of leased requests while no lease was open. */
  tokenAdjust: number;
  /**
   * Tokens leased requests settled since the last sync used in the `tpmEnd` window: with what is
   * given back, what the sync takes off the window's in-flight count (their reservations and the
   * unused lease).
   */
  tokensSettled: number;
  inFlight: number;
  inFlightUsd: number;
  /** Spend of settled leased requests, by the UTC day they settled in, not yet written to Redis. */
  spend: SpendByDay;
  /** This replica's hold members in Redis: requests in flight, and the unused lease. */
  inFlightMember: string;
  leaseMember: string;
  /** Taken since the last sync: sizes the next lease. */
  taken: { requests: number; tokens: number; usd: number };
  /** Admissions waiting for the exchange under way. */
  waiting: number;
  /** A call whose answer was lost: sent again, with the same id, before the next one. */
  lost?: LeaseCall;
  /** The last admission: asks for the renewal when the lease ends. */
  last?: AdmitInput;
  timer?: NodeJS.Timeout;
}

// One call per sync: gives back the unused lease and writes the spend of settled requests, then
// grants a new lease, all or nothing, when every limit has room for it.
// KEYS: rpm, tpm, held, holds, spend day, spend month, spend of the budget's period, leases, the call's record,
// tpm in flight (a lease's tokens count as in flight until they are given back or their requests settle), then the
// spend day and month of each earlier day whose spend the call writes (settled before UTC midnight, written after).
// A call runs once: sent again (its answer was lost), it answers what it answered the first time. Its record is
// written first: one that failed part-way (an ACL refusing a later command: Redis keeps what a script wrote before
// it failed) says 'started', and sent again the call does nothing more ({2}): run again, it gave back, wrote spend and
// leased twice.
// ARGV: 1 windowMs, 2 rpmEnd, 3 rpm back, 4 tpmEnd, 5 tpm back, 6 old in-flight member, 7 old lease member,
//   8 member prefix, 9 in-flight USD, 10 the replica's now (not used: holds go by Redis' clock), 11 hold lapse, 12 grant ('1'/'0'),
//   13 rpm limit (0 = none), 14 rpm wanted, 15 rpm least, 16 tpm limit, 17 tpm wanted, 18 tpm least,
//   19 budget USD ('' = none), 20 USD wanted, 21 USD least, 22 spend retention, 23 leaseMs, 24 tokens settled,
//   25 the budget's spend at least (AdmitInput.budget.spentAtLeast), then day key index (its month's key follows it)/model/USD triples.
// Both holds (requests in flight, the lease) lapse, and are charged as spent, only after the hold lapse:
// the lease hold also covers the requests settled from it since, whose spend this replica has not
// written yet; released sooner when the replica dies, that spend would be neither charged nor held.
// A window is named by when it expires (PEXPIRETIME, moved a little by a slot migration: sameWindow): what is given
// back goes only to the window it was taken from. Needs Redis 7.0.
const LEASE_SCRIPT = `${LIMIT_LUA}
-- Holds are timed by Redis' clock, the same for every replica: a replica's clock an hour fast lapsed the others' live holds.
local window, now = tonumber(ARGV[1]), redisNow()
local done = redis.call('GET', KEYS[9])
if done == 'started' then return {2} end
if done then return cmsgpack.unpack(done) end
redis.call('SET', KEYS[9], 'started', 'PX', window)
local function answer(reply)
  redis.call('SET', KEYS[9], cmsgpack.pack(reply), 'PX', window)
  return reply
end
giveBack(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
giveBack(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]))
releaseInFlightOf(KEYS[2], KEYS[10], tonumber(ARGV[4]), tonumber(ARGV[5]) + tonumber(ARGV[24]))
local replica = string.match(ARGV[8], '^(%x+)-')
redis.call('HDEL', KEYS[8], replica, replica .. ':tpm')
for i = 26, #ARGV, 3 do
  local day = tonumber(ARGV[i])
  addSpend(KEYS[day], ARGV[i + 1], ARGV[i + 2], ARGV[22])
  addSpend(KEYS[day + 1], ARGV[i + 1], ARGV[i + 2], ARGV[22])
end
releaseHold(KEYS[4], KEYS[3], ARGV[6])
releaseHold(KEYS[4], KEYS[3], ARGV[7])
releaseLapsed(KEYS[4], KEYS[3], now, KEYS[5], KEYS[6], ARGV[22])
local inFlight, inFlightMember = tonumber(ARGV[9]), ''
if inFlight > 0 then
  inFlightMember = ARGV[8] .. ':f:' .. ARGV[9]
  addHold(KEYS[4], KEYS[3], inFlightMember, inFlight, now, now + tonumber(ARGV[11]))
end
local function room(key, limit, wanted, least)
  local used, ttl = state(key, window)
  local g = math.min(wanted, math.floor((limit - used) / ${LEASE_SHARE}))
  return g >= least and g or -1, used, ttl
end
local rpm, rpmUsed, rpmTtl, tpm, tpmUsed, tpmTtl, usd, spent, held = 0, 0, 0, 0, 0, 0, 0, 0, 0
local granted = ARGV[12] == '1'
if granted and tonumber(ARGV[13]) > 0 then
  rpm, rpmUsed, rpmTtl = room(KEYS[1], tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]))
  granted = rpm >= 0
end
if granted and tonumber(ARGV[16]) > 0 then
  tpm, tpmUsed, tpmTtl = room(KEYS[2], tonumber(ARGV[16]), tonumber(ARGV[17]), tonumber(ARGV[18]))
  granted = tpm >= 0
end
if granted and ARGV[19] ~= '' then
  spent, held = math.max(spentIn(KEYS[7]), tonumber(ARGV[25])), heldIn(KEYS[3])
  usd = math.min(tonumber(ARGV[20]), (tonumber(ARGV[19]) - spent - held) / ${LEASE_SHARE})
  granted = usd >= tonumber(ARGV[21])
end
if not granted then return answer({0, inFlightMember}) end
local leaseMember = ''
if tonumber(ARGV[13]) > 0 then add(KEYS[1], rpm, window); rpmUsed = rpmUsed + rpm end
if tonumber(ARGV[16]) > 0 then
  add(KEYS[2], tpm, window); tpmUsed = tpmUsed + tpm
  reserveInFlight(KEYS[10], tpm, redis.call('PEXPIRETIME', KEYS[2]))
end
if usd > 0 then
  leaseMember = ARGV[8] .. ':l:' .. string.format('%.17g', usd)
  addHold(KEYS[4], KEYS[3], leaseMember, holdUsd(leaseMember), now, now + tonumber(ARGV[11]))
  held = held + holdUsd(leaseMember)
end
local rpmEnd, tpmEnd = 0, 0
if tonumber(ARGV[13]) > 0 then rpmTtl = redis.call('PTTL', KEYS[1]); rpmEnd = redis.call('PEXPIRETIME', KEYS[1]) end
if tonumber(ARGV[16]) > 0 then tpmTtl = redis.call('PTTL', KEYS[2]); tpmEnd = redis.call('PEXPIRETIME', KEYS[2]) end
if rpmEnd > 0 or tpmEnd > 0 then
  -- Refusals elsewhere tell their clients to retry when this lease ends (waitFor).
  local leaseEnd = redisNow() + tonumber(ARGV[23])
  for _, e in ipairs({rpmEnd, tpmEnd}) do if e > 0 and e < leaseEnd then leaseEnd = e end end
  redis.call('HSET', KEYS[8], replica, leaseEnd, replica .. ':tpm', tpm)
  redis.call('PEXPIRE', KEYS[8], window)
end
return answer({1, rpm, rpmUsed, rpmTtl, rpmEnd, tpm, tpmUsed, tpmTtl, tpmEnd, leaseMember, tostring(spent), tostring(held), inFlightMember})`;

type LeaseReply = [0, string] | [2] | [1, number, number, number, number, number, number, number, number, string, string, string, string];

/** One lease call: what it is sized for, and its keys and arguments. */
interface LeaseCall {
  want: AdmitInput | undefined;
  windowMs: number;
  /** When it was first sent; unset while it never was. */
  sentAt?: number;
  /** The spend it writes, by day and model, to the hashes of each day and its month. */
  spend: SpendByDay;
  args: (string | number)[];
}

/**
 * Admits a key's requests from a slice of its limits leased from Redis, with no
 * Redis call per request: one call per lease (about one a second per busy key)
 * gives back what the last lease did not use, writes the spend of the requests it
 * settled, and takes the next slice. Limits are never exceeded across replicas (a
 * lease is counted in Redis before any of it is used); what a replica leases and
 * does not use is unavailable to the others until its lease ends, so a lease never
 * takes more than 1/16 of what is left, and a key close to any of its limits is
 * admitted one request at a time by the exact store (`exact`). A refusal always
 * comes from the exact store.
 */
export class LeasedAdmissionStore implements AdmissionStore {
  private readonly accounts = new Map<string, Account>();
  private seq = 0;
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly exact: AdmissionStore,
    private readonly options: LeaseOptions,
  ) {
    client.defineCommand('gatewayLease', { lua: LEASE_SCRIPT });
  }

  /** Keys this replica holds something of (gateway_limit_lease_keys): each is synced with Redis about once a lease period. */
  keysHeld(): number {
    let held = 0;
    for (const account of this.accounts.values()) if (holding(account)) held += 1;
    return held;
  }

  /** The lease's share, when it covers the request (admit() otherwise, which waits for the next lease). */
  admitNow(input: AdmitInput): AdmitOutcome | undefined {
    const account = this.account(input.keyId);
    account.last = input;
    return this.take(account, input);
  }

  private leasing(): boolean {
    return this.options.leasing?.() ?? true;
  }

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    const account = this.account(input.keyId);
    account.last = input;
    // Admissions that arrive while a lease is exchanged wait for the next one; it is sized for them too.
    for (let tries = 0; tries < MAX_WAITS; tries++) {
      const local = this.take(account, input);
      if (local) return local;
      if (this.closed || Date.now() < account.exactUntil || !this.leasing()) break;
      account.waiting += 1;
      try {
        // Redis failing: the admission fails too, and the caller applies the fail-open policy.
        await (account.syncing ?? this.sync(account, input));
      } finally {
        account.waiting -= 1;
      }
    }
    return this.exact.admit(input);
  }

  /** Settled in process: a request admitted from a lease (its ticket) while the store is open, or spend alone owed; false otherwise (settle() then). */
  settleNow(input: SettleInput): boolean {
    if (this.closed) return false;
    const ticket = input.ticket;
    // Spend alone is summed here only while leasing: otherwise it is written at once (settle()), as a budget set
    // meanwhile would not see it.
    if (!ticket && !input.hold && input.tokenDelta === undefined && input.spend && this.leasing()) {
      this.owe(input.keyId, input.spend);
      return true;
    }
    const account = ticket && this.accounts.get(input.keyId);
    if (!ticket || !account) return false;
    this.release(account, ticket, input);
    return true;
  }

  async settle(input: SettleInput): Promise<void> {
    if (this.settleNow(input)) return;
    const ticket = input.ticket;
    const account = ticket && this.accounts.get(input.keyId);
    if (!ticket || !account) return this.exact.settle(input);
    this.release(account, ticket, input);
    // Closed, no lease sync follows: the in-flight hold close() left must shrink by this request now, or it lapses and is charged.
    await this.syncNext(account);
  }

  /** What a request admitted from the lease gives back to it: its place in flight, and the tokens it did not use. */
  private release(account: Account, ticket: LeaseTicket, input: SettleInput): void {
    account.inFlight -= 1;
    // Sums of decimal prices drift: none in flight holds exactly nothing.
    account.inFlightUsd = account.inFlight === 0 ? 0 : account.inFlightUsd - ticket.usd;
    if (input.spend) addSpend(account.spend, input.spend);
    const delta = input.tokenDelta ?? 0;
    if (sameWindow(ticket.tpmEnd, account.tpmEnd)) {
      account.tokensSettled += (input.tokens ?? 0) + delta;
      if (delta !== 0 && account.lease && !account.syncing) account.lease.tpm -= delta;
      else account.tokenAdjust += delta;
    }
  }

  /** One sync carrying every settlement made until it starts, after the one under way. */
  private async syncNext(account: Account): Promise<void> {
    await account.syncing?.catch(() => undefined);
    await (account.syncing ?? this.sync(account));
  }

  /**
   * Spend alone (a key with no limits, or anonymous requests): nothing to check against, so it
   * is summed here and written with the account's next sync, within a lease period, as leased
   * requests' spend is, instead of a Redis script call for every event-loop turn's settlements.
   */
  private owe(keyId: string, spend: NonNullable<SettleInput['spend']>): void {
    if (spend.usd <= 0) return;
    const account = this.account(keyId);
    const first = account.spend.size === 0;
    addSpend(account.spend, spend);
    // A sync is due already when a lease is open or one is under way (schedule() runs after it).
    if (first && !account.lease && !account.syncing) this.schedule(account);
  }

  /**
   * The account's next sync, now: it writes the spend owed and gives back the lease (a change of
   * the key's limits ends it anyway). Nothing owed or held: nothing to do. Without `keyId`, every account's.
   */
  async writeOwed(keyId?: string): Promise<void> {
    const accounts = keyId === undefined ? [...this.accounts.values()] : [this.accounts.get(keyId)];
    await Promise.all(
      accounts.map((account) => {
        if (account && (account.lease || account.syncing || account.spend.size > 0 || account.tokenAdjust !== 0))
          return this.syncNext(account);
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const account of this.accounts.values()) {
      clearTimeout(account.timer);
      await account.syncing?.catch(() => undefined);
      await this.sync(account).catch(() => undefined);
    }
    await this.exact.close?.();
  }

  private account(keyId: string): Account {
    let account = this.accounts.get(keyId);
    if (!account) {
      account = {
        keyId,
        exactUntil: 0,
        rpmEnd: 0,
        tpmEnd: 0,
        tokenAdjust: 0,
        tokensSettled: 0,
        inFlight: 0,
        inFlightUsd: 0,
        spend: new Map(),
        inFlightMember: '',
        leaseMember: '',
        taken: { requests: 0, tokens: 0, usd: 0 },
        waiting: 0,
      };
      this.accounts.set(keyId, account);
    }
    return account;
  }

  /** Admits from the open lease when it covers the whole request; undefined otherwise. */
  private take(account: Account, input: AdmitInput): AdmitOutcome | undefined {
    const lease = account.lease;
    const now = Date.now();
    if (!lease || account.syncing || now >= lease.endsAt || !sameLimits(lease.grantedFor, input) || !this.leasing()) return undefined;
    const usd = input.budget?.reserveUsd ?? 0;
    if ((input.rpm !== undefined && lease.rpm < 1) || (input.tpm !== undefined && lease.tpm < input.tokens) || lease.usd < usd)
      return undefined;
    if (input.rpm !== undefined) lease.rpm -= 1;
    if (input.tpm !== undefined) lease.tpm -= input.tokens;
    lease.usd -= usd;
    account.inFlight += 1;
    account.inFlightUsd += usd;
    account.taken.requests += 1;
    account.taken.tokens += input.tokens;
    account.taken.usd += usd;
    const ticket: LeaseTicket = { tpmEnd: account.tpmEnd, usd };
    return {
      rpm: { used: lease.rpmUsed - lease.rpm, resetMs: lease.rpmResetAt - now },
      tpm: { used: lease.tpmUsed - lease.tpm, resetMs: lease.tpmResetAt - now },
      spentUsd: lease.spentUsd,
      heldUsd: lease.heldUsd,
      ticket,
    };
  }

  private sync(account: Account, want?: AdmitInput): Promise<void> {
    const syncing = this.exchange(account, want).finally(() => {
      account.syncing = undefined;
      this.schedule(account);
    });
    account.syncing = syncing;
    return syncing;
  }

  /** Gives back the open lease and what is owed, and takes a new lease sized for `want`'s key. */
  private async exchange(account: Account, want: AdmitInput | undefined): Promise<void> {
    // The rest of this event-loop turn's admissions queue behind it, and the lease is sized for them.
    await new Promise(setImmediate);
    const lost = account.lost;
    if (lost) {
      account.lost = undefined;
      // Its record outlives this by half: sent again later, it could count twice; its figures are lost then.
      if (lost.sentAt === undefined || Date.now() - lost.sentAt < lost.windowMs / 2) await this.call(account, lost);
    }
    await this.call(account, this.prepare(account, want));
  }

  /** The call that gives back what the account holds and owes (it is handed over to the call). */
  private prepare(account: Account, want: AdmitInput | undefined): LeaseCall {
    const lease = account.lease;
    account.lease = undefined;
    const spend = account.spend;
    account.spend = new Map();
    const tokenAdjust = account.tokenAdjust;
    account.tokenAdjust = 0;
    const tokensSettled = account.tokensSettled;
    account.tokensSettled = 0;
    const taken = account.taken;
    account.taken = { requests: 0, tokens: 0, usd: 0 };
    const keys = limitKeys(account.keyId);
    const day = utcDay();
    const b = want?.budget;
    // Twice what the last lease served and what waits, never less than MIN_LEASE_REQUESTS of this request.
    const waiting = account.waiting;
    const size = (need: number, used: number) => [Math.max(MIN_LEASE_REQUESTS, 2 * waiting) * need + 2 * used, MIN_LEASE_REQUESTS * need];
    const [rpmWanted, rpmLeast] = size(1, taken.requests);
    const [tpmWanted, tpmLeast] = size(want?.tokens ?? 0, taken.tokens);
    const [usdWanted, usdLeast] = size(b?.reserveUsd ?? 0, taken.usd);
    const now = Date.now();
    const windowMs = want?.windowMs ?? 60_000;
    const id = `${this.options.replica}-${++this.seq}`;
    const args: (string | number)[] = [
      windowMs,
      account.rpmEnd,
      lease?.rpm ?? 0,
      account.tpmEnd,
      (lease?.tpm ?? 0) - tokenAdjust,
      account.inFlightMember,
      account.leaseMember,
      id,
      account.inFlightUsd,
      now,
      this.options.holdLapseMs,
      want ? '1' : '0',
      want?.rpm ?? 0,
      rpmWanted,
      rpmLeast,
      want?.tpm ?? 0,
      tpmWanted,
      tpmLeast,
      b ? b.usd : '',
      usdWanted,
      usdLeast,
      SPEND_RETENTION_SECONDS,
      this.options.leaseMs,
      tokensSettled,
      b?.spentAtLeast ?? 0,
    ];
    const spendKeys = [spendKey(account.keyId, day), spendKey(account.keyId, day.slice(0, 7)), spendKey(account.keyId, b?.period ?? day)];
    const callKeys = [keys.rpm, keys.tpm, keys.held, keys.holds, ...spendKeys, keys.leases, keys.call(id), keys.tpmInFlight];
    for (const [spentOn, byModel] of spend) {
      // Lua's KEYS index of the day's hash: today's is the fifth; an earlier day's pair goes after the fixed keys.
      const at = spentOn === day ? 5 : callKeys.push(spendKey(account.keyId, spentOn), spendKey(account.keyId, spentOn.slice(0, 7))) - 1;
      for (const [model, usd] of byModel) args.push(at, model, usd);
    }
    return { want, windowMs, spend, args: [callKeys.length, ...callKeys, ...args] };
  }

  /**
   * Runs a lease call and takes on what it answers. When its answer is lost, the call is
   * kept to be sent again first at the next sync: it runs once, and its answer then is
   * the one that was lost, so nothing it gave back, wrote or granted is lost.
   */
  private async call(account: Account, lease: LeaseCall): Promise<void> {
    const client = this.client as unknown as { gatewayLease(...args: (string | number)[]): Promise<LeaseReply> };
    let reply: LeaseReply;
    try {
      // A budget's lease granted before the connection's spend check (and restore) would read a spend Redis lost.
      const gate = this.options.gate;
      if (lease.want?.budget && gate && !gate.ready) await gate.whenReady();
      // A call never sent may be sent at any time later.
      if (!sendsNow(this.client)) throw new Error('Redis is not connected');
      lease.sentAt ??= Date.now();
      reply = await client.gatewayLease(...lease.args);
    } catch (error) {
      account.lost = lease;
      account.exactUntil = Date.now() + this.options.leaseMs;
      throw error;
    }
    // Failed part-way when first sent: what it did stands (how far it got is not known), nothing of it is taken on.
    if (reply[0] === 2) return;
    // Answered (now, or the first time if it was sent again): its spend is written.
    for (const [day, byModel] of lease.spend)
      for (const [model, usd] of byModel) this.options.ledger?.record(account.keyId, day, model, usd);
    if (reply[0] === 0) {
      account.inFlightMember = reply[1];
      account.leaseMember = '';
      // Refused: too close to a limit. A call that asked for no lease (spend written, a lease given back) was not.
      if (lease.want) account.exactUntil = Date.now() + this.options.leaseMs;
      return;
    }
    const [, rpm, rpmUsed, rpmTtl, rpmEnd, tpm, tpmUsed, tpmTtl, tpmEnd, leaseMember, spent, held, inFlightMember] = reply;
    account.inFlightMember = inFlightMember;
    account.leaseMember = leaseMember;
    account.rpmEnd = rpmEnd;
    // A lease with no TPM share (sized for a token count, counted against RPM alone) names no TPM window (0): the
    // requests of the last TPM lease still settle into theirs. Taken for a new window, their settlements would be
    // dropped, and their reservations stay in the window's count and in flight until it ends.
    if (tpmEnd > 0 && !sameWindow(account.tpmEnd, tpmEnd)) {
      // Settled while this call was under way, for the window that just ended.
      account.tokenAdjust = 0;
      account.tokensSettled = 0;
    }
    // The same window moved by a slot migration is named by its new end from now on.
    if (tpmEnd > 0) account.tpmEnd = tpmEnd;
    const at = Date.now();
    const windowEnd = Math.min(rpmEnd ? at + rpmTtl : Infinity, tpmEnd ? at + tpmTtl : Infinity);
    account.lease = {
      grantedFor: lease.want!,
      endsAt: Math.min(at + this.options.leaseMs, windowEnd),
      rpm,
      tpm,
      usd: leaseMember ? Number(leaseMember.slice(leaseMember.lastIndexOf(':') + 1)) : 0,
      rpmUsed,
      tpmUsed,
      rpmResetAt: at + rpmTtl,
      tpmResetAt: at + tpmTtl,
      spentUsd: Number(spent),
      heldUsd: Number(held),
    };
  }

  /**
   * Syncs again when the lease ends (renewed if it was used); a key that holds
   * nothing is forgotten, once its wait for the exact store is over.
   */
  private schedule(account: Account): void {
    clearTimeout(account.timer);
    if (this.closed) return;
    if (!holding(account)) {
      account.timer = setTimeout(
        () => {
          if (this.accounts.get(account.keyId) === account && !account.syncing && !account.inFlight) this.accounts.delete(account.keyId);
        },
        Math.max(0, account.exactUntil - Date.now()),
      );
      account.timer.unref();
      return;
    }
    const at = account.lease?.endsAt ?? Date.now() + this.options.leaseMs;
    account.timer = setTimeout(
      () => {
        if (account.syncing) return this.schedule(account);
        const renew =
          account.taken.requests > 0 && account.last && Date.now() >= account.exactUntil && this.leasing() ? account.last : undefined;
        this.sync(account, renew).catch(() => undefined);
      },
      Math.max(0, at - Date.now()),
    );
    account.timer.unref();
  }
}

/** Whether the account has anything to give back or write (in flight, a lease, spend, holds in Redis): it is synced again then. */
function holding(account: Account): boolean {
  return Boolean(
    account.lease ||
    account.lost ||
    account.inFlight > 0 ||
    account.spend.size > 0 ||
    account.tokenAdjust !== 0 ||
    account.tokensSettled !== 0 ||
    account.inFlightMember ||
    account.leaseMember,
  );
}

/** `spend` counted in the UTC day it is settled in: written up to a lease period later, it still belongs to that day and month. */
function addSpend(byDay: SpendByDay, spend: { model: string; usd: number }): void {
  if (!(spend.usd > 0)) return;
  const day = utcDay();
  let byModel = byDay.get(day);
  if (!byModel) byDay.set(day, (byModel = new Map()));
  byModel.set(spend.model, (byModel.get(spend.model) ?? 0) + spend.usd);
}

function sameLimits(a: AdmitInput, b: AdmitInput): boolean {
  return (
    a.windowMs === b.windowMs &&
    a.rpm === b.rpm &&
    a.tpm === b.tpm &&
    a.budget?.usd === b.budget?.usd &&
    a.budget?.period === b.budget?.period
  );
}
