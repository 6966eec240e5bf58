import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Loading, Overloaded, Unrepresentable } from '../refusals';
import { normalise } from '../vector';
import type { Embedder, EmbedderState, EmbeddingCall } from './embedder';

/** Messages between a WorkerEmbedder and its worker script. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}
/**
 * `vectors`: one row of `dimensions` per text but the `unrepresented` ones (their indices: texts the
 * model cannot represent, vocabulary-coverage.ts), not necessarily unit length.
 */
export type EmbedReply = { id: number; vectors: Float32Array; unrepresented: number[] } | { id: number; error: string };
export type WorkerStatus = { ready: true; dimensions: number } | { ready: false; error: string };

/** Prompts per model call: large enough to amortise a call, small enough to bound the worker's tensors. */
const MAX_BATCH = 64;
/**
 * Characters per model call, but for its first prompt: a batch runs about as long as its text, and a prompt that
 * arrives while it runs waits for all of it (fair31: one key's 2,000-character prompts, batched ten at a time, kept
 * another key's lookups waiting past embeddingTimeoutMs).
 */
const MAX_BATCH_CHARS = 4_000;

interface Waiting {
  text: string;
  /** Whose prompt it is (Embedder.embed's `caller`): its share of the queue. */
  caller: string;
  resolve: (vector: Float32Array) => void;
  reject: (err: Error) => void;
}

/**
 * An offline embedder whose model runs in a worker thread, so the event loop never waits on a
 * model run. Prompts that arrive while a batch runs are embedded together in the next one. The
 * worker embeds a fixed number of prompts a second, so under more traffic a queue would grow
 * without end: at most `maxQueued` prompts wait, a prompt beyond them is refused at once
 * (Overloaded), and a prompt whose caller stopped waiting leaves the queue unembedded. The queue is
 * shared fairly between callers (gateway keys): a full queue takes a prompt of a caller with fewer
 * queued than another has, turning that other's newest away (makeRoomFor). Until the model has loaded
 * a prompt is refused at once too (Loading): a request does not wait for the model.
 */
export class WorkerEmbedder implements Embedder {
  state: EmbedderState = 'loading';
  /** Resolves once the model is loaded (rejects if it cannot be). */
  readonly loaded: Promise<void>;
  /** Resolves, saying why, if the worker ends after the model loaded (not when closed): the embedder is then `failed`. */
  readonly stopped: Promise<string>;
  private closing = false;
  private readonly worker: Worker;
  private readonly queue: Waiting[] = [];
  /** Prompts queued by caller: only callers with some. */
  private readonly queuedBy = new Map<string, number>();
  private running = new Map<number, Waiting[]>();
  private nextId = 0;
  private failure = 'it failed to load';

  /**
   * `script`: the worker's file, a name beside this one or an absolute path. `maxQueued`: prompts
   * that may wait besides the running batch; unbounded for batch jobs (the benches), which want every
   * prompt embedded however long it takes. `loadLimitMs`: a model not loaded by then counts as failed
   * to load, and the worker is stopped.
   */
  constructor(
    script: string,
    readonly id: string,
    readonly dimensions: number,
    private readonly maxQueued = Infinity,
    loadLimitMs = 60_000,
  ) {
    this.worker = new Worker(resolve(__dirname, script));
    // An idle worker must not keep the process alive.
    this.worker.unref();
    this.loaded = new Promise((resolve, reject) => {
      const limit = setTimeout(() => {
        this.worker.removeAllListeners('message');
        reject(new Error(`local embedder did not load its model within ${loadLimitMs} ms`));
        void this.worker.terminate();
      }, loadLimitMs).unref();
      this.worker.once('message', (status: WorkerStatus) => {
        clearTimeout(limit);
        if (!status.ready) return reject(new Error(`local embedder failed to load: ${status.error}`));
        if (status.dimensions !== this.dimensions)
          return reject(new Error(`local embedder: expected ${this.dimensions} dimensions, got ${status.dimensions}`));
        this.state = 'ready';
        this.worker.on('message', (reply: EmbedReply) => this.settle(reply));
        resolve();
      });
      this.worker.once('error', (err) => (clearTimeout(limit), reject(err)));
      // A worker that ends without a word (an abort in the model's WebAssembly, say) fails the load at once, not at the limit.
      this.worker.once(
        'exit',
        (code) => (clearTimeout(limit), reject(new Error(`local embedder's worker exited (code ${code}) before its model loaded`))),
      );
    });
    this.loaded.catch(() => (this.state = 'failed'));
    this.worker.on('error', (err) => this.failAll(err));
    this.stopped = new Promise((stopped) =>
      this.worker.once('exit', (code) => {
        // Prompts posted to a worker that is gone would never be answered: none are from now on.
        if (this.state === 'ready' && !this.closing) stopped((this.failure = `its worker exited (code ${code})`));
        this.state = 'failed';
        this.failAll(new Error(`the ${this.id} embedder's worker exited (code ${code})`));
      }),
    );
  }

