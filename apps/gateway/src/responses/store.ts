import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig, type ResponsesConfig } from '@gateway/config';
import { type ChatCompletionMessageParam, GatewayError } from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import type { Response, ResponseItem } from 'openai/resources/responses/responses';
import { storeUnavailable, type TenantStore, tenantStore } from '../stores/tenant-store';

/** A stored response and the conversation it ends, for previous_response_id, item_reference and input_items. */
export interface StoredResponse {
  response: Response;
  /** The chat messages up to and including this answer, without the instructions (OpenAI does not carry them over). */
  messages: ChatCompletionMessageParam[];
  /** The items it was generated from (input-items.ts); absent from records stored before they were kept. */
  items?: ResponseItem[];
}

/**
 * Stored responses with a TTL, per tenant: in Redis when it is configured (every
 * replica sees them), else in this process, bounded by memory, least recently used
 * first. A tenant never reads another tenant's responses: the tenant is in the key.
 */
@Injectable()
export class ResponseStore {
  private readonly backend: TenantStore;
  private readonly logger = new Logger('ResponseStore');
  readonly settings: ResponsesConfig;

  constructor(config: GatewayConfig, redis: RedisService) {
    this.settings = config.responses;
    this.backend = tenantStore(redis.client, this.settings.keyPrefix, this.settings.maxMemoryMb);
  }

  async get(tenant: string, id: string): Promise<StoredResponse | undefined> {
    const json = await this.backend.get(tenant, id).catch((err: Error) => {
      throw this.unavailable(err);
    });
    return json === undefined ? undefined : (JSON.parse(json) as StoredResponse);
  }

  /** Keeps a finished response; a store outage is logged, not the client's failure (the answer is already theirs). */
  async put(tenant: string, record: StoredResponse): Promise<void> {
    await this.backend
      .put(tenant, record.response.id, JSON.stringify(record), this.settings.ttlSeconds)
      .catch((err: Error) => this.logger.warn(`response ${record.response.id} not stored: ${err.message}`));
  }

  delete(tenant: string, id: string): Promise<boolean> {
    return this.backend.delete(tenant, id).catch((err: Error) => {
      throw this.unavailable(err);
    });
  }

  private unavailable(err: Error): GatewayError {
    const message = 'The response store is unavailable; stored responses cannot be read or deleted now. Try again shortly.';
    return storeUnavailable(this.logger, err, 'response_store_unavailable', message);
  }
}
