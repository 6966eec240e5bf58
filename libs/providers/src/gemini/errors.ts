import { ApiError } from '@google/genai';
import { GatewayError } from '../gateway-error';
import { truncated } from '../openai/stream';
import { type ErrorMapping, sdkError, UNDOCUMENTED_4XX, vendorError } from '../translation/errors';

/** Google's canonical error `status` -> what the client sees. */
export const ERROR_STATUSES: Record<string, ErrorMapping> = {
  INVALID_ARGUMENT: [400, 'invalid_request_error', null, false],
  OUT_OF_RANGE: [400, 'invalid_request_error', null, false],
  // Gemini uses it for account problems (billing required, region not served), not bad requests.
  FAILED_PRECONDITION: [502, 'upstream_error', 'upstream_permission_denied', false],
  UNAUTHENTICATED: [502, 'upstream_error', 'upstream_auth_failed', false],
  PERMISSION_DENIED: [502, 'upstream_error', 'upstream_permission_denied', false],
  NOT_FOUND: [502, 'upstream_error', 'upstream_not_found', false],
  RESOURCE_EXHAUSTED: [429, 'rate_limit_error', 'rate_limit_exceeded', true],
  ABORTED: [502, 'upstream_error', 'upstream_conflict', true],
  CANCELLED: [502, 'upstream_error', 'upstream_error', true],
  INTERNAL: [502, 'upstream_error', 'upstream_error', true],
  UNKNOWN: [502, 'upstream_error', 'upstream_error', true],
  UNAVAILABLE: [503, 'upstream_error', 'upstream_overloaded', true],
  DEADLINE_EXCEEDED: [504, 'timeout_error', 'upstream_timeout', true],
};

/** For bodies without a status we know, by HTTP code. */
const BY_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: { '@type'?: string; retryDelay?: string }[];
}

/**
 * Maps what the SDK threw. Its ApiError carries the HTTP status and the error body
 * as JSON text in the message (after a prefix for errors sent inside a stream).
 */
export function fromGeminiError(provider: string, err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (!(err instanceof ApiError)) {
    // The SDK's SSE reader found the body ended inside an event.
    if (err instanceof Error && err.message.startsWith('Incomplete JSON segment')) return truncated(provider);
    return sdkError(provider, err, signal);
  }
  const body = parseBody(err.message);
  const status = body.status && ERROR_STATUSES[body.status] ? body.status : BY_HTTP[err.status];
  const mapping = ERROR_STATUSES[status] ?? (err.status >= 500 ? ERROR_STATUSES.INTERNAL : UNDOCUMENTED_4XX);
  return vendorError(provider, mapping, body.message ?? err.message, retryDelaySeconds(body), err.status);
}

function parseBody(message: string): GoogleError {
  try {
    const parsed = JSON.parse(message.slice(message.indexOf('{')));
    return (parsed?.error ?? {}) as GoogleError;
  } catch {
    return {};
  }
}

/** Google says when to retry in a RetryInfo detail ("30s", "1.5s"), not in a header. */
function retryDelaySeconds(error: GoogleError): number | undefined {
  const delay = error.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  const seconds = delay ? Number.parseFloat(delay) : NaN;
  return Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : undefined;
}
