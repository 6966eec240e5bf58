import { ApiError } from '@google/genai';
import { codedErrorBody, parseErrorBody, readErrorBody } from '../error-body';
import { parseExactIntegers } from '../exact-integers';
import { GatewayError } from '../gateway-error';
import { namedFileMapping } from '../named-file';
import { truncated } from '../openai/stream';
import { OUT_OF_CREDIT, statusMapping, statusSaysAll } from '../status-mapping';
import { MIN_RETRY_AFTER_MS } from '../openai/errors';
import { type ErrorMapping, retryAfterOf, sdkError, vendorError } from '../translation/errors';

/**
 * Google's canonical error `status` -> what the client sees. `INTERNAL` and `UNKNOWN` (any failure)
 * are not here: they, a status not listed, or none (a proxy's HTML page) leave it to the HTTP status,
 * read as an OpenAI-format upstream's (status-mapping.ts). A 503 or 529 is overloaded whatever the body says.
 */
export const ERROR_STATUSES: Record<string, ErrorMapping> = {
  INVALID_ARGUMENT: [400, 'invalid_request_error', null, false],
  OUT_OF_RANGE: [400, 'invalid_request_error', null, false],
  // Gemini uses it for account problems (billing required, region not served), not bad requests: a 400 counted as a 403 (judgedStatus).
  FAILED_PRECONDITION: [502, 'upstream_error', 'upstream_permission_denied', false],
  UNAUTHENTICATED: [502, 'upstream_error', 'upstream_auth_failed', false],
  PERMISSION_DENIED: [502, 'upstream_error', 'upstream_permission_denied', false],
  NOT_FOUND: [502, 'upstream_error', 'upstream_not_found', false],
  RESOURCE_EXHAUSTED: [429, 'rate_limit_error', 'rate_limit_exceeded', true],
  ABORTED: [502, 'upstream_error', 'upstream_conflict', true],
  CANCELLED: [502, 'upstream_error', 'upstream_error', true],
  UNAVAILABLE: [503, 'upstream_error', 'upstream_overloaded', true],
  DEADLINE_EXCEEDED: [504, 'timeout_error', 'upstream_timeout', true],
};

/**
 * Google's `ErrorInfo.reason`s (domain googleapis.com, google/api/error_reason.proto) that say the
 * gateway's credential or its project was refused, whatever the status beside them: Gemini answers
 * a bad, revoked or deleted API key with `400 INVALID_ARGUMENT` and `API_KEY_INVALID`, which
 * mapped by status alone blamed the client (a 400) and neither fell back nor cooled the deployment
 * down. Each counts as the upstream status that says so (judgedStatus: a 401 or 403).
 */
const REASONS: Record<string, 'UNAUTHENTICATED' | 'PERMISSION_DENIED'> = {
  API_KEY_INVALID: 'UNAUTHENTICATED',
  ACCESS_TOKEN_EXPIRED: 'UNAUTHENTICATED',
  ACCESS_TOKEN_TYPE_UNSUPPORTED: 'UNAUTHENTICATED',
  CREDENTIALS_MISSING: 'UNAUTHENTICATED',
  ACCOUNT_STATE_INVALID: 'UNAUTHENTICATED',
  API_KEY_SERVICE_BLOCKED: 'PERMISSION_DENIED',
  API_KEY_HTTP_REFERRER_BLOCKED: 'PERMISSION_DENIED',
  API_KEY_IP_ADDRESS_BLOCKED: 'PERMISSION_DENIED',
  API_KEY_ANDROID_APP_BLOCKED: 'PERMISSION_DENIED',
  API_KEY_IOS_APP_BLOCKED: 'PERMISSION_DENIED',
  ACCESS_TOKEN_SCOPE_INSUFFICIENT: 'PERMISSION_DENIED',
  SERVICE_DISABLED: 'PERMISSION_DENIED',
  BILLING_DISABLED: 'PERMISSION_DENIED',
  CONSUMER_SUSPENDED: 'PERMISSION_DENIED',
  CONSUMER_INVALID: 'PERMISSION_DENIED',
  USER_PROJECT_DENIED: 'PERMISSION_DENIED',
};

/**
 * Gemini's words for the gateway's project out of prepaid credit, in a `429 RESOURCE_EXHAUSTED` (as it answered
 * before it answered a 402 for it, and still may): no wait clears it, so it is no rate limit (OUT_OF_CREDIT).
 */
const ACCOUNT_WORDS: [RegExp, ErrorMapping][] = [[/^Your prepayment credits are depleted/, OUT_OF_CREDIT]];

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; retryDelay?: string; reason?: string; domain?: string }[];
}

/**
 * The SDK's ApiError with the failed answer's headers, which it does not keep (keepingHeaders does):
 * their Retry-After reaches the client and the router as an OpenAI-format upstream's does. (A subclass
 * would not do: ApiError's constructor sets its instances' prototype to its own.)
 */
type AnsweredError = ApiError & { answerHeaders?: Headers };

/**
 * A fetch for one SDK call that keeps a failed answer's headers (and ERROR_BODY_BYTES of its body), and
 * `rethrow`, which puts them on the ApiError the SDK threw for that answer. An answer whose status is
 * neither 200 nor an error's (a proxy's 201, 204, 206, 301) is refused here, for every call (the SDK reads
 * any 2xx as an answer, and a 3xx's body as one): a 502 by its status (answerStatusError), as an
 * OpenAI-format upstream's is.
 */
