/**
 * The start of a Redis script that counts what a tenant holds (stored responses, message threads),
 * in three keys of its own: a sorted set of expiries (entry → expiry, ms), a hash of sizes (entry →
 * bytes) and their total. It expects the locals `expiries`, `sizes`, `total` (those keys) and `now`
 * (ms); defines `forget(entry)`, which takes an entry out of the count, and `held()`, the total; and
 * forgets every entry past its expiry first (its keys expired on their own).
 */
export const TENANT_BYTES_LUA = `
local function forget(gone)
  redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, gone) or 0))
  redis.call('HDEL', sizes, gone)
  redis.call('ZREM', expiries, gone)
end
local function held() return tonumber(redis.call('GET', total) or 0) end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now)) do forget(gone) end`;
