import type { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';

/**
 * JSON per tenant and id with a TTL, in process (memory-backend.ts): what stored responses and kept reasoning state keep. Every
 * call is scoped to a tenant (the gateway key id), which is in every key, so a tenant never reads
 * another's entries.
 */
export interface TenantStore {
  get(tenant: string, id: string): Promise<string | undefined>;
  put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void>;
  /** Changes an entry, its expiry kept (as Redis' SETRANGE keeps a key's TTL); nothing when it is gone. */
  replace(tenant: string, id: string, json: string): Promise<void>;
  delete(tenant: string, id: string): Promise<boolean>;
}

/**
 * A store's outage as the client's 503 (`code`, `message`), which says what failed, not the Redis
 * client's internals ("Stream isn't writeable…"): those go to the log.
 */
export function storeUnavailable(logger: Logger, err: Error, code: string, message: string): GatewayError {
  logger.warn(`${code.replace(/_/g, ' ')}: ${err.message}`);
  return new GatewayError(503, message, 'server_error', code, null, {}, true);
}
