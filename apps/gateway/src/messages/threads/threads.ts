import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { DetailedError } from '../errors';
import type { AnthropicBlock, MessagesRequest } from '../wire';
import type { ThreadReply } from './assemble';
import { fingerprint, refuseChangedFields, THREAD_FIELDS } from './fingerprint';
import { type Claim, ThreadStore } from './thread-store';

/** The beta header Anthropic's API wants with `thread`; the gateway serves threads itself, so no upstream gets it. */
export const THREADS_BETA = 'message-threads-2026-08-12';

export type ThreadParam = { type: 'create' } | { type: 'continue'; previous_message_id: string };

/** A Messages request as clients send it, `thread` included. */
export type ThreadedRequest = MessagesRequest & { thread?: ThreadParam | null };

/** The ids the gateway gives threaded answers (wire.ts newMessageId). */
const RESPONSE_ID = /^msg_[A-Za-z0-9_-]{16}$/;

/** A request on a thread, as the pipeline serves it. */
export interface ThreadRequest {
  /** The whole conversation (the thread's, then the new messages) with the thread's system and tools, without `thread`. */
  body: MessagesRequest;
  /** The client's anthropic-beta header without the threads beta: an Anthropic deployment gets a plain request. */
  beta: string | undefined;
  /**
   * Keeps the thread, this answer last, under the answer's id; says whether it was (not when another
   * continue of the same response was kept first, or the store could not keep it: its client is told).
   */
  keep(reply: ThreadReply): Promise<boolean>;
  /** Once the request is over: the response it continued stays continued if its answer was kept, else can be continued again. */
  settle(): Promise<void>;
}

/**
 * Anthropic's message threads (the `thread` parameter), held by the gateway for every provider: a
 * continue is rebuilt into the whole conversation before anything else reads it, so routing,
 * fallbacks across vendors, the cache (keyed on the whole conversation) and usage see a plain
 * request; the answer is then kept under its id with the conversation it ends. Errors are
 * Anthropic's, with the `error.details.error_code` its SDKs' thread helpers act on.
 */
@Injectable()
export class MessageThreads {
  private readonly bodyLimitBytes: number;
  /** messages.threads.ttlSeconds, which a thread_not_found names. */
  private readonly ttlSeconds: number;

  constructor(
    private readonly store: ThreadStore,
    config: GatewayConfig,
  ) {
    this.bodyLimitBytes = config.server.bodyLimitBytes;
    this.ttlSeconds = config.messages.threads.ttlSeconds;
  }

  /** The request on its thread, or undefined when it has none. */
  async open(tenant: string, body: ThreadedRequest, beta: string | undefined): Promise<ThreadRequest | undefined> {
    // Every Messages request comes here: one without a thread is not copied.
    const thread = body.thread;
    if (thread == null) return undefined;
    refuseWithoutBeta(beta);
    const { thread: _thread, ...request } = body;
    if (thread.type === 'create') {
      this.refuseOverCapacity(JSON.stringify(request).length);
      return this.opened(tenant, request, withoutThreadsBeta(beta));
    }
    const previousId = thread.previous_message_id;
    const { whole, previous } = await this.rebuilt(tenant, request, previousId);
    this.refuseOverLimit(whole);
    const claim = await this.store.claim(tenant, previousId);
    if (typeof claim === 'string') throw continued(claim, previousId);
    return this.opened(tenant, whole, withoutThreadsBeta(beta), {
      claim,
      threadId: previous.id,
      after: previousId,
      kept: previous.messages.length,
    });
  }

