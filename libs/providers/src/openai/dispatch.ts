import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, errors } from 'undici';
import { DONE, type Releasable } from '../map-stream';

/**
 * Requests through undici's dispatch API, read straight from its handler callbacks.
 * `request()` wraps every answer in a Node stream with its own promise plumbing: ~4 KB of
 * garbage and a few µs a request on the hot path (BENCHMARKS.md, "Changes, each measured").
 *
 * The provider's `timeoutMs` is kept here as undici keeps its headers and body timeouts (the
 * wait for the headers, then the idle time between body chunks), with one native timer a request,
 * checked lazily. undici's own are FastTimers that stay in its list until its next tick (~0.5 s)
 * after they are cleared: every request's outlived two scavenges and was promoted, ~90 bytes of
 * old space a request, 40% of all a request promoted (BENCHMARKS.md, "Changes, each measured").
 */

export interface UpstreamResponse<B> {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: B;
}

/** An answer's headers as the fetch `Headers` the SDKs' errors carry. */
export function headersOf(res: UpstreamResponse<unknown>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
  }
  return headers;
}

/**
 * An answer whose body outgrew what the request may read (`maxBytes`, the provider's
 * `maxResponseBytes`): the request is aborted there. Its code marks it a transport failure for
 * the SDKs' error mapping (translation/errors.ts); fromTransportError names the provider.
 */
export class AnswerTooLarge extends Error {
  readonly code = 'GW_ANSWER_TOO_LARGE';

  constructor(readonly maxBytes: number) {
    super(`answer larger than ${maxBytes} bytes`);
  }
}

/**
 * One request, its answer collected whole, up to `maxBytes`: a body declared or grown past them is
 * aborted (AnswerTooLarge), so an upstream that never ends its body holds no more than that.
 * `sent` is called once the request is written whole (CallContext.sent).
 */
export function bufferedRequest(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  timeoutMs: number,
  maxBytes: number,
  sent?: () => void,
): Promise<UpstreamResponse<[Buffer]>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const tooLarge = () => {
      chunks.length = 0;
      controller!.abort(new AnswerTooLarge(maxBytes));
    };
    dispatch(dispatcher, options, signal, timeoutMs, {
      sent,
      start: (c, status, responseHeaders) => {
        controller = c;
        statusCode = status;
        headers = responseHeaders;
        if (Number(responseHeaders['content-length']) > maxBytes) tooLarge();
      },
      data: (chunk) => {
        if (controller!.aborted) return;
        bytes += chunk.length;
        if (bytes > maxBytes) return tooLarge();
        chunks.push(chunk);
      },
      end: () => resolve({ statusCode, headers, body: [chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)] }),
      fail: reject,
    });
  });
}

/** `bufferedRequest` or `streamedRequest`, as their callers take either (a stream ignores `maxBytes`). */
export type UpstreamRequest<B> = (...args: Parameters<typeof bufferedRequest>) => Promise<B>;

/**
 * One request whose answer is handed over chunk by chunk as it arrives. `sent`, as bufferedRequest's, is called
 * once the request is written whole; `_maxBytes` is bufferedRequest's place for its bound, which a stream, read
 * as it comes, does not have (UpstreamRequest: the callers take either).
 */
export function streamedRequest(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  timeoutMs: number,
  _maxBytes?: number,
  sent?: () => void,
): Promise<UpstreamResponse<StreamedBody>> {
  return new Promise((resolve, reject) => {
    const body = new StreamedBody();
    dispatch(dispatcher, options, signal, timeoutMs, {
      sent,
      start: (controller, statusCode, headers) => {
        body.controller = controller;
        resolve({ statusCode, headers, body });
      },
      data: (chunk) => body.data(chunk),
      end: () => body.end(),
      fail: (err) => {
        reject(err);
        body.fail(err);
      },
      // A function, not a getter: with a getter in this literal a streamed request cost ~50 µs
      // more CPU (BENCHMARKS.md, "Changes, each measured").
      resumedAt: () => body.resumedAt,
    });
  });
}

/**
 * Bytes not yet read at which the socket stops being read, and below which it is read again. In
 * bytes, not chunks: undici, resumed, copies all the socket holds into its parser again, so each
 * resumption must let a good part of it through. At 16 chunks / 4 (an OpenAI-format burst: ~280
 * bytes a chunk), a reader that lets the event loop turn (event-turns.ts) resumed the parser every
 * ~3 KB: 10,000 chunks cost ~50 ms more CPU.
 */
const HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = 64 * 1024;
/**
 * How long a released body (its stream's end marker read) may take to end: read to its end,
 * its connection serves the next request (servers such as uvicorn send the chunked body's end
 * in a packet of its own, after the last event). One that does not end by then is aborted.
 */
const RELEASE_GRACE_MS = 1_000;

/**
 * Body chunks from undici's callbacks, read once as an async iterator; `destroy()` (or leaving a
 * `for await` early) aborts the request. A plain iterator, not an async generator: with
 * generators on the streaming path most of each request's objects reached the old space
 * (BENCHMARKS.md, "Changes, each measured").
 */
export class StreamedBody implements AsyncIterableIterator<Buffer>, Releasable {
  controller: Dispatcher.DispatchController | undefined;
  private readonly chunks: Buffer[] = [];
  /** The chunks' bytes. */
  private bytes = 0;
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  /** Set once released: the abort, if the body does not end in time. */
  private releaseTimer: NodeJS.Timeout | undefined;
  /** When the reader last let a paused socket be read again (performance.now()); 0 when never. */
  resumedAt = 0;

