import { clientErrorCode } from '../context-overflow';
import { codedErrorBody, parseErrorBody, readErrorBody, upstreamMessage } from '../error-body';
import { GatewayError } from '../gateway-error';
import { namedFileMapping } from '../named-file';
import { readOutputCap } from '../output-cap';
import { accountHint, type ErrorMapping, judgedStatus, OUT_OF_CREDIT, statusMapping } from '../status-mapping';
import { textStart } from '../text-start';
import { withoutKey } from '../without-key';
import { AnswerTooLarge, type UpstreamResponse } from './dispatch';

/**
 * OpenAI's error codes and types that say more than their status: the gateway's provider account cannot be billed
 * (OUT_OF_CREDIT). OpenAI answers a 429 of type `insufficient_quota` with a code naming why (`insufficient_quota`,
 * `credit_balance_exhausted`, the spend and usage limits; or none), a 429 `billing_not_active`, and a 400
 * `billing_hard_limit_reached`: no wait clears any of them, so none is a rate limit (no Retry-After) nor the
 * client's mistake; another deployment may still answer, and the router keeps this one out for its breaker's cool-down.
 */
const BY_CODE: Record<string, ErrorMapping> = {
  insufficient_quota: OUT_OF_CREDIT,
  credit_balance_exhausted: OUT_OF_CREDIT,
  organization_spend_limit_exceeded: OUT_OF_CREDIT,
  project_spend_limit_exceeded: OUT_OF_CREDIT,
  organization_usage_limit_exceeded: OUT_OF_CREDIT,
  billing_not_active: OUT_OF_CREDIT,
  billing_hard_limit_reached: OUT_OF_CREDIT,
};

/** OpenAI's error types that say as much (a code it does not list, or none, beside them). */
const BY_TYPE: Record<string, ErrorMapping> = {
  insufficient_quota: OUT_OF_CREDIT,
  billing_not_active: OUT_OF_CREDIT,
};

/**
 * An OpenAI-format server's words for a request the gateway's account cannot afford though smaller ones can
 * (OpenRouter's 402 "This request requires more credits, or fewer max_tokens. You requested up to N tokens, but can
 * only afford M"): the request's to change, a 400 judged as one. Read by its status (a 402 is the account out of
 * credit), one client's large max_tokens cooled the deployment down for every tenant (an independent check).
 */
const REQUEST_WORDS: RegExp[] = [/requires more credits, or fewer max_tokens/];

/** An OpenAI-format error body, as far as it is read. */
interface UpstreamErrorBody {
  error?: { message?: unknown; param?: unknown; code?: unknown; type?: unknown } | string | null;
}

/** Seconds to tell a rate-limited client to wait when the upstream did not say. */
const DEFAULT_RETRY_AFTER_S = 1;

/**
 * Maps an upstream error response to the error the client sees. Client mistakes the
 * upstream caught (400, 422) keep the vendor's message (with the figures of a context overflow or
 * an output cap, for each ingress's words: context-overflow.ts, output-cap.ts); credential and account problems
 * become 502 with a hint; rate limits keep Retry-After. The provider's key (`apiKey`) is taken
 * out of the text wherever the upstream repeated it.
 */
export async function fromUpstreamResponse(
  provider: string,
  res: UpstreamResponse<AsyncIterable<Buffer> | Iterable<Buffer>>,
  apiKey?: string,
): Promise<GatewayError> {
  const body = await readErrorBody(res.body);
  const coded = codedErrorBody(provider, res.statusCode, res.headers['content-encoding']);
  if (coded) return coded;
  const raw = withoutKey(body.text, apiKey);
  // Not JSON (a proxy's HTML page, say): the trimmed text.
  let message = textStart(raw.trim(), 500) || `HTTP ${res.statusCode}`;
  let param: string | null = null;
  let vendorCode: string | null = null;
  let vendorType: string | null = null;
  const parsed = parseErrorBody({ text: raw, cut: body.cut }) as UpstreamErrorBody | null | undefined;
  const err = parsed?.error;
  if (typeof err === 'string') message = err;
  else if (err && typeof err.message === 'string') {
    message = err.message;
    param = typeof err.param === 'string' ? err.param : null;
    vendorCode = typeof err.code === 'string' ? err.code : null;
    vendorType = typeof err.type === 'string' ? err.type : null;
  }
  // The key escaped in JSON (`\/` for `/`) is the key once parsed: taken out of the message again (upstreamMessage).
  message = upstreamMessage(message, apiKey);
  const requests = REQUEST_WORDS.some((words) => words.test(message));
  const mapping =
    namedFileMapping('openai', res.statusCode, message) ??
    (requests ? statusMapping(400) : errorMapping(res.statusCode, vendorCode, vendorType));
  const [status, type, code, retryable] = mapping;
  const outcome = requests ? 400 : judgedStatus(res.statusCode, mapping);
  const headers: Record<string, string> = {};
  const seconds = retryAfterSeconds(res.headers);
  const waitMs = retryAfterMs(res.headers);
  if (status === 429) headers['retry-after'] = String(seconds ?? DEFAULT_RETRY_AFTER_S);
  // An overloaded upstream's Retry-After (503, 529) is honoured by the router like a 429's.
  else if ((res.statusCode === 503 || res.statusCode === 529) && seconds !== undefined) headers['retry-after'] = String(seconds);
  const waited = (error: GatewayError) =>
    Object.assign(error, headers['retry-after'] && waitMs !== undefined ? { retryAfterMs: waitMs } : {});

  if (status < 500 && status !== 429) {
    const said = clientErrorCode(vendorCode ?? code, message);
    return Object.assign(waited(new GatewayError(status, message, type, said.code, param, headers, retryable)), {
      overflow: said.overflow,
      outputCap: readOutputCap(message),
    }).from(outcome);
  }
  const hint = accountHint(code);
  const text = hint
    ? `Provider ${provider} ${hint} (upstream said: ${message})`
    : status === 429
      ? `Provider ${provider} is rate limiting the gateway: ${message}`
      : `Provider ${provider} failed with HTTP ${res.statusCode}: ${message}`;
  return waited(new GatewayError(status, text, type, code, null, headers, retryable)).from(outcome);
}

