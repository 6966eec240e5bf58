import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { ProviderConfig } from '@gateway/config';
import { AnswerTooLarge, type StreamedBody, streamedRequest, type UpstreamResponse } from '../openai/dispatch';
import { upstreamPoolOptions } from '../upstream-pool';
import { reportingSent, type SentReported } from './reporting-sent';

/** Statuses whose responses carry no body; a Response refuses one for them. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * The `fetch` the vendor SDKs are given: a thin WHATWG-fetch face over undici's
 * `request()` on the provider's own keep-alive pool. It makes `maxConnections`,
 * `connectTimeoutMs` and `timeoutMs` apply to the SDKs as to OpenAI-format
 * upstreams, and it costs about half the CPU per request of the SDKs' default
 * global fetch (bench/vendors.ts; docs/providers.md has the numbers). It supports
 * what the SDKs send: string or byte bodies, no redirects. A body the SDK reads whole
 * (every answer but a stream, which `streamed` reads) ends at `maxResponseBytes`.
 */
export class PooledFetch {
  readonly fetch: typeof globalThis.fetch;
  /** The provider's keep-alive pool, for requests the gateway sends without the SDK. */
  readonly dispatcher: Agent;
  /** The pool as the SDKs' fetch sends on it: a request's `sent` is called once it was written (reportingSent). */
  private readonly reported: Dispatcher;
  private readonly maxBytes: number;

  constructor(config: ProviderConfig) {
    this.dispatcher = new Agent(upstreamPoolOptions(config));
    this.reported = this.dispatcher.compose(reportingSent);
    this.maxBytes = config.maxResponseBytes;
    this.fetch = (input, init) => this.send(input, init);
  }

  /** The fetch for one call, which calls `sent` once its request was written whole (CallContext.sent); `fetch` when unset. */
  reporting(sent: (() => void) | undefined): typeof globalThis.fetch {
    return sent ? (input, init) => this.send(input, init, sent) : this.fetch;
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /**
   * What the SDK asked `fetch` for, sent on the pool with the answer's body read from undici's
   * callbacks (a Response's web stream over `request()`'s Node stream cost more per chunk than
   * the events in it: a paused body made undici copy all it had buffered again at every resume).
   * `sent`: called once the request was written whole (CallContext.sent).
   */
  streamed(
    input: string | URL | Request,
    init: RequestInit,
    signal: AbortSignal,
    timeoutMs: number,
    sent?: () => void,
  ): Promise<UpstreamResponse<StreamedBody>> {
    return streamedRequest(this.dispatcher, dispatchOptions(input, init), signal, timeoutMs, undefined, sent);
  }

  private async send(input: string | URL | Request, init: RequestInit = {}, sent?: () => void): Promise<Response> {
    const options: Dispatcher.RequestOptions & SentReported = { ...dispatchOptions(input, init), signal: init.signal ?? undefined, sent };
    const res = await this.reported.request(options);
    const responseHeaders: [string, string][] = [];
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const item of value) responseHeaders.push([name, item]);
      else if (value !== undefined) responseHeaders.push([name, value]);
    }
    if (NULL_BODY_STATUSES.has(res.statusCode)) {
      res.body.resume();
      return new Response(null, { status: res.statusCode, headers: responseHeaders });
    }
    return new Response(webBody(res.body, this.maxBytes), { status: res.statusCode, headers: responseHeaders });
  }
}

/**
 * `body` as the web stream a Response reads, failing with AnswerTooLarge once more than `maxBytes` came: the
 * reader (an SDK reading the answer whole) gets the error, and then the client a 502, instead of holding all an
 * upstream that never ends its body sends until the timeout. Cancelled or past `maxBytes`, `body` is destroyed
 * and undici aborts the request; nothing reaches the controller once it is closed, errored or cancelled.
 *
 * Not Readable.toWeb(): its stream, cancelled while undici had a chunk buffered and a resume pending (in the tick
 * the answer came, or after a read under backpressure), enqueued that chunk into its closed controller, and the
 * throw, in a nextTick, ended the process (Node 24.21 lib/internal/webstreams/adapters.js: the 'data' listener of
 * newReadableStreamFromStreamReadable does not look at its `wasCanceled`; nodejs/node#54205, open).
 */
export function webBody(body: Readable, maxBytes: number): ReadableStream<Uint8Array> {
  let open = true;
  let bytes = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (err?: Error) => {
          if (!open) return;
          open = false;
          if (err) controller.error(err);
          else controller.close();
        };
        body.pause();
        body.on('data', (chunk: Buffer) => {
          if (!open) return;
          bytes += chunk.length;
          if (bytes > maxBytes) return void body.destroy(new AnswerTooLarge(maxBytes));
          controller.enqueue(chunk);
          if (controller.desiredSize! <= 0) body.pause();
        });
        body.on('end', () => finish());
        body.on('error', finish);
        // Destroyed with no error and no end (nothing in undici does so today): the reader must not wait for ever.
        body.on('close', () => finish(new Error('The upstream body closed before it ended.')));
      },
      pull() {
        body.resume();
      },
      cancel() {
        open = false;
        body.destroy();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: body.readableHighWaterMark }),
  );
}

/** A fetch call's URL and init as undici's request options. */
function dispatchOptions(input: string | URL | Request, init: RequestInit) {
  const url = new URL(typeof input === 'object' && 'url' in input ? input.url : input);
  const body = init.body;
  if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError('PooledFetch sends string or byte bodies only');
  }
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  return { origin: url.origin, path: url.pathname + url.search, method: (init.method ?? 'GET') as 'GET', headers, body };
}
