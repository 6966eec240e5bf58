import { type Appended, CONTINUED, type Found, type KeptThread, type NewTurn, type ThreadBackend } from './thread-backend';

interface Held extends KeptThread {
  /** Its answers' ids, oldest first: the marks it takes with it when it goes. */
  ids: string[];
  chars: number;
  expiresAt: number;
}

/** What a response id and its claim take beside their thread, in characters: counted in the thread's size. */
const MARKS_CHARS = 128;
/** The mark of a response whose thread was too large to keep (memory-threads only). */
const DROPPED = '\u0000dropped';

/**
 * Threads in this process, within `maxChars` of JSON: threads in recency order, the least recently
 * used evicted first when a turn needs the room (`onEvicted` is told how many: their clients' next
 * continue is thread_not_found, and the SDK helpers replay). A thread that alone is larger than the
 * store is dropped, and its latest answer's id marked so (`dropped`): its client is told why on its next
 * continue instead of a bare thread_not_found. Each call runs to its end without yielding, so each is
 * one step, as a Redis script is.
 */
export class MemoryThreads implements ThreadBackend {
  /** `<tenant>\0<thread id>`, least recently used first. */
  private readonly threads = new Map<string, Held>();
  /** `<tenant>\0<response id>` (its thread's id, or DROPPED) and `<tenant>\0next:<response id>` (who continues it). */
  private readonly marks = new Map<string, { value: string; expiresAt: number }>();
  private chars = 0;

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
    this.threads.delete(`${tenant}\u0000${threadId}`); // most recently used last
    this.threads.set(`${tenant}\u0000${threadId}`, thread);
    return { id: thread.id, fixed: thread.fixed, last: thread.last, turns: [...thread.turns] };
  }

  async append(tenant: string, turn: NewTurn, ttlSeconds: number): Promise<Appended> {
    const key = `${tenant}\u0000${turn.threadId}`;
    const held = this.live(tenant, turn.threadId);
    if (turn.after === undefined ? held : !held) return turn.after === undefined ? 'moved' : 'gone';
    if (held && held.last !== turn.after) return 'moved';
    const thread = held ?? { id: turn.threadId, fixed: turn.fixed, last: '', turns: [], ids: [], chars: turn.fixed.length, expiresAt: 0 };
    const chars = thread.chars + turn.turn.length + MARKS_CHARS;
    if (chars > this.capacity) {
      const claim = this.marks.get(`${tenant}\u0000next:${turn.after}`);
      this.forget(tenant, key);
      if (claim) this.marks.set(`${tenant}\u0000next:${turn.after}`, claim); // its continue's, settled when that ends
      this.marks.set(`${tenant}\u0000${turn.last}`, { value: DROPPED, expiresAt: this.now() + ttlSeconds * 1000 });
      return 'too_large';
    }
    if (held) {
      this.threads.delete(key); // re-added below, most recently used last
      this.chars -= held.chars;
    }
    this.evict(chars);
    Object.assign(thread, { last: turn.last, chars, expiresAt: this.now() + ttlSeconds * 1000 });
    thread.turns.push(turn.turn);
    thread.ids.push(turn.last);
    this.threads.set(key, thread);
    this.chars += chars;
    this.marks.set(`${tenant}\u0000${turn.last}`, { value: turn.threadId, expiresAt: thread.expiresAt });
    // Every key of the thread expires with it, as in Redis: an earlier response stays "already continued".
    for (const id of thread.ids) {
      const next = this.marks.get(`${tenant}\u0000next:${id}`);
      if (next?.value === CONTINUED) next.expiresAt = Math.max(next.expiresAt, thread.expiresAt);
    }
    return 'kept';
  }

  async claim(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    if (this.mark(tenant, `next:${responseId}`) !== undefined) return false;
    this.marks.set(`${tenant}\u0000next:${responseId}`, { value: holder, expiresAt: this.now() + ttlSeconds * 1000 });
    return true;
  }

  async marked(tenant: string, responseId: string): Promise<string | undefined> {
    return this.mark(tenant, `next:${responseId}`);
  }

  async renew(tenant: string, responseId: string, holder: string, ttlSeconds: number): Promise<boolean> {
    if (this.mark(tenant, `next:${responseId}`) !== holder) return false;
    this.marks.get(`${tenant}\u0000next:${responseId}`)!.expiresAt = this.now() + ttlSeconds * 1000;
    return true;
  }

  async release(tenant: string, responseId: string, holder: string, next: string | undefined, ttlSeconds: number): Promise<boolean> {
    const key = `${tenant}\u0000next:${responseId}`;
    if (this.mark(tenant, `next:${responseId}`) !== holder) return false;
    if (next === undefined) this.marks.delete(key);
    else this.marks.set(key, { value: next, expiresAt: this.now() + ttlSeconds * 1000 });
    return true;
  }

  /** The value under `<tenant>\0<id>` unless it expired (then it is removed). */
  private mark(tenant: string, id: string): string | undefined {
    const key = `${tenant}\u0000${id}`;
    const mark = this.marks.get(key);
    if (mark && mark.expiresAt <= this.now()) this.marks.delete(key);
    return mark && mark.expiresAt > this.now() ? mark.value : undefined;
  }

  private live(tenant: string, threadId: string): Held | undefined {
    const key = `${tenant}\u0000${threadId}`;
    const thread = this.threads.get(key);
    if (thread && thread.expiresAt <= this.now()) this.forget(tenant, key);
    return thread && thread.expiresAt > this.now() ? thread : undefined;
  }

  /** Removes the least recently used threads until `chars` more fit. */
  private evict(chars: number): void {
    let evicted = 0;
    for (const key of this.threads.keys()) {
      if (this.chars + chars <= this.capacity) break;
      const expired = this.threads.get(key)!.expiresAt <= this.now();
      this.forget(key.slice(0, key.indexOf('\u0000')), key);
      if (!expired) evicted++;
    }
    if (evicted) this.onEvicted(evicted);
  }

  /** Removes a thread with the marks of its responses. */
  private forget(tenant: string, key: string): void {
    const thread = this.threads.get(key);
    if (!thread) return;
    this.threads.delete(key);
    this.chars -= thread.chars;
    for (const id of thread.ids) {
      this.marks.delete(`${tenant}\u0000${id}`);
      this.marks.delete(`${tenant}\u0000next:${id}`);
    }
  }
}
