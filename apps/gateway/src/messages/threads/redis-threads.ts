import type { RedisClient } from '@gateway/redis';
import { tenantBytesLua } from '../../stores/tenant-bytes-lua';
import type { Appended, Found, NewTurn, ThreadBackend } from './thread-backend';

/**
 * A thread read from its head and turns (KEYS of the script, or keys the reading script builds): nil when they
 * did not all outlive their TTL (turns missing), else the thread's id, fixed fields, latest response id, then its turns.
 */
const THREAD_LUA = `
local function thread(id, headKey, turnsKey)
  local head = redis.call('HMGET', headKey, 'fixed', 'last', 'count')
  if not head[1] then return false end
  local turns = redis.call('LRANGE', turnsKey, 0, -1)
  if #turns ~= tonumber(head[3]) then return false end
  local out = {id, head[1], head[2]}
  for _, turn in ipairs(turns) do out[#out + 1] = turn end
  return out
end`;

/**
 * A response id's thread in one read (a script: never a turn half written). KEYS: the response's
 * key. ARGV: the tenant's key prefix. Returns nil, the thread (THREAD_LUA), or only its id when its
 * head or turns read as gone (RedisThreads.read tells).
 */
const READ_SCRIPT = `${THREAD_LUA}
local pointer = redis.call('GET', KEYS[1])
if not pointer then return false end
local ok, named = pcall(cjson.decode, pointer)
if not ok or type(named) ~= 'table' or type(named.thread) ~= 'string' then return false end
-- The tenant's hash tag is in these keys too: the slot of KEYS[1], so the script stays on one shard.
local base = ARGV[1] .. 'thread:' .. named.thread
return thread(named.thread, base .. ':head', base .. ':turns') or {named.thread}`;

/** A thread by its keys. KEYS: its head and turns. ARGV: its id. Returns nil or the thread (THREAD_LUA). */
const THREAD_SCRIPT = `${THREAD_LUA}
return thread(ARGV[1], KEYS[1], KEYS[2])`;

/**
 * Adds a turn: RPUSH onto the thread's turns, its answer's id onto its ids, the head's `last` moved
 * to it, the answer's id naming the thread; then every key of the thread (the ids of its earlier
 * responses and their marks included) expires TTL seconds from now. Conditional: on a create, that
 * the thread is new; else that its latest response is the one continued (`moved` if not, `gone` if
 * the thread expired or lost turns: the caller then writes it whole); and that the tenant holds no
 * more than its bound with it (`over_bound`: nothing written), counted per thread (the bytes of its
 * fixed fields and turns) in the tenant's expiries (sorted set: thread → expiry, ms, by Redis'
 * clock: tenantBytesLua), sizes (hash) and total, threads past their expiry leaving the total
 * (a bounded number first, more when the turn would not fit: `roomFor`). KEYS: head (hash: fixed,
 * last, count), turns (list), ids (list), the answer's key, expiries, sizes, total. ARGV: the tenant's key prefix, the response continued ('' on a create),
 * fixed, the turn, the answer's id, TTL, the answer's key's value, the tenant's bound (bytes), the
 * thread's id.
 */
const APPEND_SCRIPT = `
local head, turns, ids = KEYS[1], KEYS[2], KEYS[3]
local expiries, sizes, total = KEYS[5], KEYS[6], KEYS[7]
local prefix, after, ttl = ARGV[1], ARGV[2], tonumber(ARGV[6])
local bound, thread = tonumber(ARGV[8]), ARGV[9]
${tenantBytesLua()}
local adding = #ARGV[4]
if after == '' then
  if redis.call('EXISTS', head) == 1 then return 'moved' end
  -- Written anew (a create, or a thread that lost turns): what was counted of it goes.
  forget(thread)
  adding = adding + #ARGV[3]
  if not roomFor(adding, bound) then return 'over_bound' end
  redis.call('DEL', turns, ids)
  redis.call('HSET', head, 'fixed', ARGV[3])
else
  local last = redis.call('HMGET', head, 'last', 'count')
  if not last[1] then return 'gone' end
  if last[1] ~= after then return 'moved' end
  -- Turns lost (a key evicted under maxmemory): appending would cut the thread to this turn. What is left
  -- goes, and the caller writes the thread anew from the whole conversation its continue sent.
  if redis.call('LLEN', turns) ~= tonumber(last[2]) then
    redis.call('DEL', head, turns, ids)
    return 'gone'
  end
  if not roomFor(adding, bound) then return 'over_bound' end
end
local count = redis.call('RPUSH', turns, ARGV[4])
redis.call('RPUSH', ids, ARGV[5])
redis.call('HSET', head, 'last', ARGV[5], 'count', count)
redis.call('SET', KEYS[4], ARGV[7], 'EX', ttl)
redis.call('HINCRBY', sizes, thread, adding)
redis.call('INCRBY', total, adding)
redis.call('ZADD', expiries, now + ttl * 1000, thread)
for _, key in ipairs({head, turns, ids, expiries, sizes, total}) do redis.call('EXPIRE', key, ttl) end
for _, id in ipairs(redis.call('LRANGE', ids, 0, -2)) do
  redis.call('EXPIRE', prefix .. id, ttl)
  redis.call('EXPIRE', prefix .. 'next:' .. id, ttl)
end
return 'kept'`;

