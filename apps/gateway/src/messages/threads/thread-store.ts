import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { storeUnavailable, type TenantStore, tenantStore } from '../../stores/tenant-store';
import type { MessagesRequest } from '../wire';

/**
 * A thread as it is kept, once: the create request's fixed fields, the conversation through its
 * latest response, and that response's id (each response can be continued once, so a thread is one
 * line of turns and only its latest response continues it).
 */
export interface StoredThread {
  /** The thread's own id: its first response's. */
  id: string;
  system?: MessagesRequest['system'];
  tools?: MessagesRequest['tools'];
  /** The fields a continue must send unchanged (thread_fingerprint_mismatch), in canonical JSON (`null` when absent). */
  fingerprint: Record<string, string>;
  /** Every message of the conversation, the latest response last. */
  messages: MessagesRequest['messages'];
  /** The latest response's id. */
  last: string;
}

/** Who continues a response: a request now, or one that has (each response can be continued once, as on Anthropic's API). */
export type Continuation = 'in_flight' | 'continued';

/** A continue's claim on the response it continues, held while the request runs. */
export interface Claim {
  /** Once the request is over: `continued` once its answer is kept, else let go of, so the response can be continued again. */
  settle(continued: boolean): Promise<void>;
}

/**
 * Message threads per tenant, with Anthropic's TTL after the last response, in the store
 * machinery stored responses use (Redis when configured, so any replica continues a thread;
 * else this process). A thread is kept once, under `thread:<id>`, rewritten at each turn; each
 * response id names its thread (`{"thread": id}`): a conversation kept under every response id
 * it went through took the square of its length (20 turns: ten times the conversation). Beside
 * each response, under `next:<id>` (no response id has a colon), who continues it: claimed with
 * a write-if-absent, so two requests continuing one response, on any replicas, cannot both win.
 */
@Injectable()
export class ThreadStore {
  private readonly backend: TenantStore;
  private readonly logger = new Logger('ThreadStore');
  private readonly ttlSeconds: number;
  private readonly claimTtlSeconds: number;

  constructor(config: GatewayConfig, redis: RedisService) {
    const { ttlSeconds, claimTtlSeconds, keyPrefix, maxMemoryMb } = config.messages.threads;
    this.ttlSeconds = ttlSeconds;
    this.claimTtlSeconds = claimTtlSeconds;
    this.backend = tenantStore(redis.client, keyPrefix, maxMemoryMb);
  }

  /** The thread `responseId` belongs to, as of its latest response (which may be a later one). */
  async get(tenant: string, responseId: string): Promise<StoredThread | undefined> {
    const pointer = await this.read(this.backend.get(tenant, responseId));
    const threadId = pointer === undefined ? undefined : (JSON.parse(pointer) as { thread?: unknown }).thread;
    if (typeof threadId !== 'string') return undefined;
    const json = await this.read(this.backend.get(tenant, threadOf(threadId)));
    return json === undefined ? undefined : (JSON.parse(json) as StoredThread);
  }

  /**
   * Keeps a thread through its latest response, then names it under that response's id (in this
   * order: a response id is never read before its thread holds it). An outage is logged, not the
   * client's failure (the answer is theirs already).
   */
  async put(tenant: string, thread: StoredThread): Promise<void> {
    await this.backend
      .put(tenant, threadOf(thread.id), JSON.stringify(thread), this.ttlSeconds)
      .then(() => this.backend.put(tenant, thread.last, JSON.stringify({ thread: thread.id }), this.ttlSeconds))
      .catch((err: Error) => this.logger.warn(`thread ${thread.id} not stored: ${err.message}`));
  }

  /**
   * Marks `id` as being continued: the claim when this request may, else who already does. The claim
   * lapses `claimTtlSeconds` after its last renewal, and is renewed every third of that while
   * the request runs: a continue slower than the TTL keeps others off its response, and only a
   * replica that died or lost Redis leaves a claim nothing lets go of (a lost answer to the claim
   * itself, the client's 529, included).
   */
  async claim(tenant: string, id: string): Promise<Claim | Continuation> {
    const next = nextOf(id);
    const claimed = await this.read(this.backend.claim(tenant, next, '"in_flight"', this.claimTtlSeconds));
    if (!claimed) {
      // Gone in between (a failed continue let go of it): reported as in flight, which the client recovers from as well.
      return (await this.read(this.backend.get(tenant, next))) === '"continued"' ? 'continued' : 'in_flight';
    }
    const renew = () =>
      this.backend.touch(tenant, next, this.claimTtlSeconds).then(
        (held) => held || this.logger.warn(`thread ${id}: the claim lapsed while its continue ran`),
        (err: Error) => this.logger.warn(`thread ${id}: claim not renewed: ${err.message}`),
      );
    const renewal = setInterval(() => void renew(), (this.claimTtlSeconds * 1000) / 3).unref();
    return {
      settle: async (continued) => {
        clearInterval(renewal);
        const settled = continued ? this.backend.put(tenant, next, '"continued"', this.ttlSeconds) : this.backend.delete(tenant, next);
        await settled.catch((err: Error) => this.logger.warn(`thread ${id} not settled: ${err.message}`));
      },
    };
  }

  private read<T>(work: Promise<T>): Promise<T> {
    return work.catch((err: Error) => {
      const message = 'The thread store is unavailable; threads cannot be continued now. Try again shortly.';
      throw storeUnavailable(this.logger, err, 'thread_store_unavailable', message);
    });
  }
}

const nextOf = (id: string) => `next:${id}`;
const threadOf = (id: string) => `thread:${id}`;
