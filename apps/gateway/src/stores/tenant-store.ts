import type { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import type { RedisClient } from '@gateway/redis';
import { MemoryBackend } from './memory-backend';

/**
 * JSON per tenant and id with a TTL: what stored responses keep. Every
 * call is scoped to a tenant (the gateway key id), which is in every key, so a tenant never reads
 * another's entries.
 */
export interface TenantStore {
  get(tenant: string, id: string): Promise<string | undefined>;
  put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void>;
  delete(tenant: string, id: string): Promise<boolean>;
}

/** In Redis when it is configured (every replica sees the entries), else in this process, bounded by `maxMemoryMb`. */
export function tenantStore(redis: RedisClient | undefined, keyPrefix: string, maxMemoryMb: number): TenantStore {
  return redis ? new RedisBackend(redis, keyPrefix) : new MemoryBackend(maxMemoryMb * 1024 * 1024);
}

/**
 * A store's outage as the client's 503 (`code`, `message`), which says what failed, not the Redis
 * client's internals ("Stream isn't writeable…"): those go to the log.
 */
export function storeUnavailable(logger: Logger, err: Error, code: string, message: string): GatewayError {
  logger.warn(`${code.replace(/_/g, ' ')}: ${err.message}`);
  return new GatewayError(503, message, 'server_error', code, null, {}, true);
}

/**
 * One key per entry, `<prefix>{<tenant>}:<id>`, written with SET … EX and read with GET: single-key commands, so it runs on Redis Cluster as is; the tenant is the hash tag,
 * keeping one tenant's entries on one shard.
 */
class RedisBackend implements TenantStore {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(tenant: string, id: string): string {
    return `${this.prefix}{${tenant}}:${id}`;
  }

  async get(tenant: string, id: string): Promise<string | undefined> {
    return (await this.client.get(this.key(tenant, id))) ?? undefined;
  }

  async put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void> {
    await this.client.set(this.key(tenant, id), json, 'EX', ttlSeconds);
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return (await this.client.del(this.key(tenant, id))) > 0;
  }
}
