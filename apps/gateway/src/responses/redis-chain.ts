import type { RedisClient } from '@gateway/redis';
import { tenantBytesLua } from '../stores/tenant-bytes-lua';
import { type ChainBackend, MAX_LINKS } from './chain-backend';
import { LINK_BYTES, linkedFrom, STATE_BYTE } from './linked-record';

/**
 * A record and those it links back to, in one read. KEYS: the record. ARGV: the tenant's key prefix,
 * MAX_LINKS. Returns the records read, latest first: none when the record is gone; up to a link it
 * found gone, or MAX_LINKS of them (RedisChain.chain tells). A record without a link line (`{` first:
 * written before links) holds its whole conversation.
 */
const CHAIN_SCRIPT = `
local out, key = {}, KEYS[1]
for _ = 1, tonumber(ARGV[2]) do
  local value = redis.call('GET', key)
  if not value then return out end
  out[#out + 1] = value
  if string.byte(value, 1) == 123 then return out end
  local previous = string.sub(value, 2, string.find(value, '\\n', 1, true) - 1)
  if previous == '' then return out end
  -- The tenant's hash tag is in this key too: the slot of KEYS[1], so the script stays on one shard.
  key = ARGV[1] .. previous
end
return out`;

/**
 * Lua for the scripts that change records. Each record counts its continuations: the stored records
 * that link to it, in the tenant's hash `~children` (id → count; none is 0), beside `~sizes` under the
 * tenant's hash tag (one slot on Redis Cluster), so a delete finds in one step whether the record it
 * takes out was the last to hold the one it continued. A hash, not a count in the link line: a replica
 * still on the previous version reads the line's previous id up to its end, during a rolling upgrade.
 * Such a replica writes no count, so a count is believed only while the record's expiry in `~expiries`
 * ends in .5 ms: every record this version writes, and those it restarts, keep it; the previous
 * version's scripts write whole milliseconds, both for the records they write and for those their
 * continuations restart, so a record it wrote or continued (uncounted) has a count unknown from then
 * on, and is kept, hidden, until it expires, as before counts. `counted(ms)` is such an expiry;
 * `isCounted(score)` tells one.
 */
const COUNTS_LUA = `
local function counted(expiry) return string.format('%.1f', expiry + 0.5) end
local function isCounted(score) return score and tonumber(score) % 1 ~= 0 end`;

/**
 * Stores a record within its tenant's bound, marks the one it continues as continued and counts it
 * there, and restarts the TTL of those it links back to, in one step. KEYS: the record, the tenant's
 * expiries (sorted set: id → expiry, ms), sizes (hash: id → bytes), total bytes and continuations
 * (hash: id → count). ARGV: TTL (s), the tenant's bound (bytes), the tenant's key prefix, the
 * record's id, the response it continues ('' for none), the record, MAX_LINKS, LINK_BYTES. Expiries
 * are by Redis' clock (tenantBytesLua's `now`); records past theirs leave the total (their keys
 * expired on their own): a bounded number first, more when the record would not fit (`roomFor`).
 * Returns 1, or 0 when the tenant would hold more than its bound with it, or when a record it links back to is gone
 * (deleted or expired while it was answered) or the chain is longer than MAX_LINKS: its conversation
 * could not be rebuilt. Then nothing is written.
 */
const PUT_SCRIPT = `
local record, expiries, sizes, total, children = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ttl, bound, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local id, previous, value = ARGV[4], ARGV[5], ARGV[6]
${tenantBytesLua(['children'])}
${COUNTS_LUA}
local links, heads, at = {}, {}, previous
for _ = 1, tonumber(ARGV[7]) do
  if at == '' then break end
  local head = redis.call('GETRANGE', prefix .. at, 0, tonumber(ARGV[8]) - 1)
  if head == '' then return 0 end
  links[#links + 1], heads[#heads + 1] = at, head
  local line = string.find(head, '\\n', 1, true)
  if string.byte(head, 1) == 123 or not line then at = '' else at = string.sub(head, 2, line - 1) end
end
if at ~= '' then return 0 end
if not roomFor(#value, bound) then return 0 end
local expiry = now + ttl * 1000
redis.call('SET', record, value, 'EX', ttl)
redis.call('ZADD', expiries, counted(expiry), id)
redis.call('HSET', sizes, id, #value)
redis.call('INCRBY', total, #value)
-- A continuation restarts the TTL of every record it links back to: none expires before it, so one that
-- expires is not counted off. Those it held expire with it, unless a later continuation restarted them:
-- then a hidden one, still counting it, stays until its own TTL ends, however that later one goes.
for i, link in ipairs(links) do
  local key = prefix .. link
  local known = isCounted(redis.call('ZSCORE', expiries, link))
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', expiries, 'XX', known and counted(expiry) or expiry, link)
  if i == 1 then
    if known then redis.call('HINCRBY', children, link, 1) end
    if string.sub(heads[i], 1, 1) == '${STATE_BYTE.live}' then redis.call('SETRANGE', key, 0, '${STATE_BYTE.continued}') end
  end
end
for _, key in ipairs({expiries, sizes, total, children}) do redis.call('EXPIRE', key, ttl) end
return 1`;

