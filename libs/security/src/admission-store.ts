import type { RedisClient } from '@gateway/redis';
import { SPEND_RETENTION_SECONDS, spendKey, utcDay } from '@gateway/metrics';
import { limitKeys } from './limit-keys';
import { LIMIT_LUA } from './limit-lua';
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
  /** Set when admitted from this replica's lease (lease-store.ts): hand it back to settle. */
  ticket?: LeaseTicket;
}

/** What a finished request gives back: unused tokens, its hold, and what it really cost. */
export interface SettleInput {
  keyId: string;
  /** Actual minus reserved tokens, when tokens were reserved. */
  tokenDelta?: number;
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
  settle(input: SettleInput): Promise<void>;
  /** Gives back what the store holds in advance (leases); called once at shutdown. */
  close?(): Promise<void>;
}

/** Most operations one script call carries: bounds the time Redis spends in one script. */
const MAX_BATCH = 128;
/** Values an admission returns in the script's reply. */
const ADMIT_REPLY_SIZE = 7;

// One script runs a batch of one key's admissions and settlements in arrival order, exactly as
// if each had been sent alone. KEYS: rpm, tpm, held, holds, leases, then the spend hashes the batch uses.
// ARGV[1] is the spend retention; then each operation:
//   'a' windowMs rpm tokens tpm budgetUsd('' = none) reserveUsd member now until spendKeyIndex
//   's' tokenDelta model usd holdMember dayKeyIndex monthKeyIndex (the hold's USD is in its member)
// Windows start at their first use and end windowMs later. Refused requests count nothing.
// Holds of dead replicas are released by admissions, a bounded number per call.
const BATCH_SCRIPT = `${LIMIT_LUA}
local function admit(a)
  local window, rpmLimit, tokens, tpmLimit = tonumber(a[1]), tonumber(a[2]), tonumber(a[3]), tonumber(a[4])
  local rpmUsed, rpmTtl, tpmUsed, tpmTtl = 0, window, 0, window
  if rpmLimit > 0 then
    rpmUsed, rpmTtl = state(KEYS[1], window)
    if rpmUsed + 1 > rpmLimit then return {'rpm', rpmUsed, waitFor(KEYS[5], rpmTtl), tpmUsed, tpmTtl, '0', '0'} end
  end
  if tpmLimit > 0 then
    tpmUsed, tpmTtl = state(KEYS[2], window)
    if tpmUsed + tokens > tpmLimit then return {'tpm', rpmUsed, rpmTtl, tpmUsed, waitFor(KEYS[5], tpmTtl), '0', '0'} end
  end
  local spent, held = 0, 0
  if a[5] ~= '' then
    releaseLapsed(KEYS[4], KEYS[3], a[8])
    spent = spentIn(KEYS[tonumber(a[10])])
    held = heldIn(KEYS[3])
    local reserve = tonumber(a[6])
    if spent + held + reserve > tonumber(a[5]) then
      return {'budget', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held)}
    end
    held = held + reserve
    addHold(KEYS[4], KEYS[3], a[7], reserve, tonumber(a[8]), tonumber(a[9]))
  end
  if rpmLimit > 0 then add(KEYS[1], 1, window); rpmUsed = rpmUsed + 1 end
  if tpmLimit > 0 then add(KEYS[2], tokens, window); tpmUsed = tpmUsed + tokens end
  return {'ok', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held)}
end
local function settle(s)
  local delta = tonumber(s[1])
  if delta ~= 0 and redis.call('EXISTS', KEYS[2]) == 1 then
    if redis.call('INCRBY', KEYS[2], delta) < 0 then redis.call('SET', KEYS[2], 0, 'KEEPTTL') end
  end
  local usd = tonumber(s[3])
  if usd > 0 then
    for _, i in ipairs({tonumber(s[5]), tonumber(s[6])}) do addSpend(KEYS[i], s[2], usd, ARGV[1]) end
  end
  releaseHold(KEYS[4], KEYS[3], s[4])
end
local out, i = {}, 2
while i <= #ARGV do
  if ARGV[i] == 'a' then
    for _, v in ipairs(admit({unpack(ARGV, i + 1, i + 10)})) do out[#out + 1] = v end
    i = i + 11
  else
    settle({unpack(ARGV, i + 1, i + 6)})
    i = i + 7
  end
end
return out`;

type Pending =
  | { kind: 'admit'; input: AdmitInput; resolve(outcome: AdmitOutcome): void; reject(error: unknown): void }
  | { kind: 'settle'; input: SettleInput; resolve(): void; reject(error: unknown): void };

