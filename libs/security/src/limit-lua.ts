import { SPEND_LAPSED_FIELD, SPEND_TOTAL_FIELD } from '@gateway/metrics';
import { REDIS_NOW_LUA } from '@gateway/redis';

/** How long after its end a replica's lease counts as being given back (see waitFor). */
const LEASE_RETURN_GRACE_MS = 2_000;

/**
 * How far a window's end (PEXPIRETIME, its name) may have moved and still be the same window. A slot moving to another
 * shard (MIGRATE) carries a key's remaining time, and the target adds its own clock when it restores it: the end moves
 * by the transfer time and the two nodes' clock difference (ms, seconds at worst), and settlements that compared it
 * exactly gave nothing back after a reshard. A key's next window ends a whole window (a minute) later at least, as it
 * opens only once the last one has expired, so an end this close can name no other window.
 */
const WINDOW_END_DRIFT_MS = 10_000;

/** Whether two ends (PEXPIRETIME) name the same window, one of them perhaps moved by a slot migration. */
export const sameWindow = (end: number, other: number): boolean => Math.abs(end - other) < WINDOW_END_DRIFT_MS;

/**
 * Lua shared by the admission script (admission-store.ts) and the lease script
 * (lease-store.ts), so both count windows, holds and spend the same way.
 * Windows start at their first use and end `window` ms later. Budget holds are
 * members `<id>:<usd>` of a sorted set scored by when they lapse, summed in a counter.
 */
