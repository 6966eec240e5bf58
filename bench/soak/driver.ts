import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { classify, lost, type Outcome } from './outcome';
import { BACKEND_HEADER, PROXY_ERROR_HEADER } from './proxy';

/** What a request does; the main lane draws one per request from WEIGHTS. */
export type RequestKind =
  | 'repeat'
  | 'unique'
  | 'repeat-stream'
  | 'unique-stream'
  | 'drip'
  | 'abort'
  /** A stream whose client gives up after `abortEarlyMs` if it has not finished (before any chunk, when the upstream is slow). */
  | 'abort-early'
  | 'slow-body'
  | 'limited';

/** Main-lane mixes: everything the gateway does, or routing only (unique prompts, half streamed: no cache hits). */
export const MIXES = {
  mixed: [
    ['repeat', 28],
    ['unique', 20],
    ['repeat-stream', 14],
    ['unique-stream', 14],
    ['drip', 10],
    ['abort', 7],
    ['slow-body', 7],
  ],
  routing: [
    ['unique', 50],
    ['unique-stream', 50],
  ],
} satisfies Record<string, [RequestKind, number][]>;
/** Prompts asked again and again (cache hits once stored), per key. */
const REPEATED = 8;
/** A client that disconnects on purpose does so after this many SSE events. */
const ABORT_AFTER_EVENTS = 3;
const SLOW_BODY_PIECES = 4;
const SLOW_BODY_GAP_MS = 400;

export interface RequestRecord {
  id: number;
  kind: RequestKind;
  key: string;
  stream: boolean;
  /** Milliseconds since the soak started. */
  start: number;
  end: number;
  backend?: string;
  outcome: Outcome;
  /** For lost requests: what was received (status and the start of the body). */
  detail?: string;
}

export interface DriverOptions {
  /** The proxy in front of the gateways. */
  url: string;
  /** Gateway keys by id; `limited` gets its own steady lane, the others share the main one. */
  keys: Record<string, string>;
  /** Main-lane requests per second. */
  rate: number;
  /** Requests per second of the `limited` key (above its RPM on purpose). */
  limitedRate: number;
  /** Per-request deadline: a request not finished by then is `lost: hung`. */
  deadlineMs: number;
  /** Time origin of `start`/`end` (performance.now()). */
  t0: number;
  mix: keyof typeof MIXES;
}

interface Inflight {
  id: number;
  kind: RequestKind;
  backend?: string;
  done: Promise<RequestRecord>;
}

/**
 * Open-loop load at a fixed rate (requests start on schedule whether or not earlier
 * ones finished), through undici to the proxy. Every request carries a deadline and
 * is classified from the bytes received (see outcome.ts).
 */
