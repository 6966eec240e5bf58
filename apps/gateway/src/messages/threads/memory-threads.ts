import { ExpiryQueue } from '../../stores/expiry-queue';
import { fairEvictions, type Share } from '../../stores/fair-share';
import { heldBytes } from '../../stores/held-bytes';
import { type Appended, CONTINUED, type Found, type KeptThread, type NewTurn, type ThreadBackend } from './thread-backend';

interface Held extends KeptThread {
  /** Its answers' ids, oldest first: the marks it takes with it when it goes. */
  ids: string[];
  bytes: number;
  expiresAt: number;
}

/** What a response id and its claim take beside their thread, in bytes: counted in the thread's size. */
const MARKS_BYTES = 128;
/** The mark of a response whose thread was too large to keep (memory-threads only). */
const DROPPED = '\u0000dropped';

/**
 * Threads in this process, within `capacity` bytes of memory (held-bytes.ts, as the 413 before a turn counts
 * them): when a turn needs room, threads are evicted from the key holding the most (the key adding the
 * turn counted with it, and its own threads taken on a tie), its least recently used first (fair-share.ts). A key alone
 * may fill the store, but one key's threads cannot push out another key holding less: each key keeps at
 * least an even share of the store once others need room (`onEvicted` is told how many went: their
 * clients' next continue is thread_not_found, and the SDK helpers replay). A thread larger than the
 * store, or than its key's share while others hold the rest, is dropped, and its latest answer's id
 * marked so (`dropped`): its client is told why on its next continue instead of a bare thread_not_found. Expired
 * threads and marks are taken out before a write (expiry-queue.ts), as Redis expires keys: an expired thread never
 * pushes out a live one, and marks no thread takes with it (`dropped`, a lapsed claim) do not pile up. Each call
 * runs to its end without yielding, so each is one step, as a Redis script is.
 */
