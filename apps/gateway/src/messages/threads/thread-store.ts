import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { parseExactIntegers } from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import { storeUnavailable } from '../../stores/tenant-store';
import type { MessagesRequest } from '../wire';
import { MemoryThreads } from './memory-threads';
import { RedisThreads } from './redis-threads';
import { type Appended, CONTINUED, type ThreadBackend } from './thread-backend';

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

/** Why an answer was not kept, as gateway_message_threads_not_kept_total counts it. */
const NOT_KEPT = {
  moved: 'raced',
  too_large: 'too_large',
  over_bound: 'tenant_bound',
  gone: 'store_error',
  store_error: 'store_error',
} as const;

/** Who continues a response: a request now, or one that has (each response can be continued once, as on Anthropic's API). */
export type Continuation = 'in_flight' | 'continued';

/** A continue's claim on the response it continues, held while the request runs. */
export interface Claim {
  /** Once the request is over: `continued` once its answer is kept, else let go of, so the response can be continued again. */
  settle(continued: boolean): Promise<void>;
}

/**
 * Message threads per tenant, with Anthropic's TTL after the last response, in Redis when configured
 * (so any replica continues a thread) else in this process (memory-threads.ts, `maxMemoryMb`). A
 * thread is kept once, a turn at a time: each turn appends the messages it adds (a 20-turn thread
 * rewritten whole at each turn wrote ten times the conversation), and each response id names its
 * thread. Beside each response, who continues it: claimed with a write-if-absent, so two requests
 * continuing one response, on any replicas, cannot both win, and changed only by its holder.
 */
@Injectable()
export class ThreadStore {
  private readonly backend: ThreadBackend;
  private readonly logger = new Logger('ThreadStore');
  private readonly ttlSeconds: number;
  private readonly claimTtlSeconds: number;

  constructor(
    config: GatewayConfig,
    redis: RedisService,
    private readonly metrics: MetricsService,
  ) {
    const { ttlSeconds, claimTtlSeconds, keyPrefix, maxMemoryMb, tenantMaxMemoryMb } = config.messages.threads;
    this.ttlSeconds = ttlSeconds;
    this.claimTtlSeconds = claimTtlSeconds;
    this.backend = redis.client
      ? new RedisThreads(redis.client, keyPrefix, tenantMaxMemoryMb * 1024 * 1024)
      : new MemoryThreads(maxMemoryMb * 1024 * 1024, (threads) => {
          metrics.recordThreadsEvicted(threads);
          this.logger.warn(`${threads} thread(s) evicted for room (messages.threads.maxMemoryMb): their next continue is thread_not_found`);
        });
  }

  /** The in-process store's bound in bytes of memory (held-bytes.ts) (a thread larger is not kept); undefined with Redis. */
  get capacity(): number | undefined {
    return this.backend.capacity;
  }

  /**
   * The thread `responseId` belongs to, as of its latest response (which may be a later one);
   * `dropped` when the in-process store could not hold it.
   */
  async get(tenant: string, responseId: string): Promise<StoredThread | 'dropped' | undefined> {
    const found = await this.read(this.backend.read(tenant, responseId));
    if (found === undefined || found === 'dropped') return found;
    const fixed = JSON.parse(found.fixed) as Pick<StoredThread, 'system' | 'tools' | 'fingerprint'>;
    const messages = found.turns.flatMap((turn) => parseExactIntegers(turn) as StoredThread['messages']);
    return { id: found.id, ...fixed, messages, last: found.last };
  }

  /**
   * Keeps a thread through its latest response: the messages after the first `kept` (those the thread
   * held already when its continue read it from response `after`) as one more turn, or the whole
   * thread for a create or when the thread expired while its continue ran. Says whether it was kept:
   * an answer not kept (another continue of the same response kept first, too large for the in-process
   * store, an outage) is logged and counted, not the client's failure (the answer is theirs already).
   */
  async put(tenant: string, thread: StoredThread, continued?: { after: string; kept: number }): Promise<boolean> {
    const fixed = JSON.stringify({ system: thread.system, tools: thread.tools, fingerprint: thread.fingerprint });
    const whole = { threadId: thread.id, fixed, turn: JSON.stringify(thread.messages), last: thread.last };
    const append = async (): Promise<Appended> => {
      if (!continued) return this.backend.append(tenant, whole, this.ttlSeconds);
      const turn = JSON.stringify(thread.messages.slice(continued.kept));
      const appended = await this.backend.append(tenant, { ...whole, turn, after: continued.after }, this.ttlSeconds);
      return appended === 'gone' ? this.backend.append(tenant, whole, this.ttlSeconds) : appended;
    };
    const appended = await append().catch((err: Error) => {
      this.logger.warn(`thread ${thread.id} not stored: ${err.message}`);
      return 'store_error' as const;
    });
    if (appended === 'kept') return true;
    if (appended === 'moved') this.logger.warn(`thread ${thread.id}: ${thread.last} not kept: the thread went on from another continue`);
    if (appended === 'too_large') this.logger.warn(`thread ${thread.id}: not kept, larger than messages.threads.maxMemoryMb`);
    if (appended === 'over_bound')
      this.logger.warn(`thread ${thread.id}: not kept, its key's threads hold messages.threads.tenantMaxMemoryMb`);
    this.metrics.recordThreadNotKept(NOT_KEPT[appended]);
    return false;
  }

  /**
   * Marks `id` as being continued: the claim when this request may, else who already does. The claim
   * lapses `claimTtlSeconds` after its last renewal, and is renewed every third of that while
   * the request runs: a continue slower than the TTL keeps others off its response, and only a
   * replica that paused, died or lost Redis leaves a claim nothing lets go of (a lost answer to the
   * claim itself, the client's 529, included). Each claim holds a token of its own, and is renewed
   * and settled only while it holds it: one that lapsed and was taken by another continue is that
   * continue's, which a late settle would otherwise delete (letting a third in) or overwrite.
   */
  async claim(tenant: string, id: string): Promise<Claim | Continuation> {
    const holder = JSON.stringify(`in_flight:${randomUUID()}`);
    const claimed = await this.read(this.backend.claim(tenant, id, holder, this.claimTtlSeconds));
    if (!claimed) {
      // Gone in between (a failed continue let go of it): reported as in flight, which the client recovers from as well.
      return (await this.read(this.backend.marked(tenant, id))) === CONTINUED ? 'continued' : 'in_flight';
    }
    const lapsed = () => this.logger.warn(`thread ${id}: the claim lapsed while its continue ran`);
    const renew = () =>
      this.backend.renew(tenant, id, holder, this.claimTtlSeconds).then(
        (held) => held || lapsed(),
        (err: Error) => this.logger.warn(`thread ${id}: claim not renewed: ${err.message}`),
      );
    const renewal = setInterval(() => void renew(), (this.claimTtlSeconds * 1000) / 3).unref();
    return {
      settle: async (continued) => {
        clearInterval(renewal);
        await this.backend.release(tenant, id, holder, continued ? CONTINUED : undefined, this.ttlSeconds).then(
          (held) => held || lapsed(),
          (err: Error) => this.logger.warn(`thread ${id} not settled: ${err.message}`),
        );
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