export class LoadDriver {
  readonly records: RequestRecord[] = [];
  readonly inflight = new Map<number, Inflight>();
  private readonly pool: Pool;
  private readonly mainKeys: string[];
  /** While set, every main-lane request is an `abort-early` one that gives up after this long. */
  abortEarlyMs: number | undefined;
  private nextId = 0;
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: DriverOptions) {
    this.pool = new Pool(options.url, { connections: 512, pipelining: 1, keepAliveTimeout: 30_000 });
    this.mainKeys = Object.keys(options.keys).filter((k) => k !== 'limited');
  }

  start(): void {
    const weights = MIXES[this.options.mix];
    const main = () => (this.abortEarlyMs === undefined ? pickKind(weights) : 'abort-early');
    this.timers.push(setInterval(() => void this.send(main()), 1000 / this.options.rate));
    if (this.options.limitedRate > 0) this.timers.push(setInterval(() => void this.send('limited'), 1000 / this.options.limitedRate));
  }

  /** Stops issuing requests and waits for the ones in flight (each is bounded by its deadline). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([...this.inflight.values()].map((r) => r.done));
    await this.pool.close();
  }

  /** Starts `count` requests of `kind` now (e.g. long streams just before a SIGTERM). */
  burst(kind: RequestKind, count: number): Promise<RequestRecord>[] {
    return Array.from({ length: count }, () => this.send(kind));
  }

  private now(): number {
    return performance.now() - this.options.t0;
  }

  private send(kind: RequestKind): Promise<RequestRecord> {
    const id = ++this.nextId;
    const key = kind === 'limited' ? 'limited' : this.mainKeys[id % this.mainKeys.length];
    const entry: Inflight = { id, kind, done: undefined as unknown as Promise<RequestRecord> };
    entry.done = this.run(id, kind, key, entry).then((record) => {
      this.inflight.delete(id);
      this.records.push(record);
      return record;
    });
    this.inflight.set(id, entry);
    return entry.done;
  }

  private async run(id: number, kind: RequestKind, key: string, entry: Inflight): Promise<RequestRecord> {
    const start = this.now();
    const { prompt, model, stream } = requestFor(kind, id);
    const payload = JSON.stringify({
      model,
      messages: [{ role: 'user', content: prompt }],
      stream,
      temperature: 0,
      ...(stream && id % 2 === 0 ? { stream_options: { include_usage: true } } : {}),
    });
    const intentional = new AbortController();
    const deadline = AbortSignal.timeout(this.options.deadlineMs);
    const signal = AbortSignal.any([intentional.signal, deadline]);
    const giveUp = kind === 'abort-early' ? setTimeout(() => intentional.abort(), this.abortEarlyMs ?? 0) : undefined;
    let text = '';
    let status = 0;
    const record = (outcome: Outcome): RequestRecord => ({
      id,
      kind,
      key,
      stream,
      start,
      end: this.now(),
      backend: entry.backend,
      outcome,
      ...(outcome.kind === 'lost' && { detail: `${status} ${text.slice(0, 200)}` }),
    });
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: {
          authorization: `Bearer ${this.options.keys[key]}`,
          'content-type': 'application/json',
          'x-request-id': `soak-${id}`,
        },
        body: kind === 'slow-body' ? Readable.from(slowly(payload)) : payload,
        signal,
      });
      status = res.statusCode;
      entry.backend = header(res.headers[BACKEND_HEADER]);
      const proxyError = header(res.headers[PROXY_ERROR_HEADER]);
      let events = 0;
      for await (const chunk of res.body) {
        const piece = (chunk as Buffer).toString('utf8');
        text += piece;
        if (kind !== 'abort') continue;
        events += piece.split('\n\n').length - 1;
        if (events >= ABORT_AFTER_EVENTS) intentional.abort();
      }
      if (proxyError) return record(lost(`proxy_${proxyError}`));
      const received = {
        status: res.statusCode,
        contentType: header(res.headers['content-type']) ?? '',
        body: text,
        cache: header(res.headers['x-gateway-cache']),
      };
      return record(classify(received, stream, prompt));
    } catch {
      if (intentional.signal.aborted) return record({ kind: 'aborted' });
      if (deadline.aborted) return record(lost('hung'));
      return record(lost(text ? 'truncated' : 'transport'));
    } finally {
      clearTimeout(giveUp);
    }
  }
}

function pickKind(weights: [RequestKind, number][]): RequestKind {
  let r = Math.random() * weights.reduce((sum, [, w]) => sum + w, 0);
  for (const [kind, weight] of weights) if ((r -= weight) < 0) return kind;
  return weights[0][0];
}

/**
 * The request each kind sends. Unique prompts carry their id, so the semantic
 * cache's guard (numbers must match) keeps them apart; `drip` and `abort` use the
 * `chat-drip` model, whose upstream streams a word every 150 ms.
 */
function requestFor(kind: RequestKind, id: number): { prompt: string; model: string; stream: boolean } {
  const repeated = `Repeated question ${id % REPEATED}: which colour has a clear sky at noon?`;
  const unique = `Unique question ${id}: tell me one fact about the number ${id}.`;
  switch (kind) {
    case 'repeat':
    case 'slow-body':
      return { prompt: repeated, model: 'chat', stream: false };
    case 'repeat-stream':
      return { prompt: repeated, model: 'chat', stream: true };
    case 'unique':
    case 'limited':
      return { prompt: unique, model: 'chat', stream: false };
    case 'unique-stream':
    case 'abort-early':
      return { prompt: unique, model: 'chat', stream: true };
    case 'drip':
      return { prompt: `Long stream ${id}: count slowly from one to ten please.`, model: 'chat-drip', stream: true };
    case 'abort':
      return { prompt: `abort-${id}: count slowly from one to ten please, then stop.`, model: 'chat-drip', stream: true };
  }
}

/** The body in a few pieces with pauses: a slow client upload. */
async function* slowly(payload: string): AsyncGenerator<Buffer> {
  const size = Math.ceil(payload.length / SLOW_BODY_PIECES);
  for (let i = 0; i < payload.length; i += size) {
    if (i) await sleep(SLOW_BODY_GAP_MS);
    yield Buffer.from(payload.slice(i, i + size));
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
