import { FORGET_EXPIRED_PER_CALL, REDIS_NOW_LUA } from '@gateway/redis';

/**
 * The start of a Redis script that counts what a tenant holds (stored responses, message threads),
 * in three keys of its own: a sorted set of expiries (entry → expiry, ms), a hash of sizes (entry →
 * bytes) and their total. It expects the locals `expiries`, `sizes` and `total` (those keys), and
 * those named in `perEntry`: more hashes keyed by entry, whose field goes with it; defines `now`,
 * Redis' clock (ms), by which every expiry is scored and compared, `forget(entry)`, which takes an
 * entry out of the count, `held()`, the total, and `roomFor(bytes, bound)`; and forgets entries past
 * their expiry first (their keys expired on their own), the soonest expired first, at most
 * FORGET_EXPIRED_PER_CALL: many expiring together (a quiet night) are forgotten over later calls, not
 * all in one that holds Redis. Until then they still count in `held()`: `roomFor` says whether `bytes`
 * more fit within `bound`, forgetting more expired entries while they do not, so that a write is not
 * refused for what has expired: no more than the write needs (its size in expired bytes, in batches).
 * Redis' clock, not the caller's: scored by a replica 2 min fast, what it stored stayed counted 2 min
 * after Redis expired it (another replica refused to store, the key far under its bound); by a slow
 * one, it was forgotten while still held. Entries a replica of an earlier version scored by its own
 * clock, during a rolling upgrade, are forgotten when Redis' clock passes that score: off by that
 * replica's skew, as they were, and gone one TTL after it is replaced.
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
local function forgetExpired()
  local expired = redis.call('ZRANGEBYSCORE', expiries, '-inf', now, 'LIMIT', 0, ${FORGET_EXPIRED_PER_CALL})
  for _, gone in ipairs(expired) do forget(gone) end
  return #expired
end
local function roomFor(bytes, bound)
  while held() + bytes > bound do
    if forgetExpired() == 0 then return false end
  end
  return true
end
forgetExpired()`;
}
