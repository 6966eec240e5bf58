/**
 * Lua defining `redisNow()`: Redis' clock in ms (TIME), the same for every replica whatever its host's
 * clock. Scripts that score or prune shared entries by time use it, never a replica's Date.now(): a
 * replica N seconds off would move the entries it scored by N seconds for every replica. TIME before
 * writes needs a script's effects to be replicated, not the script: always so since Redis 7.0 (the
 * default since 5.0), which the gateway's scripts need anyway (PEXPIRETIME). It takes no key, so a
 * script using it still runs on its keys' one slot of Redis Cluster.
 */
export const REDIS_NOW_LUA = `
local function redisNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;
