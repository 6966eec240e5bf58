import type { Redis } from 'ioredis';
import { SPEND_RETENTION_SECONDS, SPEND_TOTAL_FIELD, spendKey, utcDay } from '@gateway/metrics';
import { limitKeys } from './limit-keys';
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
}

/** What a finished request gives back: unused tokens, its hold, and what it really cost. */
export interface SettleInput {
  keyId: string;
  /** Actual minus reserved tokens, when tokens were reserved. */
  tokenDelta?: number;
  spend?: { model: string; usd: number };
  hold?: { member: string; usd: number };
}

/**
 * RPM window, TPM reservation and budget hold for one request, all or nothing:
 * one Redis round trip to admit and one to settle, exact across replicas.
 */
export interface AdmissionStore {
  admit(input: AdmitInput): Promise<AdmitOutcome>;
  settle(input: SettleInput): Promise<void>;
}

// Windows start at their first use and end windowMs later. Refused requests count nothing.
// Holds of dead replicas are released here, a bounded number per call.
const ADMIT_SCRIPT = `
local window = tonumber(ARGV[1])
local function state(key)
  local used = tonumber(redis.call('GET', key) or '0')
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then ttl = window end
  return used, ttl
end
local function add(key, amount)
  redis.call('INCRBY', key, amount)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
local rpmLimit, tokens, tpmLimit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local rpmUsed, rpmTtl, tpmUsed, tpmTtl = 0, window, 0, window
if rpmLimit > 0 then
  rpmUsed, rpmTtl = state(KEYS[1])
  if rpmUsed + 1 > rpmLimit then return {'rpm', rpmUsed, rpmTtl, tpmUsed, tpmTtl, '0', '0'} end
end
if tpmLimit > 0 then
  tpmUsed, tpmTtl = state(KEYS[2])
  if tpmUsed + tokens > tpmLimit then return {'tpm', rpmUsed, rpmTtl, tpmUsed, tpmTtl, '0', '0'} end
end
local spent, held = 0, 0
if ARGV[5] ~= '' then
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[8], 'LIMIT', 0, 100)) do
    redis.call('ZREM', KEYS[5], m)
    redis.call('INCRBYFLOAT', KEYS[4], -tonumber(string.match(m, ':([^:]+)$')))
  end
  spent = tonumber(redis.call('HGET', KEYS[3], '${SPEND_TOTAL_FIELD}') or '0')
  held = math.max(0, tonumber(redis.call('GET', KEYS[4]) or '0'))
  local reserve = tonumber(ARGV[6])
  if spent + held + reserve > tonumber(ARGV[5]) then
    return {'budget', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held)}
  end
  held = held + reserve
  redis.call('INCRBYFLOAT', KEYS[4], reserve)
  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[7])
  local keep = tonumber(ARGV[9]) - tonumber(ARGV[8])
  redis.call('PEXPIRE', KEYS[4], keep)
  redis.call('PEXPIRE', KEYS[5], keep)
end
if rpmLimit > 0 then add(KEYS[1], 1); rpmUsed = rpmUsed + 1 end
if tpmLimit > 0 then add(KEYS[2], tokens); tpmUsed = tpmUsed + tokens end
return {'ok', rpmUsed, rpmTtl, tpmUsed, tpmTtl, tostring(spent), tostring(held)}`;

const SETTLE_SCRIPT = `
local delta = tonumber(ARGV[1])
if delta ~= 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('INCRBY', KEYS[1], delta) < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
end
local usd = tonumber(ARGV[3])
if usd > 0 then
  for i = 2, 3 do
    redis.call('HINCRBYFLOAT', KEYS[i], ARGV[2], usd)
    redis.call('HINCRBYFLOAT', KEYS[i], '${SPEND_TOTAL_FIELD}', usd)
    redis.call('EXPIRE', KEYS[i], ARGV[6])
  end
end
if ARGV[4] ~= '' and redis.call('ZREM', KEYS[5], ARGV[4]) == 1 then
  if tonumber(redis.call('INCRBYFLOAT', KEYS[4], -tonumber(ARGV[5]))) < 0 then redis.call('SET', KEYS[4], 0, 'KEEPTTL') end
end
return 1`;

type ScriptReply = [string, number, number, number, number, string, string];

export class RedisAdmissionStore implements AdmissionStore {
  constructor(private readonly client: Redis) {
    client.defineCommand('gatewayAdmit', { numberOfKeys: 5, lua: ADMIT_SCRIPT });
    client.defineCommand('gatewaySettle', { numberOfKeys: 5, lua: SETTLE_SCRIPT });
  }

  async admit(input: AdmitInput): Promise<AdmitOutcome> {
    const keys = limitKeys(input.keyId);
    const b = input.budget;
    const call = this.client as unknown as { gatewayAdmit(...args: (string | number)[]): Promise<ScriptReply> };
    const [verdict, rpmUsed, rpmTtl, tpmUsed, tpmTtl, spent, held] = await call.gatewayAdmit(
      keys.rpm,
      keys.tpm,
      spendKey(input.keyId, b?.period ?? ''),
      keys.held,
      keys.holds,
      input.windowMs,
      input.rpm ?? 0,
      input.tokens,
      input.tpm ?? 0,
      b ? b.usd : '',
      b?.reserveUsd ?? 0,
      b?.member ?? '',
      b?.now ?? 0,
      b?.until ?? 0,
    );
    return {
      refused: verdict === 'ok' ? undefined : (verdict as AdmitOutcome['refused']),
      rpm: { used: rpmUsed, resetMs: rpmTtl },
      tpm: { used: tpmUsed, resetMs: tpmTtl },
      spentUsd: Number(spent),
      heldUsd: Number(held),
    };
  }

  async settle(input: SettleInput): Promise<void> {
    const keys = limitKeys(input.keyId);
    const day = utcDay();
    const call = this.client as unknown as { gatewaySettle(...args: (string | number)[]): Promise<number> };
    await call.gatewaySettle(
      keys.tpm,
      spendKey(input.keyId, day),
      spendKey(input.keyId, day.slice(0, 7)),
      keys.held,
      keys.holds,
      input.tokenDelta ?? 0,
      input.spend?.model ?? '',
      input.spend?.usd ?? 0,
      input.hold?.member ?? '',
      input.hold?.usd ?? 0,
      SPEND_RETENTION_SECONDS,
    );
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
