/**
 * A thread as a backend holds it: its fixed fields once (JSON), then one entry per turn, the JSON
 * array of the messages that turn added (a create's whole conversation and answer, then each
 * continue's new messages and answer), so that a turn writes what it adds, not the whole thread.
 */
export interface KeptThread {
  id: string;
  /** `{system, tools, fingerprint}` in JSON, as the create request set them. */
  fixed: string;
  /** The latest response's id: the only one the thread continues from. */
  last: string;
  turns: string[];
}

/** A turn to add: to the thread whose latest response is `after`, or a new thread (`after` unset). */
export interface NewTurn {
  threadId: string;
  after?: string;
  /** Written when the thread is (a create, or a thread written anew once it had expired). */
  fixed: string;
  /** The JSON array of the messages the turn adds, its answer last. */
  turn: string;
  /** The answer's id. */
  last: string;
}

/**
 * `kept`; `moved`: the thread's latest response is no longer `after` (a continue whose claim lapsed
 * while another continued the same response and was kept first: one line of turns, not two);
 * `gone`: the thread expired meanwhile; `too_large`: more than the in-process store holds;
 * `over_bound`: its tenant's threads in Redis would take more than messages.threads.tenantMaxMemoryMb.
 */
export type Appended = 'kept' | 'moved' | 'gone' | 'too_large' | 'over_bound';

/** What a response id names: its thread, nothing, or a thread the in-process store could not hold. */
export type Found = KeptThread | 'dropped' | undefined;

/**
 * Threads and the claims on their responses, per tenant, in Redis (redis-threads.ts) or in this
 * process (memory-threads.ts). Every write that changes a thread or a claim is conditional, done in
 * one step (one Redis script): a reader never sees half a turn, and a claim is changed only by the
 * request that holds it.
 */
export interface ThreadBackend {
  /** The in-process store's bound, in bytes of memory (held-bytes.ts); undefined for Redis. */
  readonly capacity: number | undefined;
  read(tenant: string, responseId: string): Promise<Found>;
  /** Adds a turn and names the thread under its answer's id; every key of the thread then expires `ttlSeconds` later. */
  append(tenant: string, turn: NewTurn, ttlSeconds: number): Promise<Appended>;
  /** Marks `responseId` as held by `holder` when nothing marks it yet; says whether it did. */
  claim(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean>;
  /** What marks `responseId` now (a holder, or `CONTINUED`). */
  marked(tenant: string, responseId: string): Promise<string | undefined>;
  /** Sets the claim's TTL anew if `holder` still holds it; says whether it did. */
  renew(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean>;
  /** Replaces `holder`'s claim by `next` (deletes it when unset) if `holder` still holds it; says whether it did. */
  release(tenant: string, responseId: string, holder: string, next: string | undefined, ttlSeconds: number): Promise<boolean>;
}

/** The mark of a response that has been continued (its continue's answer kept). */
export const CONTINUED = '"continued"';