  /**
   * What a count_tokens request with `thread` counts: the request its continue would send, refused
   * as that continue would be (the thread not found, already continued, its fields changed), but
   * continuing nothing. Undefined when it has no thread.
   */
  async counted(
    tenant: string,
    body: ThreadedRequest,
    beta: string | undefined,
  ): Promise<Pick<ThreadRequest, 'body' | 'beta'> | undefined> {
    const thread = body.thread;
    if (thread == null) return undefined;
    refuseWithoutBeta(beta);
    const { thread: _thread, ...request } = body;
    if (thread.type === 'create') return { body: request, beta: withoutThreadsBeta(beta) };
    const { whole } = await this.rebuilt(tenant, request, thread.previous_message_id);
    this.refuseOverLimit(whole);
    return { body: whole, beta: withoutThreadsBeta(beta) };
  }

  /** A continue's whole request (the thread's `system` and `tools`, its conversation, the new messages) and the thread it continues. */
  private async rebuilt(tenant: string, request: MessagesRequest, previousId: string) {
    // Every id the gateway keeps a thread under is its own (wire.ts newMessageId): anything else names none.
    const previous = RESPONSE_ID.test(previousId) ? await this.store.get(tenant, previousId) : undefined;
    if (previous === 'dropped') throw tooLargeToKeep(previousId, this.store.capacity!);
    if (!previous) throw notFound(previousId, this.ttlSeconds);
    refuseChangedFields(previous, request);
    // The thread holds its latest response's conversation only: an earlier response has been continued.
    if (previous.last !== previousId) throw continued('continued', previousId);
    const whole: MessagesRequest = { ...request, messages: [...previous.messages, ...request.messages] };
    for (const field of THREAD_FIELDS) {
      if (previous[field] === undefined) delete whole[field];
      else Object.assign(whole, { [field]: previous[field] });
    }
    return { whole, previous };
  }

  /**
   * A thread grows by a turn with each continue, past what one request may carry if nothing stops it,
   * and once it expires its replay (the helpers' recovery) is a 413: the conversation is lost. So a
   * continue whose whole request is larger than the body limit is refused as that replay would be,
   * while the client still has the thread, and what a thread keeps stays within one request's limit
   * (and the answer to it).
   */
  private refuseOverLimit(whole: MessagesRequest): void {
    const json = JSON.stringify(whole);
    this.refuseOverCapacity(json.length);
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.bodyLimitBytes) return;
    throw new DetailedError(
      413,
      `This continue makes the thread's conversation ${bytes} bytes, more than one request may be (${this.bodyLimitBytes} bytes): ` +
        'a replay of it would be refused too. Start a new thread with a shorter conversation (summarize or drop earlier turns).',
      { error_code: 'thread_too_large' },
      'messages',
    );
  }

  /**
   * The in-process store (no Redis) holds at most `maxMemoryMb` of threads: a turn whose request alone
   * is larger could not be kept, and its client would find its thread gone at the next continue with
   * nothing saying why. Refused before it runs when even at a byte a character (`chars`, the least its
   * JSON takes) it would not fit; otherwise the store's own count decides after the answer (a thread it
   * cannot hold is not kept, and that answer's id says so: tooLargeToKeep). Counted at two bytes a
   * character here, one emoji anywhere refused what the store, keeping turns apart, would hold.
   */
  private refuseOverCapacity(chars: number): void {
    const capacity = this.store.capacity;
    if (capacity === undefined || chars <= capacity) return;
    throw new DetailedError(
      413,
      `This thread's conversation takes at least ${chars} bytes of memory, more than the gateway's thread store holds (${capacity} bytes, messages.threads.maxMemoryMb): ` +
        'it could not be kept for the next turn. Shorten the conversation, or send it without thread.',
      { error_code: 'thread_too_large' },
      'messages',
    );
  }

  private opened(
    tenant: string,
    body: MessagesRequest,
    beta: string | undefined,
    continues?: { claim: Claim; threadId: string; after: string; kept: number },
  ): ThreadRequest {
    let kept = false;
    return {
      body,
      beta,
      keep: async (reply) => {
        const messages = [...body.messages.map(withoutCacheControl), { role: 'assistant' as const, content: reply.content }];
        const id = continues?.threadId ?? reply.id;
        const thread = { id, system: body.system, tools: body.tools, fingerprint: fingerprint(body), messages, last: reply.id };
        kept = await this.store.put(tenant, thread, continues);
        return kept;
      },
      settle: async () => {
        await continues?.claim.settle(kept);
      },
    };
  }
}