export function keepingHeaders(provider: string, signal: AbortSignal, fetch: typeof globalThis.fetch) {
  let failed: Headers | undefined;
  let answered = false;
  return {
    fetch: (async (input, init) => {
      const res = await fetch(input, init);
      answered = true;
      if (res.status !== 200 && res.status < 400) {
        // Not read: a proxy's page is worth no download of up to maxResponseBytes (cancelled, the connection is closed).
        await res.body?.cancel();
        throw answerStatusError(provider, res.status);
      }
      // Read as the SDK would (it calls json()), but its tool calls' integers beyond 2^53 as Gemini wrote them (parseExactIntegers).
      if (res.ok) return Object.assign(res, { json: async () => parseExactIntegers(await res.text()) });
      failed = res.headers;
      // The SDK would read the whole body (a stream's without bound): it gets what the gateway keeps of it,
      // JSON closed where a cut left it (error-body.ts), which its JSON reading would refuse as invalid.
      const body = res.body ? await readErrorBody(res.body) : { text: '', cut: false };
      const coded = codedErrorBody(provider, res.status, res.headers.get('content-encoding'));
      if (coded) throw coded;
      const json = body.cut ? parseErrorBody(body) : undefined;
      return new Response(json === undefined ? body.text : JSON.stringify(json), { status: res.status, headers: res.headers });
    }) as typeof globalThis.fetch,
    rethrow(err: unknown): never {
      if (err instanceof ApiError) throw failed ? Object.assign(err, { answerHeaders: failed }) : err;
      // Thrown by the SDK once the upstream answered (reading a 200 whose body is `null`, a 3xx): not its refusal
      // of the request (sdkError's 500, the gateway's fault), but the upstream's answer it could not read.
      throw answered && !(err instanceof GatewayError) ? sdkError(provider, err, signal, true) : err;
    },
  };
}

/** An answer whose status is neither 200 nor an error's (a 204, a 301): mapped by its status (statusMapping), a 502. */
function answerStatusError(provider: string, status: number): GatewayError {
  return vendorError(provider, statusMapping(status), `HTTP ${status}`, undefined, status);
}

/**
 * Maps what the SDK threw. Its ApiError carries the HTTP status and the error body
 * as JSON text in the message (after a prefix for errors sent inside a stream).
 */
export function fromGeminiError(provider: string, err: unknown, signal: AbortSignal, answered = false): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof ApiError)) {
    // The SDK's SSE reader found the body ended inside an event.
    if (err instanceof Error && err.message.startsWith('Incomplete JSON segment')) return truncated(provider);
    return sdkError(provider, err, signal, answered);
  }
  const body = parseBody(err.message);
  const message = body.message ?? err.message;
  const retryAfter = retryDelayMs(body) ?? retryAfterOf((err as AnsweredError).answerHeaders);
  return vendorError(provider, geminiMapping(err.status, body, message), message, retryAfter, err.status);
}

/**
 * How a Gemini error reaches the client: as the gateway's credential refused where an ErrorInfo reason says so
 * (REASONS), whatever its status; by its HTTP status where that says all (a 503 or 529 overloaded, a 402 payment
 * required, whatever body a proxy put on it: statusSaysAll); as the account out of credit where its words say so
 * (ACCOUNT_WORDS), or the client's mistake where they say the file the request named is not there or not ready
 * (named-file.ts: its 403 PERMISSION_DENIED a 404); else by its `status`, which says more than the HTTP status
 * (ERROR_STATUSES), or failing that the HTTP status.
 */
function geminiMapping(status: number, body: GoogleError, message: string): ErrorMapping {
  const refused = credentialReason(body);
  if (refused) return ERROR_STATUSES[refused]!;
  if (statusSaysAll(status)) return statusMapping(status);
  const worded = ACCOUNT_WORDS.find(([words]) => words.test(message))?.[1] ?? namedFileMapping('gemini', status, message);
  if (worded) return worded;
  const said = body.status && Object.hasOwn(ERROR_STATUSES, body.status) && ERROR_STATUSES[body.status];
  return said || statusMapping(status);
}

/**
 * The error object in the ApiError's JSON text: `{"error":{...}}`, or such objects in a list,
 * as Google's endpoints also answer (`[{"error":{...}}]`), read as its first.
 */
function parseBody(message: string): GoogleError {
  const start = message.search(/[[{]/);
  if (start < 0) return {};
  try {
    const parsed: unknown = JSON.parse(message.slice(start));
    const body = (Array.isArray(parsed) ? parsed[0] : parsed) as { error?: unknown } | null | undefined;
    return body?.error !== null && typeof body?.error === 'object' ? (body.error as GoogleError) : {};
  } catch {
    return {};
  }
}

/** What an ErrorInfo detail says about the gateway's credential, when it says it was refused. */
function credentialReason(error: GoogleError): (typeof REASONS)[string] | undefined {
  for (const d of error.details ?? []) {
    if (d['@type']?.endsWith('google.rpc.ErrorInfo') && d.domain === 'googleapis.com' && d.reason && Object.hasOwn(REASONS, d.reason))
      return REASONS[d.reason];
  }
  return undefined;
}

/** Google says when to retry in a RetryInfo detail ("30s", "1.5s"), not in a header. */
function retryDelayMs(error: GoogleError): number | undefined {
  const delay = error.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  // A protobuf Duration in JSON: digits, a fraction, `s` ("1e3s" is none: parseFloat read it as 1000 s).
  const seconds = delay && /^-?\d+(\.\d+)?s$/.test(delay) ? Number.parseFloat(delay) : NaN;
  if (!Number.isFinite(seconds)) return undefined;
  // A delay of none or less (`0s`, `-3s`) is README's 1 s; a sub-second one is honoured, as a retry-after-ms is.
  return seconds > 0 ? Math.max(MIN_RETRY_AFTER_MS, Math.ceil(seconds * 1000)) : 1_000;
}
