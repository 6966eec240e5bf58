import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { normalise } from '../vector';
import type { Embedder } from './embedder';

/** Messages between a WorkerEmbedder and its worker script. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}
/** `vectors`: one row of `dimensions` per text, not necessarily unit length. */
export type EmbedReply = { id: number; vectors: Float32Array } | { id: number; error: string };
export type WorkerStatus = { ready: true; dimensions: number } | { ready: false; error: string };

/** Prompts per model call: large enough to amortise a call, small enough to bound the worker's tensors. */
const MAX_BATCH = 64;

interface Waiting {
  text: string;
  resolve: (vector: Float32Array) => void;
  reject: (err: Error) => void;
}

/**
 * An offline embedder whose model runs in a worker thread, so the event loop never waits on a
 * model run. Prompts that arrive while a batch runs are embedded together in the next one.
 */
export class WorkerEmbedder implements Embedder {
  ready = false;
  /** Resolves once the model is loaded (rejects if it cannot be). */
  readonly loaded: Promise<void>;
  private readonly worker: Worker;
  private readonly queue: Waiting[] = [];
  private running = new Map<number, Waiting[]>();
  private nextId = 0;

  /** `script`: the worker's file name beside this one. */
  constructor(
    script: string,
    readonly id: string,
    readonly dimensions: number,
  ) {
    this.worker = new Worker(join(__dirname, script));
    // An idle worker must not keep the process alive.
    this.worker.unref();
    this.loaded = new Promise((resolve, reject) => {
      this.worker.once('message', (status: WorkerStatus) => {
        if (!status.ready) return reject(new Error(`local embedder failed to load: ${status.error}`));
        if (status.dimensions !== this.dimensions)
          return reject(new Error(`local embedder: expected ${this.dimensions} dimensions, got ${status.dimensions}`));
        this.ready = true;
        this.worker.on('message', (reply: EmbedReply) => this.settle(reply));
        resolve();
        this.flush();
      });
      this.worker.once('error', reject);
    });
    this.worker.on('error', (err) => this.failAll(err));
  }

  embed(text: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ text, resolve, reject });
      this.flush();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
    this.failAll(new Error('local embedder closed'));
  }

  private flush(): void {
    if (!this.ready || this.running.size || !this.queue.length) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    const id = this.nextId++;
    this.running.set(id, batch);
    this.worker.postMessage({ id, texts: batch.map((w) => w.text) } satisfies EmbedRequest);
  }

  private settle(reply: EmbedReply): void {
    const batch = this.running.get(reply.id);
    this.running.delete(reply.id);
    if (!batch) return;
    if ('error' in reply) batch.forEach((w) => w.reject(new Error(reply.error)));
    else batch.forEach((w, i) => w.resolve(normalise(reply.vectors.slice(i * this.dimensions, (i + 1) * this.dimensions))));
    this.flush();
  }

  private failAll(err: Error): void {
    for (const w of [...this.queue.splice(0), ...[...this.running.values()].flat()]) w.reject(err);
    this.running.clear();
  }
}

/** The offline default: Universal Sentence Encoder lite, 512 dimensions (use.worker.ts). */
export class LocalUseEmbedder extends WorkerEmbedder {
  constructor() {
    super('use.worker.js', 'use-lite-512', 512);
  }
}

/** all-MiniLM-L6-v2, 384 dimensions (minilm.worker.ts; model files from scripts/minilm-model.sh). */
export class MiniLmEmbedder extends WorkerEmbedder {
  constructor() {
    super('minilm.worker.js', 'minilm-l6-384', 384);
  }
}