export class MemoryThreads implements ThreadBackend {
  /** Per tenant, its threads by id. */
  private readonly shares = new Map<string, Share<Held>>();
  /** `<tenant>\0<response id>` (its thread's id, or DROPPED) and `<tenant>\0next:<response id>` (who continues it). */
  private readonly marks = new Map<string, { value: string; expiresAt: number }>();
  private readonly threadExpiries = new ExpiryQueue((tenant, threadId) => this.shares.get(tenant)?.entries.get(threadId)?.expiresAt);
  private readonly markExpiries = new ExpiryQueue((tenant, id) => this.marks.get(`${tenant}\u0000${id}`)?.expiresAt);
  private bytes = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvicted: (threads: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async read(tenant: string, responseId: string): Promise<Found> {
    const threadId = this.mark(tenant, responseId);
    if (threadId === DROPPED) return 'dropped';
    const thread = threadId === undefined ? undefined : this.live(tenant, threadId);
    if (!thread) return undefined;
    const threads = this.shares.get(tenant)!.entries;
    threads.delete(thread.id); // most recently used last
    threads.set(thread.id, thread);
    return { id: thread.id, fixed: thread.fixed, last: thread.last, turns: [...thread.turns] };
  }

  async append(tenant: string, turn: NewTurn, ttlSeconds: number): Promise<Appended> {
    this.sweep();
    const held = this.live(tenant, turn.threadId);
    if (turn.after === undefined ? held : !held) return turn.after === undefined ? 'moved' : 'gone';
    if (held && held.last !== turn.after) return 'moved';
    const thread = held ?? {
      id: turn.threadId,
      fixed: turn.fixed,
      last: '',
      turns: [],
      ids: [],
      bytes: heldBytes(turn.fixed),
      expiresAt: 0,
    };
    const bytes = thread.bytes + heldBytes(turn.turn) + MARKS_BYTES;
    if (held) this.detach(tenant, held); // re-added below, most recently used last
    const evictions = bytes > this.capacity ? undefined : fairEvictions(this.shares, tenant, bytes, this.bytes + bytes - this.capacity);
    if (!evictions) return this.drop(tenant, thread, turn, ttlSeconds);
    this.evict(evictions);
    Object.assign(thread, { last: turn.last, bytes, expiresAt: this.now() + ttlSeconds * 1000 });
    thread.turns.push(turn.turn);
    thread.ids.push(turn.last);
    const share = this.shares.get(tenant) ?? this.shares.set(tenant, { entries: new Map(), bytes: 0 }).get(tenant)!;
    share.entries.set(thread.id, thread);
    share.bytes += bytes;
    this.bytes += bytes;
    this.threadExpiries.add(tenant, thread.id, thread.expiresAt);
    this.setMark(tenant, turn.last, turn.threadId, thread.expiresAt);
    // Every key of the thread expires with it, as in Redis: an earlier response stays "already continued".
    for (const id of thread.ids) {
      const next = this.marks.get(`${tenant}\u0000next:${id}`);
      if (next?.value === CONTINUED && next.expiresAt < thread.expiresAt) this.setMark(tenant, `next:${id}`, CONTINUED, thread.expiresAt);
    }
    return 'kept';
  }

  async claim(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    this.sweep();
    if (this.mark(tenant, `next:${responseId}`) !== undefined) return false;
    this.setMark(tenant, `next:${responseId}`, holder, this.now() + ttlSeconds * 1000);
    return true;
  }

  async marked(tenant: string, responseId: string): Promise<string | undefined> {
    return this.mark(tenant, `next:${responseId}`);
  }

  async renew(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    if (this.mark(tenant, `next:${responseId}`) !== holder) return false;
    this.setMark(tenant, `next:${responseId}`, holder, this.now() + ttlSeconds * 1000);
    return true;
  }

  async release(tenant: string, responseId: string, holder: string, next: string | undefined, ttlSeconds: number): Promise<boolean> {
    const key = `${tenant}\u0000next:${responseId}`;
    if (this.mark(tenant, `next:${responseId}`) !== holder) return false;
    if (next === undefined) this.marks.delete(key);
    else this.setMark(tenant, `next:${responseId}`, next, this.now() + ttlSeconds * 1000);
    return true;
  }

  /** Sets the value under `<tenant>\0<id>`, until `expiresAt`. */
  private setMark(tenant: string, id: string, value: string, expiresAt: number): void {
    this.marks.set(`${tenant}\u0000${id}`, { value, expiresAt });
    this.markExpiries.add(tenant, id, expiresAt);
  }

  /** Takes out the threads (with their marks) and the marks that expired. */
  private sweep(): void {
    const now = this.now();
    for (const [tenant, threadId] of this.threadExpiries.expired(now)) this.forget(tenant, threadId);
    for (const [tenant, id] of this.markExpiries.expired(now)) this.marks.delete(`${tenant}\u0000${id}`);
  }

  /** The value under `<tenant>\0<id>` unless it expired (then it is removed). */
  private mark(tenant: string, id: string): string | undefined {
    const key = `${tenant}\u0000${id}`;
    const mark = this.marks.get(key);
    if (mark && mark.expiresAt <= this.now()) this.marks.delete(key);
    return mark && mark.expiresAt > this.now() ? mark.value : undefined;
  }

  private live(tenant: string, threadId: string): Held | undefined {
    const thread = this.shares.get(tenant)?.entries.get(threadId);
    if (thread && thread.expiresAt <= this.now()) this.forget(tenant, threadId);
    return thread && thread.expiresAt > this.now() ? thread : undefined;
  }

  /** Live threads only: the expired ones went first (sweep). */
  private evict(plan: [string, Held][]): void {
    for (const [tenant, thread] of plan) this.forget(tenant, thread.id);
    if (plan.length) this.onEvicted(plan.length);
  }

  /**
   * A thread the store cannot hold (larger than the store, or than its key's share once others need the
   * room): gone, and its latest answer's id marked so (`dropped`) for its next continue.
   */
  private drop(tenant: string, thread: Held, turn: NewTurn, ttlSeconds: number): Appended {
    const claim = this.marks.get(`${tenant}\u0000next:${turn.after}`);
    this.forgetMarks(tenant, thread);
    if (claim) this.marks.set(`${tenant}\u0000next:${turn.after}`, claim); // its continue's, settled when that ends
    this.setMark(tenant, turn.last, DROPPED, this.now() + ttlSeconds * 1000);
    return 'too_large';
  }

  /** Removes a thread with the marks of its responses. */
  private forget(tenant: string, threadId: string): void {
    const thread = this.shares.get(tenant)?.entries.get(threadId);
    if (!thread) return;
    this.detach(tenant, thread);
    this.forgetMarks(tenant, thread);
  }

  private forgetMarks(tenant: string, thread: Held): void {
    for (const id of thread.ids) {
      this.marks.delete(`${tenant}\u0000${id}`);
      this.marks.delete(`${tenant}\u0000next:${id}`);
    }
  }

  /** Takes a thread out of its key's share (a share left empty goes: eviction looks only at keys holding threads). */
  private detach(tenant: string, thread: Held): void {
    const share = this.shares.get(tenant)!;
    share.entries.delete(thread.id);
    share.bytes -= thread.bytes;
    this.bytes -= thread.bytes;
    if (!share.entries.size) this.shares.delete(tenant);
  }
}
