import { Pool } from 'undici';
import type { ProviderConfig } from '@gateway/config';
import type { CallContext } from '../provider';
import type { GatewayError } from '../gateway-error';
import { upstreamPoolOptions } from '../upstream-pool';
import { noteUpstreamId } from '../upstream-id';
import { bufferedRequest, streamedRequest, type StreamedBody, type UpstreamRequest, type UpstreamResponse } from './dispatch';
import { fromTransportError, fromUpstreamResponse } from './errors';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * A request's own: what cancels it, its own headers (CallContext.upstreamHeaders, sent beside the provider's), and
 * its `sent` (CallContext.sent). GET without a body, else POST.
 */
type UpstreamCall = Pick<CallContext, 'signal' | 'upstreamHeaders' | 'sent' | 'upstreamId'>;

/**
 * Pooled keep-alive HTTP to one OpenAI-format upstream. We speak to it with undici's
 * dispatch API (`./dispatch`) rather than the `openai` SDK or global fetch: on this gateway's hot path
 * the SDK cost ~4x and fetch ~2.5x the CPU per request (see BENCHMARKS.md), and we
 * forward upstream bytes without re-parsing them.
 */
export class UpstreamClient {
  private readonly pool: Pool;
  private readonly pathPrefix: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: ProviderConfig,
    private readonly apiKey: string | undefined,
  ) {
    const base = new URL(config.baseUrl ?? OPENAI_BASE_URL);
    this.pathPrefix = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, upstreamPoolOptions(config));
    // Names in lower case, as a request's own are (upstreamHeaders): one of them set here too is replaced, not sent twice.
    const configured = Object.entries(config.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]);
    this.headers = { 'content-type': 'application/json', ...Object.fromEntries(configured) };
    if (apiKey) this.headers.authorization = `Bearer ${apiKey}`;
  }

  /** Sends one request for a streamed answer; any answer but 200 becomes the GatewayError the client should see. */
  send(path: string, body: string | undefined, call: UpstreamCall): Promise<UpstreamResponse<StreamedBody>> {
    return this.call(streamedRequest, path, body, call, answerAsIs);
  }

  /** Sends one request and returns the whole body of its 200 answer (at most the provider's `maxResponseBytes`). */
  sendBuffered(path: string, body: string | undefined, call: UpstreamCall): Promise<Buffer> {
    return this.call(bufferedRequest, path, body, call, firstChunk);
  }

  /** The provider's headers with a request's own (its id, hop count and trace context), which win. */
  private withOwn(own: Readonly<Record<string, string>> | undefined): Record<string, string> {
    return own ? { ...this.headers, ...own } : this.headers;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /**
   * `answer`: what of a 200 answer the caller gets, taken in the same then() as the status check.
   * then(), not async functions: on the request path one promise each, not two and their ticks.
   */
  private call<B extends UpstreamResponse<AsyncIterable<Buffer> | Iterable<Buffer>>, A>(
    request: UpstreamRequest<B>,
    path: string,
    body: string | undefined,
    { signal, upstreamHeaders, sent, upstreamId }: UpstreamCall,
    answer: (res: B) => A,
  ): Promise<A> {
    const options = {
      method: body === undefined ? 'GET' : 'POST',
      path: this.pathPrefix + path,
      headers: this.withOwn(upstreamHeaders),
      body,
    } as const;
    return request(this.pool, options, signal, this.config.timeoutMs, this.config.maxResponseBytes, sent).then(
      (res) => {
        // OpenAI's header, which vLLM and most OpenAI-format servers send too.
        noteUpstreamId(res.headers['x-request-id'], upstreamId);
        return res.statusCode === 200 ? answer(res) : fromUpstreamResponse(this.config.name, res, this.apiKey).then(thrown);
      },
      (err: unknown) => {
        throw fromTransportError(this.config.name, err, signal);
      },
    );
  }
}

function answerAsIs<B>(res: B): B {
  return res;
}

function firstChunk(res: UpstreamResponse<[Buffer]>): Buffer {
  return res.body[0];
}

function thrown(error: GatewayError): never {
  throw error;
}
