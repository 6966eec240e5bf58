import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig, type ResponsesConfig } from '@gateway/config';
import { type ChatCompletionMessageParam, GatewayError } from '@gateway/providers';
import { type RedisClient, RedisService } from '@gateway/redis';
import type { Response, ResponseItem } from 'openai/resources/responses/responses';
import { MemoryBackend } from '../stores/memory-backend';

/** A stored response and the conversation it ends, for previous_response_id, item_reference and input_items. */
export interface StoredResponse {
  response: Response;
  /** The chat messages up to and including this answer, without the instructions (OpenAI does not carry them over). */
  messages: ChatCompletionMessageParam[];
  /** The items it was generated from (input-items.ts); absent from records stored before they were kept. */
  items?: ResponseItem[];
}

/** Where stored responses live; every call is scoped to a tenant (the gateway key id). */
interface Backend {
  get(tenant: string, id: string): Promise<string | undefined>;
  put(tenant: string, id: string, json: string, ttlSeconds: number): Promise<void>;
  delete(tenant: string, id: string): Promise<boolean>;
}

/**
 * Stored responses with a TTL, per tenant: in Redis when it is configured (every
 * replica sees them), else in this process, bounded by memory, least recently used
 * first. A tenant never reads another tenant's responses: the tenant is in the key.
 */
@Injectable()
export class ResponseStore {
  private readonly backend: Backend;
  private readonly logger = new Logger('ResponseStore');
  readonly settings: ResponsesConfig;

  constructor(config: GatewayConfig, redis: RedisService) {
    this.settings = config.responses;
    this.backend = redis.client
      ? new RedisBackend(redis.client, this.settings.keyPrefix)
      : new MemoryBackend(this.settings.maxMemoryMb * 1024 * 1024);
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

  /** The client's 503 says what failed, not the Redis client's internals ("Stream isn't writeable…"): those go to the log. */
  private unavailable(err: Error): GatewayError {
    this.logger.warn(`response store unavailable: ${err.message}`);
    return new GatewayError(
      503,
      'The response store is unavailable; stored responses cannot be read or deleted now. Try again shortly.',
      'server_error',
      'response_store_unavailable',
      null,
      {},
      true,
    );
  }
}

/**
 * One key per response, `<prefix>{<tenant>}:<id>`, written with SET … EX and read
 * with GET: single-key commands, so it runs on Redis Cluster as is; the tenant is
 * the hash tag, keeping one tenant's responses on one shard.
 */
class RedisBackend implements Backend {
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