/** `ttlSeconds`: how long a thread lasts after its last response, as configured (Anthropic's: 5 minutes). */
function notFound(id: string, ttlSeconds: number): DetailedError {
  const ttl =
    ttlSeconds % 60 === 0
      ? `${ttlSeconds / 60} minute${ttlSeconds === 60 ? '' : 's'}`
      : `${ttlSeconds} second${ttlSeconds === 1 ? '' : 's'}`;
  return new DetailedError(
    404,
    `No thread was found for previous_message_id '${id.length > 64 ? `${id.slice(0, 64)}…` : id}' (threads expire ${ttl} after their last response, ` +
      `and one is not kept when its key's threads are at their bound: its answer said x-gateway-thread-kept: false). ` +
      'Replay the full conversation with thread: {"type": "create"} to start a new thread.',
    { error_code: 'thread_not_found' },
    'thread.previous_message_id',
  );
}

/** A thread whose latest answer made it larger than the in-process store holds: not kept, and its client told so. */
function tooLargeToKeep(id: string, capacity: number): DetailedError {
  return new DetailedError(
    413,
    `The thread ending in '${id}' was not kept: with its last answer it became larger than the gateway's thread store could keep for this key ` +
      `(${capacity} bytes, messages.threads.maxMemoryMb, shared between the gateway keys that use it). Shorten the conversation and replay it, or send it without thread.`,
    { error_code: 'thread_too_large' },
    'thread.previous_message_id',
  );
}

/**
 * `thread` is a beta parameter of Anthropic's API, which refuses it without its beta in `anthropic-beta`
 * (as it refuses any beta field: a 400 invalid_request_error). The SDK helpers always send it.
 */
function refuseWithoutBeta(beta: string | undefined): void {
  if (beta?.split(',').some((name) => name.trim() === THREADS_BETA)) return;
  throw new GatewayError(
    400,
    `thread: this parameter is part of the message threads beta; send the header 'anthropic-beta: ${THREADS_BETA}' to use it.`,
    'invalid_request_error',
    null,
    'thread',
  );
}

function continued(continuation: 'in_flight' | 'continued', id: string): DetailedError {
  const message =
    continuation === 'continued'
      ? `The response '${id}' has already been continued, and each response can be continued only once. Continue from the thread's most recent response id.`
      : `Another request is still continuing from '${id}'. Wait for it to complete and continue from its response id, or replay the full conversation with thread: {"type": "create"}.`;
  const code = continuation === 'continued' ? 'thread_already_continued' : 'thread_continue_in_flight';
  return new DetailedError(400, message, { error_code: code }, 'thread.previous_message_id');
}

function withoutThreadsBeta(beta: string | undefined): string | undefined {
  const names = beta
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name && name !== THREADS_BETA);
  return names?.length ? names.join(',') : undefined;
}

/**
 * A message without the cache breakpoints of its blocks (and of the blocks in its tool results): they
 * marked the request that first sent it, and a thread that sent every turn's again would soon pass
 * the four a request may hold. The Anthropic SDK's thread helper drops them on a replay alike.
 */
function withoutCacheControl(message: MessagesRequest['messages'][number]): MessagesRequest['messages'][number] {
  if (typeof message.content === 'string') return message;
  return { ...message, content: message.content.map(blockWithoutCacheControl) };
}

function blockWithoutCacheControl(block: AnthropicBlock): AnthropicBlock {
  const { cache_control: _, ...rest } = block;
  if (Array.isArray(rest.content)) rest.content = (rest.content as AnthropicBlock[]).map(blockWithoutCacheControl);
  return rest as AnthropicBlock;
}