  data(chunk: Buffer): void {
    if (this.releaseTimer) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= HIGH_WATER_BYTES) this.controller?.pause();
    this.notify();
  }

  end(): void {
    clearTimeout(this.releaseTimer);
    this.ended = true;
    this.notify();
  }

  fail(err: Error): void {
    clearTimeout(this.releaseTimer);
    this.error ??= err;
    this.notify();
  }

  /** The reader has the whole answer: what else comes is dropped while the body gets RELEASE_GRACE_MS to end. */
  release(): void {
    this.chunks.length = 0;
    this.bytes = 0;
    if (this.ended || this.error || this.releaseTimer) return;
    this.releaseTimer = setTimeout(() => this.destroy(), RELEASE_GRACE_MS);
    if (this.controller?.paused) this.controller.resume();
  }

  destroy(): void {
    if (!this.ended && !this.error) this.controller?.abort(new Error('upstream body destroyed'));
    this.chunks.length = 0;
    this.bytes = 0;
    this.ended = true;
    this.notify();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    const chunk = this.chunks.shift();
    if (chunk) {
      this.bytes -= chunk.length;
      if (this.bytes < LOW_WATER_BYTES && this.controller?.paused) {
        this.resumedAt = performance.now();
        this.controller.resume();
      }
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.next());
  }

  return(): Promise<IteratorResult<Buffer, undefined>> {
    this.destroy();
    return Promise.resolve(DONE);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** What `dispatch` reports, in order: `sent`, `start`, any `data`, then `end`, or `fail` once at any point. */
interface Sink {
  /** The request was written whole (undici's onRequestSent): it is the upstream's from then on. */
  sent?: () => void;
  start(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void;
  data(chunk: Buffer): void;
  end(): void;
  fail(err: Error): void;
  /** When a reader that paused the body let it go on (the idle time counts from then). */
  resumedAt?(): number;
}

/**
 * Dispatches one request and reports its answer to `sink`; `signal` aborts it until the body has
 * ended. So does `timeoutMs` without headers (undici's `HeadersTimeoutError`), and then without a
 * body chunk (`BodyTimeoutError`): the errors undici's own timeouts raise. The wait for headers
 * counts from the dispatch, so a request queued for one of the pool's connections is bounded too.
 */
function dispatch(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal, timeoutMs: number, sink: Sink): void {
  if (signal.aborted) return sink.fail(signal.reason);
  let controller: Dispatcher.DispatchController | undefined;
  let settled = false;
  let started = false;
  let lastActivity = performance.now();
  const settle = () => {
    settled = true;
    signal.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  };
  const fail = (err: Error) => {
    if (settled) return;
    settle();
    sink.fail(err);
  };
  // Before undici has started the request (it waits for one of the pool's connections) there is
  // nothing to abort yet: fail now, and drop it when it starts.
  let stopped: Error | undefined;
  const abort = (reason: Error) => {
    if (controller) return controller.abort(reason);
    stopped = reason;
    fail(reason);
  };
  const onAbort = () => abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  // Activity only moves a timestamp; the timer, when it fires, sets itself again for what is left.
  // A reader holding the body back is not the upstream idling: as undici's body timeout, the
  // wait restarts while the body is paused, and counts again from its resumption.
  // A timer that comes due while the event loop is blocked runs before the sockets are read: the
  // verdict waits for one turn (setImmediate runs after the poll), so an answer that arrived during a
  // stall (a long GC, a CPU-starved process) is not timed out for the stall.
  const checkIdle = (lastLook = false) => {
    if (settled) return;
    const now = performance.now();
    if (controller?.paused) lastActivity = now;
    const idle = now - Math.max(lastActivity, sink.resumedAt?.() ?? 0);
    if (idle < timeoutMs) timer = setTimeout(checkIdle, timeoutMs - idle);
    else if (!lastLook) setImmediate(checkIdle, true);
    else abort(started ? new errors.BodyTimeoutError() : new errors.HeadersTimeoutError());
  };
  let timer = setTimeout(checkIdle, timeoutMs);
  try {
    dispatcher.dispatch(withoutUndiciTimers(options), {
      onRequestStart(c) {
        // Thrown, not the controller's abort: undici takes a throw here as the request's error and drops it
        // before writing a byte, keeping the connection for the next request (client-h1.js writeH1); the
        // abort destroys the connection. Requests whose clients left while they waited for one (a JSON
        // answer's: Executor.runWhole) each cost a new connection then (28 of them for 30 such requests).
        if (stopped) throw stopped;
        controller = c;
      },
      onRequestSent() {
        sink.sent?.();
      },
      onResponseStart(c, statusCode, headers) {
        // An interim answer (103 Early Hints from a CDN, 102 Processing): the answer follows it. undici reports it
        // here too, and a streamed request took it for the answer (http34 D1: every stream failed behind one).
        if (statusCode < 200) {
          lastActivity = performance.now();
          return;
        }
        started = true;
        lastActivity = performance.now();
        sink.start(c, statusCode, headers);
      },
      onResponseData(_c, chunk) {
        lastActivity = performance.now();
        sink.data(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        settle();
        sink.end();
      },
      onResponseError(_c, err) {
        fail(err);
      },
    });
  } catch (err) {
    fail(err as Error);
  }
}

/** The request without undici's timers: `dispatch` keeps the timeout. */
function withoutUndiciTimers(options: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
  return { ...options, headersTimeout: 0, bodyTimeout: 0 };
}