/**
 * Deletes a record and takes it out of its tenant's total, or only hides it when later responses link to
 * it (linked-record.ts). A record deleted outright is a continuation less of the one it continued: one
 * hidden and left with none is deleted too, and so on back the chain (at most MAX_LINKS); one shown is
 * marked live again, so that its own delete deletes it. KEYS: the record, expiries, sizes, total,
 * continuations. ARGV: its id, the tenant's key prefix, MAX_LINKS, LINK_BYTES.
 * Returns 0 when there was none, or it was deleted already.
 */
const DELETE_SCRIPT = `
local record, expiries, sizes, total, children = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix, links, bytes = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
${tenantBytesLua(['children'])}
${COUNTS_LUA}
local state = redis.call('GETRANGE', record, 0, 0)
if state == '' or state == '${STATE_BYTE.deleted}' then return 0 end
if state == '${STATE_BYTE.continued}' then
  redis.call('SETRANGE', record, 0, '${STATE_BYTE.deleted}')
  return 1
end
local id, head = ARGV[1], redis.call('GETRANGE', record, 0, bytes - 1)
for _ = 1, links do
  redis.call('DEL', prefix .. id)
  forget(id)
  local line = string.find(head, '\\n', 1, true)
  if string.byte(head, 1) == 123 or not line then return 1 end
  local previous = string.sub(head, 2, line - 1)
  if previous == '' or not isCounted(redis.call('ZSCORE', expiries, previous)) then return 1 end
  if redis.call('HINCRBY', children, previous, -1) > 0 then return 1 end
  redis.call('HDEL', children, previous)
  head = redis.call('GETRANGE', prefix .. previous, 0, bytes - 1)
  state = string.sub(head, 1, 1)
  if state == '${STATE_BYTE.continued}' then redis.call('SETRANGE', prefix .. previous, 0, '${STATE_BYTE.live}') end
  if state ~= '${STATE_BYTE.deleted}' then return 1 end
  id = previous
end
return 1`;

interface ChainCommands {
  gatewayResponseChain(key: string, prefix: string, maxLinks: number): Promise<string[]>;
  gatewayResponsePut(...args: (string | number)[]): Promise<number>;
  gatewayResponseDelete(...args: (string | number)[]): Promise<number>;
}

/**
 * Stored responses in Redis: one key per response, `<prefix>{<tenant>}:<id>`, and per tenant
 * `<prefix>{<tenant>}:~expiries`, `~sizes` and `~bytes`, which count what it holds (past `maxBytes`
 * a response is not stored), and `~children`, its records' continuations. The tenant is the hash tag
 * of every key, so a chain's records and its tenant's counts are in one slot, and each script runs on
 * one shard of Redis Cluster.
 */
export class RedisChain implements ChainBackend {
  private readonly commands: ChainCommands;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly maxBytes: number,
    private readonly ttlSeconds: number,
  ) {
    if (!('gatewayResponseChain' in client)) {
      client.defineCommand('gatewayResponseChain', { numberOfKeys: 1, lua: CHAIN_SCRIPT });
      client.defineCommand('gatewayResponsePut', { numberOfKeys: 5, lua: PUT_SCRIPT });
      client.defineCommand('gatewayResponseDelete', { numberOfKeys: 5, lua: DELETE_SCRIPT });
    }
    this.commands = client as unknown as ChainCommands;
  }

  async get(tenant: string, id: string): Promise<string | undefined> {
    return (await this.client.get(this.key(tenant, id))) ?? undefined;
  }

  async chain(tenant: string, id: string): Promise<string[] | undefined> {
    const records = await this.commands.gatewayResponseChain(this.key(tenant, id), this.key(tenant, ''), MAX_LINKS);
    if (!records.length) return undefined;
    // The script stopped at a link it found gone (or at MAX_LINKS). While a Redis Cluster migrates the tenant's slot
    // that may be a record not yet moved to the node the script was asked on (ASK follows the keys in KEYS; a chain's
    // links are read from its records): found by an independent check, such a conversation was answered
    // previous_response_not_found. The read goes on a GET at a time, each sent where its record is.
    // On a single Redis the first GET finds the same gap.
    for (let at = linkedFrom(records.at(-1)!); at !== undefined; at = linkedFrom(records.at(-1)!)) {
      const record = records.length < MAX_LINKS ? await this.get(tenant, at) : undefined;
      if (record === undefined) return undefined;
      records.push(record);
    }
    return records.reverse();
  }

  async put(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean> {
    const args = [this.ttlSeconds, this.maxBytes, this.key(tenant, ''), id, previous ?? '', value, MAX_LINKS, LINK_BYTES];
    return (await this.commands.gatewayResponsePut(...this.keys(tenant, id), ...args)) === 1;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const args = [id, this.key(tenant, ''), MAX_LINKS, LINK_BYTES];
    return (await this.commands.gatewayResponseDelete(...this.keys(tenant, id), ...args)) > 0;
  }

  private key(tenant: string, id: string): string {
    return `${this.prefix}{${tenant}}:${id}`;
  }

  /** The record's key and its tenant's counts (`~` is in no response id). */
  private keys(tenant: string, id: string): string[] {
    return [id, '~expiries', '~sizes', '~bytes', '~children'].map((name) => this.key(tenant, name));
  }
}