/**
 * Admissions and settlements of one event-loop turn are sent per gateway key as one
 * script call: under load one Redis write and reply serve many requests, and a
 * request waits for nothing but the end of the turn it was admitted in.
 */
export class RedisAdmissionStore implements AdmissionStore {
  private pending = new Map<string, Pending[]>();
  private flushScheduled = false;

  constructor(private readonly client: RedisClient) {
    client.defineCommand('gatewayAdmission', { lua: BATCH_SCRIPT });
  }

  admit(input: AdmitInput): Promise<AdmitOutcome> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'admit', input, resolve, reject }));
  }

  settle(input: SettleInput): Promise<void> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'settle', input, resolve, reject }));
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
    const keys = limitKeys(keyId);
    const spendKeys: string[] = [];
    const spendKeyIndex = (period: string) => {
      const key = spendKey(keyId, period);
      const at = spendKeys.indexOf(key);
      return 6 + (at >= 0 ? at : spendKeys.push(key) - 1); // Lua's KEYS index: after the five fixed keys
    };
    const args: (string | number)[] = [SPEND_RETENTION_SECONDS];
    const day = utcDay();
    for (const op of ops) {
      if (op.kind === 'admit') {
        const { windowMs, rpm, tokens, tpm, budget: b } = op.input;
        args.push('a', windowMs, rpm ?? 0, tokens, tpm ?? 0, b ? b.usd : '', b?.reserveUsd ?? 0, b?.member ?? '', b?.now ?? 0);
        args.push(b?.until ?? 0, b ? spendKeyIndex(b.period) : 0);
      } else {
        const { tokenDelta, spend, hold } = op.input;
        args.push('s', tokenDelta ?? 0, spend?.model ?? '', spend?.usd ?? 0, hold?.member ?? '');
        args.push(spendKeyIndex(day), spendKeyIndex(day.slice(0, 7)));
      }
    }
    const call = this.client as unknown as { gatewayAdmission(...args: (string | number)[]): Promise<(string | number)[]> };
    let reply: (string | number)[];
    try {
      reply = await call.gatewayAdmission(
        5 + spendKeys.length,
        keys.rpm,
        keys.tpm,
        keys.held,
        keys.holds,
        keys.leases,
        ...spendKeys,
        ...args,
      );
    } catch (error) {
      for (const op of ops) op.reject(error);
      return;
    }
    let at = 0;
    for (const op of ops) {
      if (op.kind === 'settle') {
        op.resolve();
        continue;
      }
      const [verdict, rpmUsed, rpmTtl, tpmUsed, tpmTtl, spent, held] = reply.slice(at, (at += ADMIT_REPLY_SIZE));
      op.resolve({
        refused: verdict === 'ok' ? undefined : (verdict as AdmitOutcome['refused']),
        rpm: { used: Number(rpmUsed), resetMs: Number(rpmTtl) },
        tpm: { used: Number(tpmUsed), resetMs: Number(tpmTtl) },
        spentUsd: Number(spent),
        heldUsd: Number(held),
      });
    }
  }
}

/** The same semantics in one process, for a gateway without Redis. */
export class MemoryAdmissionStore implements AdmissionStore {
  private readonly spent = new Map<string, number>();
  private readonly holds = new Map<string, number>();

  constructor(private readonly windows: MemoryWindowCounter) {}

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
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
    if (input.tpm !== undefined && tpm.used + input.tokens > input.tpm) return outcome('tpm');
    let spent = 0;
    let held = 0;
    const b = input.budget;
    if (b) {
      spent = this.spent.get(spendKey(input.keyId, b.period)) ?? 0;
      held = this.holds.get(keys.held) ?? 0;
      if (spent + held + b.reserveUsd > b.usd) return outcome('budget', spent, held);
      held += b.reserveUsd;
      this.holds.set(keys.held, held);
    }
    if (input.rpm !== undefined) rpm.used += 1;
    if (input.tpm !== undefined) tpm.used += input.tokens;
    return outcome(undefined, spent, held);
  }

  async settle(input: SettleInput): Promise<void> {
    const keys = limitKeys(input.keyId);
    const tpm = this.windows.current(keys.tpm);
    if (input.tokenDelta && tpm) tpm.used = Math.max(0, tpm.used + input.tokenDelta);
    if (input.spend && input.spend.usd > 0) {
      const day = utcDay();
      for (const period of [day, day.slice(0, 7)]) {
        const key = spendKey(input.keyId, period);
        this.spent.set(key, (this.spent.get(key) ?? 0) + input.spend.usd);
      }
    }
    if (input.hold) this.holds.set(keys.held, Math.max(0, (this.holds.get(keys.held) ?? 0) - input.hold.usd));
  }
}
