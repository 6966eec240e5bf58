import type { RedisClient } from '@gateway/redis';

export interface WindowResult {
  /** False when adding would pass the limit; nothing was added then. */
  ok: boolean;
  /** Amount used in the window after this call. */
  used: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/**
 * Fixed windows that start at their first use: `add` counts `amount` against
 * `limit` unless that would pass it. One Redis script call, so every replica
 * shares the count exactly; or a Map when there is no Redis.
 */
export interface WindowCounter {
  add(key: string, amount: number, limit: number, windowMs: number): Promise<WindowResult>;
  /** Current use without adding, for reports. */
  peek(key: string): Promise<number>;
}

const ADD_SCRIPT = `
local amount = tonumber(ARGV[1])
local used = redis.call('INCRBY', KEYS[1], amount)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]); ttl = tonumber(ARGV[3]) end
if used > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], amount)
  return {0, used - amount, ttl}
end
return {1, used, ttl}`;

export class RedisWindowCounter implements WindowCounter {
  constructor(private readonly client: RedisClient) {
    client.defineCommand('gatewayWindowAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
  }

  async add(key: string, amount: number, limit: number, windowMs: number): Promise<WindowResult> {
    const commands = this.client as unknown as {
      gatewayWindowAdd(k: string, a: number, l: number, w: number): Promise<[number, number, number]>;
    };
    const [ok, used, resetMs] = await commands.gatewayWindowAdd(key, amount, limit, windowMs);
    return { ok: ok === 1, used, resetMs };
  }

  async peek(key: string): Promise<number> {
    return Number((await this.client.get(key)) ?? 0);
  }
}

interface MemoryWindow {
  used: number;
  resetAt: number;
  /** Of `used`, what requests in flight reserved (TPM windows; see AdmitOutcome's `tpm.inFlight`). */
  inFlight: number;
}

export class MemoryWindowCounter implements WindowCounter {
  private readonly windows = new Map<string, MemoryWindow>();
  private lastSweep = Date.now();

  async add(key: string, amount: number, limit: number, windowMs: number): Promise<WindowResult> {
    const now = Date.now();
    const w = this.open(key, windowMs, now);
    const ok = w.used + amount <= limit;
    if (ok) w.used += amount;
    return { ok, used: w.used, resetMs: w.resetAt - now };
  }

  async peek(key: string): Promise<number> {
    return this.current(key)?.used ?? 0;
  }

  /** The window of `key`, a new one when the last has ended; callers may change `used` directly. */
  open(key: string, windowMs: number, now = Date.now()): MemoryWindow {
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) this.windows.set(key, (w = { used: 0, resetAt: now + windowMs, inFlight: 0 }));
    return w;
  }

  /** The window of `key` while it is open. */
  current(key: string): MemoryWindow | undefined {
    const w = this.windows.get(key);
    return w && w.resetAt > Date.now() ? w : undefined;
  }

  /** Drops ended windows now and then, so unused keys do not pile up. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
