import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';

/**
 * Requests through undici's dispatch API, read straight from its handler callbacks.
 * `request()` wraps every answer in a Node stream with its own promise plumbing: ~4 KB of
 * garbage and a few µs a request on the hot path (BENCHMARKS.md, "Changes, each measured").
 */

export interface UpstreamResponse<B> {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: B;
}

/** One request, its answer collected whole. */
export async function bufferedRequest(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
): Promise<UpstreamResponse<[Buffer]>> {
  const chunks: Buffer[] = [];
  const { statusCode, headers, ended } = await dispatch(pool, options, signal, {
    data: (chunk) => chunks.push(chunk),
    end: () => {},
    fail: () => {},
  });
  await ended;
  return { statusCode, headers, body: [chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)] };
}

/** One request whose answer is handed over chunk by chunk as it arrives. */
export async function streamedRequest(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
): Promise<UpstreamResponse<StreamedBody>> {
  const body = new StreamedBody();
  const { statusCode, headers } = await dispatch(pool, options, signal, body);
  return { statusCode, headers, body };
}

/** Chunks not yet read at which the socket stops being read, and below which it is read again. */
const HIGH_WATER_CHUNKS = 16;
const LOW_WATER_CHUNKS = 4;

/** Body chunks from undici's callbacks, read once as an async iterable; `destroy()` aborts the request. */
export class StreamedBody implements AsyncIterable<Buffer>, Sink {
  controller: Dispatcher.DispatchController | undefined;
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  start(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  data(chunk: Buffer): void {
    this.chunks.push(chunk);
    if (this.chunks.length >= HIGH_WATER_CHUNKS) this.controller?.pause();
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(err: Error): void {
    this.error ??= err;
    this.notify();
  }

  destroy(): void {
    if (!this.ended && !this.error) this.controller?.abort(new Error('upstream body destroyed'));
    this.chunks.length = 0;
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        if (this.chunks.length < LOW_WATER_CHUNKS && this.controller?.paused) this.controller.resume();
        yield chunk;
      } else if (this.error) throw this.error;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

interface Sink {
  start?(controller: Dispatcher.DispatchController): void;
  data(chunk: Buffer): void;
  end(): void;
  fail(err: Error): void;
}

interface Started {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** Settles when the body has ended (rejects when it broke off). */
  ended: Promise<void>;
}

/**
 * Dispatches one request; resolves when its answer starts, then feeds `sink` the body.
 * `signal` aborts it at any point, until the body has ended.
 */
function dispatch(pool: Pool, options: Dispatcher.DispatchOptions, signal: AbortSignal, sink: Sink): Promise<Started> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let controller: Dispatcher.DispatchController | undefined;
    let endedOk: () => void = () => {};
    let endedFail: (err: Error) => void = () => {};
    const ended = new Promise<void>((res, rej) => ((endedOk = res), (endedFail = rej)));
    ended.catch(() => {}); // a stream's consumer learns of the failure from the sink
    const fail = (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
      sink.fail(err);
      endedFail(err);
    };
    const onAbort = () => {
      if (controller) controller.abort(signal.reason);
      else fail(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      pool.dispatch(options, {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) c.abort(signal.reason);
        },
        onResponseStart(c, statusCode, headers) {
          sink.start?.(c);
          resolve({ statusCode, headers, ended });
        },
        onResponseData(_c, chunk) {
          sink.data(chunk);
        },
        onResponseEnd() {
          signal.removeEventListener('abort', onAbort);
          sink.end();
          endedOk();
        },
        onResponseError(_c, err) {
          fail(err);
        },
      });
    } catch (err) {
      fail(err as Error);
    }
  });
}
