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
  /** Corrects a window that is still open (token reservations reconciled with actual usage). */
  adjust(key: string, delta: number): Promise<void>;
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

const ADJUST_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('INCRBY', KEYS[1], ARGV[1])
  if v < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL') end
end
return 1`;

export class RedisWindowCounter implements WindowCounter {
  constructor(private readonly client: RedisClient) {
    client.defineCommand('gatewayWindowAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
    client.defineCommand('gatewayWindowAdjust', { numberOfKeys: 1, lua: ADJUST_SCRIPT });
  }

  async add(key: string, amount: number, limit: number, windowMs: number): Promise<WindowResult> {
    const commands = this.client as unknown as {
      gatewayWindowAdd(k: string, a: number, l: number, w: number): Promise<[number, number, number]>;
    };
    const [ok, used, resetMs] = await commands.gatewayWindowAdd(key, amount, limit, windowMs);
    return { ok: ok === 1, used, resetMs };
  }

  async adjust(key: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await (this.client as unknown as { gatewayWindowAdjust(k: string, d: number): Promise<number> }).gatewayWindowAdjust(key, delta);
  }

  async peek(key: string): Promise<number> {
    return Number((await this.client.get(key)) ?? 0);
  }
}

export class MemoryWindowCounter implements WindowCounter {
  private readonly windows = new Map<string, { used: number; resetAt: number }>();
  private lastSweep = Date.now();

  async add(key: string, amount: number, limit: number, windowMs: number): Promise<WindowResult> {
    const now = Date.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) this.windows.set(key, (w = { used: 0, resetAt: now + windowMs }));
    const ok = w.used + amount <= limit;
    if (ok) w.used += amount;
    return { ok, used: w.used, resetMs: w.resetAt - now };
  }

  async adjust(key: string, delta: number): Promise<void> {
    const w = this.windows.get(key);
    if (w && w.resetAt > Date.now()) w.used = Math.max(0, w.used + delta);
  }

  async peek(key: string): Promise<number> {
    const w = this.windows.get(key);
    return w && w.resetAt > Date.now() ? w.used : 0;
  }

  /** Drops ended windows now and then, so unused keys do not pile up. */
  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