/**
 * Changes a claim only if its holder still holds it: a claim that lapsed (its replica paused, or
 * lost Redis) and was taken by another continue is the other's. KEYS: the mark. ARGV: the holder,
 * 'renew' or 'release', the value a release leaves ('' deletes), TTL.
 */
const CLAIM_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'renew' then return redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4]) end
return 1`;

interface ThreadCommands {
  gatewayThreadRead(key: string, prefix: string): Promise<string[] | null>;
  gatewayThreadByKeys(head: string, turns: string, id: string): Promise<string[] | null>;
  gatewayThreadAppend(...args: (string | number)[]): Promise<Appended>;
  gatewayThreadClaim(key: string, holder: string, action: 'renew' | 'release', next: string, ttl: number): Promise<number>;
}

/**
 * Threads in Redis, every key `<prefix>{<tenant>}:…`: the tenant is the hash tag, so a thread's keys
 * and the response ids naming it are in one slot (a response id does not say which thread it is in,
 * so its key has to share the thread's slot for one script to read both), on Redis Cluster too.
 * Per thread `thread:<id>:head`, `:turns` and `:ids`; per response `<response id>` (its thread) and
 * `next:<response id>` (who continues it); per tenant `~expiries`, `~sizes` and `~bytes`, which count
 * what its threads hold: past `maxBytes` a turn is not kept.
 */
export class RedisThreads implements ThreadBackend {
  readonly capacity = undefined;
  private readonly commands: ThreadCommands;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly maxBytes: number,
  ) {
    if (!('gatewayThreadRead' in client)) {
      client.defineCommand('gatewayThreadRead', { numberOfKeys: 1, lua: READ_SCRIPT });
      client.defineCommand('gatewayThreadByKeys', { numberOfKeys: 2, lua: THREAD_SCRIPT });
      client.defineCommand('gatewayThreadAppend', { numberOfKeys: 7, lua: APPEND_SCRIPT });
      client.defineCommand('gatewayThreadClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    }
    this.commands = client as unknown as ThreadCommands;
  }

  private tenantPrefix(tenant: string): string {
    return `${this.prefix}{${tenant}}:`;
  }

  async read(tenant: string, responseId: string): Promise<Found> {
    const at = this.tenantPrefix(tenant);
    let found = await this.commands.gatewayThreadRead(at + responseId, at);
    if (found?.length === 1) {
      // The thread's head or turns read as gone. While a Redis Cluster migrates the tenant's slot that may be keys not
      // yet moved to the node the script was asked on (ASK follows the keys in KEYS, and these were built from the
      // response's): found by an independent check, a continue was answered 404 for a thread that exists. Read again
      // with them in KEYS, Redis runs it where they are (or refuses TRYAGAIN while they are split: 529).
      const base = `${at}thread:${found[0]}`;
      found = await this.commands.gatewayThreadByKeys(`${base}:head`, `${base}:turns`, found[0]!);
    }
    if (!found) return undefined;
    const [id, fixed, last, ...turns] = found;
    return { id: id!, fixed: fixed!, last: last!, turns };
  }

  async append(tenant: string, turn: NewTurn, ttlSeconds: number): Promise<Appended> {
    const at = this.tenantPrefix(tenant);
    const base = `${at}thread:${turn.threadId}`;
    // The tenant's counts: `~` is in no response or thread id.
    const keys = [`${base}:head`, `${base}:turns`, `${base}:ids`, at + turn.last, `${at}~expiries`, `${at}~sizes`, `${at}~bytes`];
    const named = JSON.stringify({ thread: turn.threadId });
    const args = [at, turn.after ?? '', turn.fixed, turn.turn, turn.last, ttlSeconds, named, this.maxBytes, turn.threadId];
    return this.commands.gatewayThreadAppend(...keys, ...args);
  }

  async claim(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    return (await this.client.set(this.mark(tenant, responseId), holder, 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async marked(tenant: string, responseId: string): Promise<string | undefined> {
    return (await this.client.get(this.mark(tenant, responseId))) ?? undefined;
  }

  async renew(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    return (await this.commands.gatewayThreadClaim(this.mark(tenant, responseId), holder, 'renew', '', ttlSeconds)) === 1;
  }

  async release(tenant: string, responseId: string, holder: string, next: string | undefined, ttlSeconds: number): Promise<boolean> {
    return (await this.commands.gatewayThreadClaim(this.mark(tenant, responseId), holder, 'release', next ?? '', ttlSeconds)) === 1;
  }

  private mark(tenant: string, responseId: string): string {
    return `${this.tenantPrefix(tenant)}next:${responseId}`;
  }
}