  embed(text: string, signal?: AbortSignal, _called?: (call: EmbeddingCall) => void, caller = ''): Promise<Float32Array> {
    if (this.state === 'loading') return Promise.reject(new Loading(`the ${this.id} embedder is still loading its model`));
    if (this.state === 'failed') return Promise.reject(new Error(`the ${this.id} embedder has no model: ${this.failure}`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.length >= this.maxQueued && !this.makeRoomFor(caller))
      return Promise.reject(new Overloaded(`${this.queue.length} prompts already wait for the ${this.id} embedder`));
    return new Promise((resolve, reject) => {
      const giveUp = () => {
        // Dropped while still queued, the prompt costs the worker nothing (a running batch cannot be stopped).
        const at = this.queue.indexOf(waiting);
        if (at >= 0) this.dequeue(at, 1);
        reject(signal!.reason);
      };
      const waiting: Waiting = {
        text,
        caller,
        resolve: (vector) => (signal?.removeEventListener('abort', giveUp), resolve(vector)),
        reject: (err) => (signal?.removeEventListener('abort', giveUp), reject(err)),
      };
      signal?.addEventListener('abort', giveUp, { once: true });
      this.queue.push(waiting);
      this.queuedBy.set(caller, (this.queuedBy.get(caller) ?? 0) + 1);
      this.flush();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
    this.failAll(new Error('local embedder closed'));
  }

  private flush(): void {
    if (this.state !== 'ready' || this.running.size || !this.queue.length) return;
    const batch = this.queuedBy.size > 1 ? this.oneOfEach() : this.dequeue(0, this.fitting());
    const id = this.nextId++;
    this.running.set(id, batch);
    this.worker.postMessage({ id, texts: batch.map((w) => w.text) } satisfies EmbedRequest);
  }

  private settle(reply: EmbedReply): void {
    const batch = this.running.get(reply.id);
    this.running.delete(reply.id);
    if (!batch) return;
    if ('error' in reply) batch.forEach((w) => w.reject(new Error(reply.error)));
    else {
      let row = 0;
      for (const [i, w] of batch.entries()) {
        if (reply.unrepresented.includes(i))
          w.reject(new Unrepresentable(`the ${this.id} embedder does not represent this prompt (its script or its length)`));
        else w.resolve(normalise(reply.vectors.slice(row * this.dimensions, ++row * this.dimensions)));
      }
    }
    this.flush();
  }

  /**
   * Makes room in the full queue for a prompt of `caller`, when another caller has more prompts queued than it:
   * the newest of the caller with the most is turned away (Overloaded: that lookup goes on as a miss). So one
   * caller alone may fill the queue, and with others waiting each keeps at least as many places as the next
   * (fair31: one key's long prompts kept the queue full, and another's semantic hits fell from 32 of 36 to 11).
   */
  private makeRoomFor(caller: string): boolean {
    let heaviest: string | undefined;
    let most = 0;
    for (const [other, queued] of this.queuedBy) if (queued > most) [heaviest, most] = [other, queued];
    // One more than the caller's own would only swap their places: refused, as the queue is as fair as it gets.
    if (heaviest === undefined || most <= (this.queuedBy.get(caller) ?? 0) + 1) return false;
    const newest = this.queue.findLastIndex((w) => w.caller === heaviest);
    const [turnedAway] = this.dequeue(newest, 1);
    turnedAway.reject(new Overloaded(`a prompt of another caller took this one's place in the ${this.id} embedder's queue`));
    return true;
  }

  /**
   * The oldest queued prompt of each caller (at most MAX_BATCH), in arrival order: with several callers waiting a
   * batch holds one prompt of each, so that one caller's many long prompts do not make the others' batch slow, and
   * each caller's next prompt runs in the next batch, whatever the others have queued. One caller alone is batched
   * whole, as before.
   */
  private oneOfEach(): Waiting[] {
    const seen = new Set<string>();
    const oldest: number[] = [];
    let chars = 0;
    for (let at = 0; at < this.queue.length && oldest.length < MAX_BATCH; at++) {
      const { caller, text } = this.queue[at];
      if (seen.has(caller)) continue;
      if (oldest.length && chars + text.length > MAX_BATCH_CHARS) break;
      oldest.push(at);
      seen.add(caller);
      chars += text.length;
    }
    // From the last: taking one out does not move those before it.
    return oldest
      .reverse()
      .flatMap((at) => this.dequeue(at, 1))
      .reverse();
  }

  /** How many of the queue's first prompts the next batch takes: at most MAX_BATCH, and MAX_BATCH_CHARS after the first. */
  private fitting(): number {
    let chars = this.queue[0].text.length;
    let count = 1;
    while (count < Math.min(MAX_BATCH, this.queue.length) && chars + this.queue[count].text.length <= MAX_BATCH_CHARS)
      chars += this.queue[count++].text.length;
    return count;
  }

  /** Takes `count` prompts out of the queue from `at`, and out of their callers' counts. */
  private dequeue(at: number, count: number): Waiting[] {
    const taken = this.queue.splice(at, count);
    for (const { caller } of taken) {
      const left = this.queuedBy.get(caller)! - 1;
      if (left > 0) this.queuedBy.set(caller, left);
      else this.queuedBy.delete(caller);
    }
    return taken;
  }

  private failAll(err: Error): void {
    for (const w of [...this.dequeue(0, this.queue.length), ...[...this.running.values()].flat()]) w.reject(err);
    this.running.clear();
  }
}

/** The offline default: Universal Sentence Encoder lite, 512 dimensions (use.worker.ts). */
export class LocalUseEmbedder extends WorkerEmbedder {
  constructor(maxQueued?: number, loadLimitMs?: number) {
    super('use.worker.js', 'use-lite-512', 512, maxQueued, loadLimitMs);
  }
}

/** all-MiniLM-L6-v2, 384 dimensions (minilm.worker.ts; model files from scripts/minilm-model.sh). */
export class MiniLmEmbedder extends WorkerEmbedder {
  constructor(maxQueued?: number, loadLimitMs?: number) {
    super('minilm.worker.js', 'minilm-l6-384', 384, maxQueued, loadLimitMs);
  }
}
