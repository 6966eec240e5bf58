import { APIError } from '@anthropic-ai/sdk';
import type { CallContext } from '../provider';
import type Anthropic from '@anthropic-ai/sdk';
import type { Dispatcher } from 'undici';
import {
  bufferedRequest,
  headersOf,
  streamedRequest,
  type StreamedBody,
  type UpstreamRequest,
  type UpstreamResponse,
} from '../openai/dispatch';
import { codedErrorBody, parseErrorBody, readErrorBody } from '../error-body';
import type { GatewayError } from '../gateway-error';
import { noteUpstreamId } from '../upstream-id';

const MESSAGES_PATH = '/v1/messages';

/** What cancels a request, what to tell once it was sent (CallContext.sent) and the upstream's id for it (CallContext.upstreamId). */
type UpstreamCall = Pick<CallContext, 'signal' | 'sent' | 'upstreamId'>;

interface Template {
  origin: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * Sends Messages API bodies (a Messages API client's own, `CallContext.native`, or a chat
 * request's translation) to Anthropic on the provider's pool, and reads the answers from
 * undici's callbacks as the OpenAI-format pass-through does. The SDK builds the request
 * once: its URL and headers (its `anthropic-version`, user agent, the key, the provider's own
 * headers), which are the same for every such request; each request adds only the client's
 * `anthropic-beta`. Per request, the SDK's request building and its fetch `Response` cost
 * more than everything else the gateway does for the request (BENCHMARKS.md, "Changes, each
 * measured"). A failed answer becomes the `APIError` the SDK would have thrown for it, so it
 * maps to the same client error.
 */
export class NativeMessages {
  private template: Template | undefined;

  constructor(
    private readonly provider: string,
    private readonly sdk: Anthropic,
    private readonly dispatcher: Dispatcher,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
  ) {}

  /** A streamed answer, once Anthropic answered 200: its headers, and its body as it comes. `call`: the CallContext's. */
  stream(body: object, headers: Record<string, string> | undefined, call: UpstreamCall): Promise<UpstreamResponse<StreamedBody>> {
    return this.send(streamedRequest, body, headers, call);
  }

  /** A whole answer's text, once Anthropic answered 200. `call`: the CallContext's. */
  async message(body: object, headers: Record<string, string> | undefined, call: UpstreamCall): Promise<string> {
    return (await this.send(bufferedRequest, body, headers, call)).body[0].toString('utf8');
  }

  private async send<B extends UpstreamResponse<AsyncIterable<Buffer> | Iterable<Buffer>>>(
    request: UpstreamRequest<B>,
    body: object,
    headers: Record<string, string> | undefined,
    { signal, sent, upstreamId }: UpstreamCall,
  ): Promise<B> {
    const template = this.template ?? (this.template = await this.build());
    const res = await request(
      this.dispatcher,
      {
        origin: template.origin,
        path: template.path,
        method: 'POST',
        headers: headers ? { ...template.headers, ...headers } : template.headers,
        body: JSON.stringify(body),
      },
      signal,
      this.timeoutMs,
      this.maxBytes,
      sent,
    );
    noteUpstreamId(res.headers['request-id'], upstreamId);
    if (res.statusCode !== 200) throw await statusError(this.provider, res);
    return res;
  }

  private async build(): Promise<Template> {
    const { url, req } = await this.sdk.buildRequest({ method: 'post', path: MESSAGES_PATH, body: {} });
    const headers: Record<string, string> = {};
    new Headers(req.headers).forEach((value, name) => (headers[name] = value));
    const { origin, pathname, search } = new URL(url);
    return { origin, path: pathname + search, headers };
  }
}

/**
 * The SDK's error for a failed answer, as `APIError.generate` makes it from the status, body and headers; a
 * compressed one's is the gateway's (codedErrorBody).
 */
async function statusError(
  provider: string,
  res: UpstreamResponse<AsyncIterable<Buffer> | Iterable<Buffer>>,
): Promise<APIError | GatewayError> {
  const body = await readErrorBody(res.body);
  const coded = codedErrorBody(provider, res.statusCode, res.headers['content-encoding']);
  if (coded) return coded;
  // Not JSON (a proxy's page): the SDK keeps the text as the message.
  const json = parseErrorBody(body) as object | undefined;
  return APIError.generate(res.statusCode, json, json ? undefined : body.text, headersOf(res));
}
