import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import type { ProviderConfig } from '@gateway/config';
import { upstreamPoolOptions } from '../upstream-pool';
import { fromTransportError, fromUpstreamResponse } from './errors';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

type Method = 'GET' | 'POST';

/** A whole upstream answer, read without a body stream. */
export interface BufferedResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: [Buffer];
}

/**
 * Pooled keep-alive HTTP to one OpenAI-format upstream. We speak to it with undici's
 * `request()` rather than the `openai` SDK or global fetch: on this gateway's hot path
 * the SDK cost ~4x and fetch ~2.5x the CPU per request (see BENCHMARKS.md), and we
 * forward upstream bytes without re-parsing them.
 */
export class UpstreamClient {
  private readonly pool: Pool;
  private readonly pathPrefix: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: ProviderConfig,
    apiKey: string | undefined,
  ) {
    const base = new URL(config.baseUrl ?? OPENAI_BASE_URL);
    this.pathPrefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, upstreamPoolOptions(config));
    this.headers = { 'content-type': 'application/json', ...config.headers };
    if (apiKey) this.headers.authorization = `Bearer ${apiKey}`;
  }

  /** Sends one request for a streamed answer; any answer but 200 becomes the GatewayError the client should see. */
  async send(method: Method, path: string, body: string | undefined, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({ method, path: this.pathPrefix + path, headers: this.headers, body, signal });
    } catch (err) {
      throw fromTransportError(this.config.name, err, signal);
    }
    if (res.statusCode !== 200) throw await fromUpstreamResponse(this.config.name, res);
    return res;
  }

  /**
   * Sends one request and returns the whole body of its 200 answer. Read straight from
   * undici's handler callbacks: `request()`'s body stream and its promise plumbing cost
   * ~4 KB of garbage and a few µs a request on the JSON hot path (BENCHMARKS.md).
   */
  async sendBuffered(method: Method, path: string, body: string | undefined, signal: AbortSignal): Promise<Buffer> {
    let res: BufferedResponse;
    try {
      res = await bufferedRequest(this.pool, { method, path: this.pathPrefix + path, headers: this.headers, body }, signal);
    } catch (err) {
      throw fromTransportError(this.config.name, err, signal);
    }
    if (res.statusCode !== 200) throw await fromUpstreamResponse(this.config.name, res);
    return res.body[0];
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** One request through undici's dispatch API, its answer collected whole; `signal` aborts it at any point. */
function bufferedRequest(pool: Pool, options: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const onAbort = () => {
      controller?.abort(signal.reason);
      reject(signal.reason);
    };
    const settle = () => signal.removeEventListener('abort', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      pool.dispatch(options, {
        onRequestStart(c) {
          controller = c;
          if (signal.aborted) c.abort(signal.reason);
        },
        onResponseStart(_c, status, responseHeaders) {
          statusCode = status;
          headers = responseHeaders;
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          settle();
          resolve({ statusCode, headers, body: [chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)] });
        },
        onResponseError(_c, err) {
          settle();
          reject(err);
        },
      });
    } catch (err) {
      settle();
      reject(err);
    }
  });
}
