import { REDIS_NOW_LUA } from '@gateway/redis';

/**
 * The start of a Redis script that counts what a tenant holds (stored responses, message threads),
 * in three keys of its own: a sorted set of expiries (entry → expiry, ms), a hash of sizes (entry →
 * bytes) and their total. It expects the locals `expiries`, `sizes` and `total` (those keys), and
 * those named in `perEntry`: more hashes keyed by entry, whose field goes with it; defines `now`,
 * Redis' clock (ms), by which every expiry is scored and compared, `forget(entry)`, which takes an
 * entry out of the count, and `held()`, the total; and forgets every entry past its expiry first (its
 * keys expired on their own). Redis' clock, not the caller's: scored by a replica 2 min fast, what it
 * stored stayed counted 2 min after Redis expired it (another replica refused to store, the key far
 * under its bound); by a slow one, it was forgotten while still held. Entries a replica of an earlier
 * version scored by its own clock, during a rolling upgrade, are forgotten when Redis' clock passes
 * that score: off by that replica's skew, as they were, and gone one TTL after it is replaced.
 */
export function tenantBytesLua(perEntry: string[] = []): string {
  return `${REDIS_NOW_LUA}
local now = redisNow()
local function forget(gone)
  redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, gone) or 0))
  for _, hash in ipairs({sizes${perEntry.map((hash) => `, ${hash}`).join('')}}) do redis.call('HDEL', hash, gone) end
  redis.call('ZREM', expiries, gone)
end
local function held() return tonumber(redis.call('GET', total) or 0) end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now)) do forget(gone) end`;
}
