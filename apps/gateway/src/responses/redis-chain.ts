import type { RedisClient } from '@gateway/redis';
import { TENANT_BYTES_LUA } from '../stores/tenant-bytes-lua';
import { type ChainBackend, MAX_LINKS } from './chain-backend';
import { LINK_BYTES, STATE_BYTE } from './linked-record';

/**
 * A record and those it links back to, in one read. KEYS: the record. ARGV: the tenant's key prefix,
 * MAX_LINKS. Returns the records latest first, or nil when one is gone or the chain is longer. A
 * record without a link line (`{` first: written before links) holds its whole conversation.
 */
const CHAIN_SCRIPT = `
local out, key = {}, KEYS[1]
for _ = 1, tonumber(ARGV[2]) do
  local value = redis.call('GET', key)
  if not value then return false end
  out[#out + 1] = value
  if string.byte(value, 1) == 123 then return out end
  local previous = string.sub(value, 2, string.find(value, '\\n', 1, true) - 1)
  if previous == '' then return out end
  -- The tenant's hash tag is in this key too: the slot of KEYS[1], so the script stays on one shard.
  key = ARGV[1] .. previous
end
return false`;

/**
 * Stores a record within its tenant's bound, marks the one it continues as continued and restarts
 * the TTL of those it links back to, in one step. KEYS: the record, the tenant's expiries (sorted set: id → expiry, ms), sizes (hash: id →
 * bytes) and total bytes. ARGV: now (ms), TTL (s), the tenant's bound (bytes), the tenant's key
 * prefix, the record's id, the response it continues ('' for none), the record, MAX_LINKS, LINK_BYTES.
 * Records past their expiry leave the total first (their keys expired on their own). Returns 1, or 0
 * when the tenant would hold more than its bound with it, or when a record it links back to is gone
 * (deleted or expired while it was answered) or the chain is longer than MAX_LINKS: its conversation
 * could not be rebuilt. Then nothing is written.
 */
const PUT_SCRIPT = `
local record, expiries, sizes, total = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, ttl, bound, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local id, previous, value = ARGV[5], ARGV[6], ARGV[7]
${TENANT_BYTES_LUA}
local links, heads, at = {}, {}, previous
for _ = 1, tonumber(ARGV[8]) do
  if at == '' then break end
  local head = redis.call('GETRANGE', prefix .. at, 0, tonumber(ARGV[9]) - 1)
  if head == '' then return 0 end
  links[#links + 1], heads[#heads + 1] = at, head
  local line = string.find(head, '\\n', 1, true)
  if string.byte(head, 1) == 123 or not line then at = '' else at = string.sub(head, 2, line - 1) end
end
if at ~= '' then return 0 end
if held() + #value > bound then return 0 end
local expiry = now + ttl * 1000
redis.call('SET', record, value, 'EX', ttl)
redis.call('ZADD', expiries, expiry, id)
redis.call('HSET', sizes, id, #value)
redis.call('INCRBY', total, #value)
for i, link in ipairs(links) do
  local key = prefix .. link
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', expiries, 'XX', expiry, link)
  if i == 1 and string.sub(heads[i], 1, 1) == '${STATE_BYTE.live}' then redis.call('SETRANGE', key, 0, '${STATE_BYTE.continued}') end
end
for _, key in ipairs({expiries, sizes, total}) do redis.call('EXPIRE', key, ttl) end
return 1`;

/**
 * Deletes a record and takes it out of its tenant's total, or only marks it deleted when later
 * responses link to it (linked-record.ts). KEYS: the record, expiries, sizes, total. ARGV: its id, now (ms).
 * Returns 0 when there was none, or it was deleted already.
 */
const DELETE_SCRIPT = `
local record, expiries, sizes, total, now = KEYS[1], KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[2])
${TENANT_BYTES_LUA}
local state = redis.call('GETRANGE', record, 0, 0)
if state == '' or state == '${STATE_BYTE.deleted}' then return 0 end
if state == '${STATE_BYTE.continued}' then
  redis.call('SETRANGE', record, 0, '${STATE_BYTE.deleted}')
  return 1
end
redis.call('DEL', record)
forget(ARGV[1])
return 1`;

interface ChainCommands {
  gatewayResponseChain(key: string, prefix: string, maxLinks: number): Promise<string[] | null>;
  gatewayResponsePut(...args: (string | number)[]): Promise<number>;
  gatewayResponseDelete(...args: (string | number)[]): Promise<number>;
}

/**
 * Stored responses in Redis: one key per response, `<prefix>{<tenant>}:<id>`, and per tenant
 * `<prefix>{<tenant>}:~expiries`, `~sizes` and `~bytes`, which count what it holds: past `maxBytes`
 * a response is not stored. The tenant is the hash tag of every key, so a chain's records and its
 * tenant's count are in one slot, and each script runs on one shard of Redis Cluster.
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
      client.defineCommand('gatewayResponsePut', { numberOfKeys: 4, lua: PUT_SCRIPT });
      client.defineCommand('gatewayResponseDelete', { numberOfKeys: 4, lua: DELETE_SCRIPT });
    }
    this.commands = client as unknown as ChainCommands;
  }

  async get(tenant: string, id: string): Promise<string | undefined> {
    return (await this.client.get(this.key(tenant, id))) ?? undefined;
  }

  async chain(tenant: string, id: string): Promise<string[] | undefined> {
    return (await this.commands.gatewayResponseChain(this.key(tenant, id), this.key(tenant, ''), MAX_LINKS))?.reverse();
  }

  async put(tenant: string, id: string, value: string, previous: string | undefined): Promise<boolean> {
    const args = [Date.now(), this.ttlSeconds, this.maxBytes, this.key(tenant, ''), id, previous ?? '', value, MAX_LINKS, LINK_BYTES];
    return (await this.commands.gatewayResponsePut(...this.keys(tenant, id), ...args)) === 1;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return (await this.commands.gatewayResponseDelete(...this.keys(tenant, id), id, Date.now())) > 0;
  }

  private key(tenant: string, id: string): string {
    return `${this.prefix}{${tenant}}:${id}`;
  }

  /** The record's key and its tenant's counts (`~` is in no response id). */
  private keys(tenant: string, id: string): string[] {
    return [this.key(tenant, id), this.key(tenant, '~expiries'), this.key(tenant, '~sizes'), this.key(tenant, '~bytes')];
  }
}
