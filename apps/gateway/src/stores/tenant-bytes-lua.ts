/**
 * The start of a Redis script that counts what a tenant holds (stored responses, message threads),
 * in three keys of its own: a sorted set of expiries (entry → expiry, ms), a hash of sizes (entry →
 * bytes) and their total. It expects the locals `expiries`, `sizes`, `total` (those keys) and `now`
 * (ms), and those named in `perEntry`: more hashes keyed by entry, whose field goes with it; defines
 * `forget(entry)`, which takes an entry out of the count, and `held()`, the total; and forgets every
 * entry past its expiry first (its keys expired on their own).
 */
export function tenantBytesLua(perEntry: string[] = []): string {
  return `
local function forget(gone)
  redis.call('DECRBY', total, tonumber(redis.call('HGET', sizes, gone) or 0))
  for _, hash in ipairs({sizes${perEntry.map((hash) => `, ${hash}`).join('')}}) do redis.call('HDEL', hash, gone) end
  redis.call('ZREM', expiries, gone)
end
local function held() return tonumber(redis.call('GET', total) or 0) end
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now)) do forget(gone) end`;
}
