import { FORGET_EXPIRED_PER_CALL, type RedisClient, REDIS_NOW_LUA } from '@gateway/redis';

/**
 * Writes a tenant's states and keeps the tenant within its bounds, in one script (one round trip).
 * KEYS: the tenant's index (sorted set: id → write time), sizes (hash: id → bytes), total bytes, then
 * the value keys written. ARGV: TTL (s), max entries, max bytes, the tenant's key prefix, then an id
 * and its JSON per value key. Entries past the TTL leave the index (their values expired on their
 * own), at most FORGET_EXPIRED_PER_CALL a call: the rest are the oldest, so they go first when the
 * tenant is past a bound, not counted as dropped; past either bound the tenant's oldest are dropped.
 * Write times are Redis' clock, the same for every replica: by each writer's own, a slow replica's
 * states left the index while still held (the tenant past maxEntries) and a fast one's looked newest
 * (the others' newer states dropped first). States a replica of an earlier version indexed by its own
 * clock, during a rolling upgrade, are off by its skew, as they were, for one TTL after it is replaced.
 */
const WRITE_SCRIPT = `
${REDIS_NOW_LUA}
local index, sizes, total = KEYS[1], KEYS[2], KEYS[3]
local now, ttl = redisNow(), tonumber(ARGV[1])
local expiredAt = now - ttl * 1000
local maxEntries, maxBytes, prefix = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local function forget(id)
  local size = tonumber(redis.call('HGET', sizes, id) or 0)
  redis.call('HDEL', sizes, id)
  redis.call('ZREM', index, id)
  redis.call('DECRBY', total, size)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', expiredAt, 'LIMIT', 0, ${FORGET_EXPIRED_PER_CALL})) do forget(id) end
for i = 4, #KEYS do
  local id, json = ARGV[2 * i - 3], ARGV[2 * i - 2]
  forget(id)
  redis.call('SET', KEYS[i], json, 'EX', ttl)
  redis.call('ZADD', index, now, id)
  redis.call('HSET', sizes, id, #json)
  redis.call('INCRBY', total, #json)
end
local dropped = 0
while redis.call('ZCARD', index) > maxEntries or tonumber(redis.call('GET', total) or 0) > maxBytes do
  local oldest = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
  if not oldest[1] then break end
  forget(oldest[1])
  -- The tenant's hash tag is in this key too: the same slot as KEYS, so the script stays on one shard.
  redis.call('DEL', prefix .. oldest[1])
  if tonumber(oldest[2]) > expiredAt then dropped = dropped + 1 end
end
for _, key in ipairs({index, sizes, total}) do redis.call('EXPIRE', key, ttl) end
return dropped`;

export interface TenantBounds {
  ttlSeconds: number;
  maxEntries: number;
  maxBytes: number;
}

/**
 * The Redis side of the kept reasoning state: one key per state, `<prefix>{<tenant>}:<id>`, and per
 * tenant an index of what it wrote, so that a client cannot make the gateway store without bound
 * within the TTL: past `maxEntries` or `maxBytes` the tenant's oldest states are dropped (a tool loop
 * sends back the calls it was just answered, so the newest are the ones worth keeping). The tenant is
 * the hash tag of every key: one tenant's keys are on one shard of a cluster.
 */
export class TenantBoundedWrites {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly bounds: TenantBounds,
  ) {
    if (!('gatewayReasoningWrite' in client)) client.defineCommand('gatewayReasoningWrite', { lua: WRITE_SCRIPT });
  }

  /** The key of one state. */
  key(tenant: string, id: string): string {
    return `${this.prefix}{${tenant}}:${id}`;
  }

  /** Writes `states` (id → JSON) for `tenant`; resolves to how many older states were dropped for its bounds. */
  async write(tenant: string, states: readonly (readonly [id: string, json: string])[]): Promise<number> {
    const { ttlSeconds, maxEntries, maxBytes } = this.bounds;
    const tenantKey = this.key(tenant, '');
    const keys = [`${tenantKey}index`, `${tenantKey}sizes`, `${tenantKey}bytes`, ...states.map(([id]) => this.key(tenant, id))];
    const args = [ttlSeconds, maxEntries, maxBytes, tenantKey, ...states.flat()];
    const commands = this.client as unknown as { gatewayReasoningWrite(n: number, ...rest: (string | number)[]): Promise<number> };
    return commands.gatewayReasoningWrite(keys.length, ...keys, ...args);
  }
}
