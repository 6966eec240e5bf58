import { clientErrorCode } from '../context-overflow';
import { GatewayError } from '../gateway-error';
import { fromTransportError, retryAfterMs } from '../openai/errors';
import { accountHint, type ErrorMapping, judgedStatus } from '../status-mapping';
import { readOutputCap } from '../output-cap';
import { withoutKey } from '../without-key';
import { flattenContentParts, isObject, misTypedField, misTypedUsage } from './chunk-shape';

export type { ErrorMapping } from '../status-mapping';

/**
 * Builds the error the client sees from a vendor error already classified by a
 * mapping table. Client mistakes keep the vendor's message (it names the bad
 * field), with the figures of a prompt over the context window or a max_tokens over the
 * model's cap for each ingress to word as its vendor does; credential problems get a hint
 * and never the key; 429 keeps Retry-After.
 */
export function vendorError(
  provider: string,
  mapping: ErrorMapping,
  message: string,
  /** The upstream's Retry-After in milliseconds (the client is told whole seconds, rounded up). */
  waitMs?: number,
  upstreamStatus?: number,
): GatewayError {
  const [status, type, code, retryable] = mapping;
  const retryAfter = waitMs === undefined ? undefined : Math.ceil(waitMs / 1000);
  // The router's fallbackOn list matches the vendor's HTTP status (or the account trouble its body said: judgedStatus);
  // errors sent inside a stream have none, so a retryable class counts as a 503 and the rest as what the client sees.
  const outcome = upstreamStatus !== undefined ? judgedStatus(upstreamStatus, mapping) : retryable ? 503 : status;
  if (status === 429) {
    const headers = { 'retry-after': String(retryAfter ?? 1) };
    const error = new GatewayError(
      429,
      `Provider ${provider} is rate limiting the gateway: ${message}`,
      type,
      code,
      null,
      headers,
      retryable,
    );
    return Object.assign(error, { retryAfterMs: waitMs }).from(outcome);
  }
  if (status < 500) {
    const said = clientErrorCode(code, message);
    const figures = { overflow: said.overflow, outputCap: readOutputCap(message) };
    return Object.assign(new GatewayError(status, message, type, said.code, null, {}, retryable), figures).from(outcome);
  }
  const hint = accountHint(code);
  const text = hint ? `Provider ${provider} ${hint} (upstream said: ${message})` : `Provider ${provider} failed: ${message}`;
  // An overloaded upstream's Retry-After (503, 529) is honoured by the router like a 429's, and
  // passed on to the client, as an OpenAI-format upstream's; other failures' are not.
  const headers: Record<string, string> = retryAfter === undefined || status !== 503 ? {} : { 'retry-after': String(retryAfter) };
  const error = new GatewayError(status, text, type, code, null, headers, retryable);
  return Object.assign(error, headers['retry-after'] ? { retryAfterMs: waitMs } : {}).from(outcome);
}

/** An answer's Retry-After in milliseconds, from the `Headers` the vendor SDKs hand on (or the gateway kept). */
export function retryAfterOf(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  return retryAfterMs({
    'retry-after': headers.get('retry-after') ?? undefined,
    'retry-after-ms': headers.get('retry-after-ms') ?? undefined,
  });
}

type Cause = { cause?: unknown; code?: unknown };

/** The SDKs wrap the transport's error: the innermost cause, with its code, says what happened. */
function innermost(err: unknown): Cause {
  let cause = err as Cause;
  while (cause.cause && typeof cause.code !== 'string') cause = cause.cause as Cause;
  return cause;
}

/** A failure with no vendor answer (refused connection, timeout, abort). */
export function transportError(provider: string, err: unknown, signal: AbortSignal): GatewayError {
  return fromTransportError(provider, innermost(err), signal);
}

/**
 * A body or stream event from the vendor that is not JSON: the upstream's fault (502, retryable), never
 * the client's (a bare SyntaxError reaching the HTTP layer would not say whose text it was).
 * `apiKey`: the provider's key, taken out of the parser's message, which quotes the text.
 */
export function invalidJson(provider: string, err: Error, apiKey?: string): GatewayError {
  return GatewayError.invalidResponse(withoutKey(`Provider ${provider} answered with invalid JSON (${err.message}).`, apiKey));
}

/**
 * A stream event's data from the vendor, parsed; the upstream's invalid answer (502, retryable) when it
 * is not JSON, or JSON but no object (`null`, `0`, `[]`: no chunk nor error event; read as a chunk,
 * it threw a TypeError, the gateway's "internal error").
 */