/**
 * How an upstream's error reaches the client: by its code, else its type, when that says more than its status
 * (BY_CODE, BY_TYPE), else by its status.
 */
export function errorMapping(status: number, vendorCode: string | null, vendorType: string | null = null): ErrorMapping {
  return entry(BY_CODE, vendorCode) ?? entry(BY_TYPE, vendorType) ?? statusMapping(status);
}

/** `table`'s own entry for `key` (an upstream's code is any text: `constructor` is no entry). */
function entry(table: Record<string, ErrorMapping>, key: string | null): ErrorMapping | undefined {
  return key !== null && Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * The shortest wait an upstream's Retry-After is taken as: a sub-second wait is honoured (OpenAI's
 * `retry-after-ms` exists for those), but one of a few milliseconds would have the request ask again in
 * the same instant it was refused, with the jitter of the wake-up spread over next to nothing.
 */
export const MIN_RETRY_AFTER_MS = 100;

/** Retry-After in whole seconds (as HTTP says it), from `retry-after-ms`, `retry-after` seconds or an HTTP date. */
export function retryAfterSeconds(headers: Record<string, string | string[] | undefined>): number | undefined {
  const seconds = waitSeconds(headers);
  return seconds === undefined ? undefined : Math.ceil(seconds);
}

/** Retry-After in milliseconds (at least MIN_RETRY_AFTER_MS), from `retry-after-ms`, `retry-after` seconds or an HTTP date. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const seconds = waitSeconds(headers);
  return seconds === undefined ? undefined : Math.max(MIN_RETRY_AFTER_MS, Math.ceil(seconds * 1000));
}

/** The wait an upstream asked for, in seconds as it said them; undefined when it asked none. */
function waitSeconds(headers: Record<string, string | string[] | undefined>): number | undefined {
  const ms = delay(headers['retry-after-ms']);
  if (ms > 0) return ms / 1000;
  const value = headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  // A wait already over (0, a negative number, a date passed) says no more than none: README's rule then applies.
  const seconds = HTTP_DATE.test(value) ? (Date.parse(/\d$/.test(value) ? `${value} GMT` : value) - Date.now()) / 1000 : delay(value);
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * A delay as digits (RFC 9110's delay-seconds, and a fraction as some upstreams send it); NaN for anything else:
 * Number() reads `1e3` as 1000 and `0x20` as 32, which no upstream means as seconds.
 */
function delay(value: unknown): number {
  return typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
}

/**
 * HTTP-date's three forms (RFC 9110 §5.6.7): IMF-fixdate, RFC 850's and asctime's (in GMT, which it
 * does not say). Only these go to Date.parse, which reads far more: "-5" as the year -5.
 */
const HTTP_DATE = /^[A-Za-z]{3,9},? [\dA-Za-z -]+ \d{2}:\d{2}:\d{2} (GMT|\d{4})$/;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Maps a transport failure (no HTTP answer, or the body broke off) to a GatewayError.
 * An abort carries its reason: the deadline's GatewayError, or the client going away.
 */
export function fromTransportError(provider: string, err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (signal.aborted) {
    return signal.reason instanceof GatewayError ? signal.reason : GatewayError.clientClosed();
  }
  if (err instanceof AnswerTooLarge) {
    return GatewayError.invalidResponse(
      `Provider ${provider} sent an answer larger than ${err.maxBytes} bytes (its maxResponseBytes): it was not read further.`,
    );
  }
  const code = (err as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) {
    return new GatewayError(504, `Provider ${provider} timed out.`, 'timeout_error', 'upstream_timeout', null, {}, true).from('timeout');
  }
  return new GatewayError(
    502,
    `Could not reach provider ${provider} (${code || (err as Error).message}).`,
    'upstream_error',
    'upstream_unreachable',
    null,
    {},
    true,
  ).from('connection');
}
