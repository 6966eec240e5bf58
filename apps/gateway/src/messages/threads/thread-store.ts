import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { storeUnavailable, type TenantStore, tenantStore } from '../../stores/tenant-store';
import type { MessagesRequest } from '../wire';

/** What a thread keeps under a response id: the create request's fixed fields and the conversation through that response. */
export interface StoredThread {
  system?: MessagesRequest['system'];
  tools?: MessagesRequest['tools'];
  /** The fields a continue must send unchanged (thread_fingerprint_mismatch), as JSON (`null` when absent). */
  fingerprint: Record<string, string>;
  /** Every message of the conversation, the response last. */
  messages: MessagesRequest['messages'];
}

/** Who continues a response: a request now, or one that has (each response can be continued once, as on Anthropic's API). */
export type Continuation = 'in_flight' | 'continued';

/**
 * How long a continue's claim on a response holds without being settled. A claim whose answer was
 * lost (Redis slower than its timeout: the client got a 529 and nothing lets the claim go) or whose
 * replica died locked the response for the thread's whole TTL; now for this long at most. A continue
 * still running past it lets another continue the same response too (two branches, each whole).
 */
const CLAIM_TTL_SECONDS = 30;

/**
 * Message threads per tenant, with Anthropic's TTL after the last response, in the store
 * machinery stored responses use (Redis when configured, so any replica continues a thread;
 * else this process). Beside each thread, under `next:<id>` (no response id has a colon), who
 * continues it: claimed with a write-if-absent, so two requests continuing one response, on any
 * replicas, cannot both win.
 */
@Injectable()
export class ThreadStore {
  private readonly backend: TenantStore;
  private readonly logger = new Logger('ThreadStore');
  private readonly ttlSeconds: number;

  constructor(config: GatewayConfig, redis: RedisService) {
    const { ttlSeconds, keyPrefix, maxMemoryMb } = config.messages.threads;
    this.ttlSeconds = ttlSeconds;
    this.backend = tenantStore(redis.client, keyPrefix, maxMemoryMb);
  }

  async get(tenant: string, id: string): Promise<StoredThread | undefined> {
    const json = await this.read(this.backend.get(tenant, id));
    return json === undefined ? undefined : (JSON.parse(json) as StoredThread);
  }

  /** Keeps a thread under its response id; an outage is logged, not the client's failure (the answer is theirs already). */
  async put(tenant: string, id: string, thread: StoredThread): Promise<void> {
    await this.backend
      .put(tenant, id, JSON.stringify(thread), this.ttlSeconds)
      .catch((err: Error) => this.logger.warn(`thread ${id} not stored: ${err.message}`));
  }

  /** Marks `id` as being continued: undefined when this request may, else who already does. */
  async claim(tenant: string, id: string): Promise<Continuation | undefined> {
    const claimed = await this.read(this.backend.claim(tenant, nextOf(id), '"in_flight"', CLAIM_TTL_SECONDS));
    if (claimed) return undefined;
    // Gone in between (a failed continue let go of it): reported as in flight, which the client recovers from as well.
    return (await this.read(this.backend.get(tenant, nextOf(id)))) === '"continued"' ? 'continued' : 'in_flight';
  }

  /** Settles a claim: `continued` once the continuation's answer is kept, else let go of, so the response can be continued again. */
  async settle(tenant: string, id: string, continued: boolean): Promise<void> {
    const next = nextOf(id);
    const settled = continued ? this.backend.put(tenant, next, '"continued"', this.ttlSeconds) : this.backend.delete(tenant, next);
    await settled.catch((err: Error) => this.logger.warn(`thread ${id} not settled: ${err.message}`));
  }

  private read<T>(work: Promise<T>): Promise<T> {
    return work.catch((err: Error) => {
      const message = 'The thread store is unavailable; threads cannot be continued now. Try again shortly.';
      throw storeUnavailable(this.logger, err, 'thread_store_unavailable', message);
    });
  }
}

const nextOf = (id: string) => `next:${id}`;