export const LIMIT_LUA = `
local function state(key, window)
  local used = tonumber(redis.call('GET', key) or '0')
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then ttl = window end
  return used, ttl
end
local function add(key, amount, window)
  redis.call('INCRBY', key, amount)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
-- A window is named by when it expires (PEXPIRETIME); a slot migration moves that a little (sameWindow in TypeScript).
local function sameWindow(ends, at) return math.abs(ends - at) < ${WINDOW_END_DRIFT_MS} end
-- Takes back \`amount\` from the window named \`at\`, only if that window is still the current one: what is given
-- back goes only to the window it was taken from.
local function giveBack(key, at, amount)
  if amount == 0 or at == 0 or not sameWindow(redis.call('PEXPIRETIME', key), at) then return end
  if redis.call('DECRBY', key, amount) < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
end
-- Tokens of a TPM window reserved and not settled yet, counted in \`flight\` too, which ends with the window
-- (\`at\`, its PEXPIRETIME): used minus in flight is settled use, so a refusal knows whether waiting for
-- settlements helps. The count never stays at zero or below (deleted), so a new one gets its expiry.
local function reserveInFlight(flight, amount, at)
  if amount ~= 0 and redis.call('INCRBY', flight, amount) == amount then redis.call('PEXPIREAT', flight, at) end
end
-- Settled (or given back) in the window the caller checked is still the one they were reserved in.
local function releaseInFlight(flight, amount)
  if amount ~= 0 and redis.call('DECRBY', flight, amount) <= 0 then redis.call('DEL', flight) end
end
-- The same, checking that the window \`tpm\` is still the one named \`at\`, as giveBack does.
local function releaseInFlightOf(tpm, flight, at, amount)
  if at ~= 0 and sameWindow(redis.call('PEXPIRETIME', tpm), at) then releaseInFlight(flight, amount) end
end
local function inFlightOf(flight, used)
  return math.min(used, math.max(0, tonumber(redis.call('GET', flight) or '0')))
end
local function holdUsd(member)
  return tonumber(string.match(member, ':([^:]+)$'))
end
-- Takes a released hold's USD off the sum; with no hold left the sum is 0 exactly (the key goes): the float sum of
-- holds added and taken off left a residue (1e-17) that refused, until the reset, a hold sized to what was left.
local function lessHeld(holds, held, usd)
  if redis.call('EXISTS', holds) == 0 then redis.call('DEL', held) return end
  if tonumber(redis.call('INCRBYFLOAT', held, -usd)) < 0 then redis.call('SET', held, 0, 'KEEPTTL') end
end
local function releaseHold(holds, held, member)
  if member ~= '' and redis.call('ZREM', holds, member) == 1 then lessHeld(holds, held, holdUsd(member)) end
end
local function addHold(holds, held, member, usd, now, untilMs)
  redis.call('INCRBYFLOAT', held, usd)
  redis.call('ZADD', holds, untilMs, member)
  local keep = untilMs - now
  for _, k in ipairs({held, holds}) do
    if redis.call('PTTL', k) < keep then redis.call('PEXPIRE', k, keep) end
  end
end
local function addSpend(key, model, usd, retention)
  redis.call('HINCRBYFLOAT', key, model, usd)
  redis.call('HINCRBYFLOAT', key, '${SPEND_TOTAL_FIELD}', usd)
  redis.call('EXPIRE', key, retention)
end
-- Holds of replicas that died before settling, a bounded number per call. Each is charged as spent
-- at its worst case: the requests it covers may have been answered (a replica's leased requests are
-- reported a lease period late), and freeing it uncharged could let the budget be spent twice.
local function releaseLapsed(holds, held, now, day, month, retention)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 100)) do
    redis.call('ZREM', holds, m)
    lessHeld(holds, held, holdUsd(m))
    for _, key in ipairs({day, month}) do addSpend(key, '${SPEND_LAPSED_FIELD}', holdUsd(m), retention) end
  end
end
local function spentIn(key)
  return tonumber(redis.call('HGET', key, '${SPEND_TOTAL_FIELD}') or '0')
end
${REDIS_NOW_LUA}
-- A refusal's wait: the window's end, or sooner when another replica's lease of it ends first
-- (what that replica did not use then comes back). A lease that ended less than
-- ${LEASE_RETURN_GRACE_MS} ms ago is being given back (its replica's timer runs late on a busy
-- machine): retry at once; older ones belong to a replica that died, whose slice comes back with the window.
-- (A lease's tokens are kept beside its end, as field '<replica>:tpm': skipped here, see stoppedLeaseTokens.)
local function waitFor(leases, ttl)
  local clock = redisNow()
  local fields = redis.call('HGETALL', leases)
  for i = 1, #fields, 2 do
    local left = tonumber(fields[i + 1]) - clock
    if not string.find(fields[i], ':tpm$') and left > -${LEASE_RETURN_GRACE_MS} and left < ttl then ttl = math.max(1, left) end
  end
  return ttl
end
-- The TPM tokens leased by replicas whose lease ended more than ${LEASE_RETURN_GRACE_MS} ms ago and was not given
-- back (they stopped, as waitFor takes them): counted in flight until the window ends.
local function stoppedLeaseTokens(leases)
  local clock, tokens = redisNow(), 0
  local fields = redis.call('HGETALL', leases)
  for i = 1, #fields, 2 do
    if not string.find(fields[i], ':tpm$') and tonumber(fields[i + 1]) - clock <= -${LEASE_RETURN_GRACE_MS} then
      tokens = tokens + tonumber(redis.call('HGET', leases, fields[i] .. ':tpm') or '0')
    end
  end
  return tokens
end
-- The holds of replicas that stopped: one whose holds renewed by its lease syncs ('<replica>-<call>:f:<usd>' for its
-- requests in flight, ':l:' for its lease) lapse before \`before\` was not renewed for several lease periods; its
-- requests' own holds ('<replica>-<n>:<usd>') are a stopped replica's too. Their USD, and when the last of them lapses.
local function stoppedHolds(holds, before)
  local stopped, any = {}, false
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', '(' .. before, 'LIMIT', 0, 1000)) do
    local replica = string.match(m, '^(%x+)%-%d+:[fl]:')
    if replica then stopped[replica], any = true, true end
  end
  local usd, lapse = 0, 0
  if not any then return usd, lapse end
  local all = redis.call('ZRANGE', holds, 0, 999, 'WITHSCORES')
  for i = 1, #all, 2 do
    if stopped[string.match(all[i], '^(%x+)%-')] then
      usd = usd + holdUsd(all[i])
      lapse = math.max(lapse, tonumber(all[i + 1]))
    end
  end
  return usd, lapse
end
local function heldIn(held)
  return math.max(0, tonumber(redis.call('GET', held) or '0'))
end
`;