function parseEventObject<T extends object>(provider: string, data: string, apiKey?: string): T {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (err) {
    throw invalidJson(provider, err as Error, apiKey);
  }
  if (!isObject(value)) throw notAnObjectEvent(provider);
  return value as T;
}

/** A stream event whose data is no JSON object (not JSON, or JSON of another kind): the upstream's invalid answer. */
export function notAnObjectEvent(provider: string): GatewayError {
  return GatewayError.invalidResponse(`Provider ${provider} sent a stream event that is not a JSON object.`);
}

/** A chunk with `field` of the wrong type (misTypedField, misTypedFrame): the upstream's invalid answer, naming the field. */
export function misTypedChunk(provider: string, field: string): GatewayError {
  return GatewayError.invalidResponse(
    `Provider ${provider} sent a chunk that is not a chat completion chunk (\`${field}\` is of the wrong type).`,
  );
}

/**
 * A stream event's data from an OpenAI-format vendor, parsed as a chat chunk: `parseEventObject`'s, and
 * the upstream's invalid answer too when a field the codecs read is there but of another type
 * (chunk-shape.ts: `choices` no list, a delta no object, a tool call's `id` a number, `content` an object…;
 * read as a chunk, such a field threw a TypeError, the gateway's "internal error", or went out as it was).
 * Usage whose counts are not numbers is taken out instead (misTypedUsage): the answer goes on without it and
 * is billed as estimated, as a non-streamed one is (the Messages and Responses streams ended with an error).
 */
export function parseChunkEvent<T extends object>(provider: string, data: string, apiKey?: string): T {
  const chunk = parseEventObject<Record<string, unknown>>(provider, data, apiKey);
  const field = misTypedField(chunk);
  if (field) throw misTypedChunk(provider, field);
  if (misTypedUsage(chunk.usage) !== undefined) chunk.usage = undefined;
  flattenContentParts(chunk);
  return chunk as T;
}

/**
 * What an SDK threw that is not the vendor's error answer: a body (or stream event) from
 * the vendor it could not parse, a transport failure, its own failure reading the answer
 * (`answered`: a stream's events, or a fetch that had returned), or its own refusal of the request.
 */
export function sdkError(provider: string, err: unknown, signal: AbortSignal, answered = false): GatewayError {
  if (err instanceof SyntaxError) return invalidJson(provider, err);
  if (isTransportFailure(err, signal)) return transportError(provider, err, signal);
  return answered ? unreadableAnswer(provider, err) : refusedBySdk(provider, err);
}

/**
 * What an SDK threw reading an answer it had (a TypeError on a Gemini body of `null`, on an Anthropic event of
 * another shape): the upstream's invalid answer (502, retryable): another deployment may answer. Not the SDK
 * refusing the request (refusedBySdk: the gateway's 500), which only a request never sent is.
 */
export function unreadableAnswer(provider: string, err: unknown): GatewayError {
  const why = err instanceof Error ? err.message : String(err);
  return GatewayError.invalidResponse(`Provider ${provider} sent an answer that could not be read (${why}).`);
}

/**
 * Whether an error came from the transport: an abort, or a network error (the pooled
 * transport's undici and Node's sockets name each with a code). What else an SDK
 * throws, it threw itself before sending: its own validation of the request. Undici's
 * HTTPParserError (bytes that are not HTTP, a bad Content-Length or chunk size) has no code
 * (undici builds it with `constants.ERROR[ret]`, a table of numbers by name): known by its
 * name, or the upstream's broken answer was the gateway's 500, never fallen back from.
 */
function isTransportFailure(err: unknown, signal: AbortSignal): boolean {
  const cause = innermost(err) as Cause & { name?: unknown };
  return signal.aborted || typeof cause.code === 'string' || cause.name === 'HTTPParserError';
}

/**
 * The vendor's SDK refused the gateway's translated request before sending it: the
 * gateway's failure, not the deployment's. No upstream outcome, so the router neither
 * counts it against the deployment's breaker nor tries another with the same request.
 */
function refusedBySdk(provider: string, err: unknown): GatewayError {
  const message = err instanceof Error ? err.message : String(err);
  return new GatewayError(
    500,
    `The SDK of provider ${provider} refused the request before sending it: ${message}`,
    'server_error',
    'internal_error',
  );
}
