import { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import { retryAfterSeconds } from '../openai/errors';
import { type ErrorMapping, transportError, UNDOCUMENTED_4XX, vendorError } from '../translation/errors';

/** Anthropic's `error.type` -> what the client sees. */
export const ERROR_TYPES: Record<string, ErrorMapping> = {
  invalid_request_error: [400, 'invalid_request_error', null, false],
  request_too_large: [413, 'invalid_request_error', 'request_too_large', false],
  authentication_error: [502, 'upstream_error', 'upstream_auth_failed', false],
  permission_error: [502, 'upstream_error', 'upstream_permission_denied', false],
  billing_error: [502, 'upstream_error', 'upstream_permission_denied', false],
  not_found_error: [502, 'upstream_error', 'upstream_not_found', false],
  rate_limit_error: [429, 'rate_limit_error', 'rate_limit_exceeded', true],
  // 529: Anthropic is over capacity, not this account: another deployment may well answer.
  overloaded_error: [503, 'upstream_error', 'upstream_overloaded', true],
  api_error: [502, 'upstream_error', 'upstream_error', true],
  timeout_error: [504, 'timeout_error', 'upstream_timeout', true],
};

/** Anthropic's error `type` for each HTTP status it documents (also how the gateway answers Anthropic clients). */
export const ANTHROPIC_ERROR_TYPES_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** Maps whatever the SDK threw (an HTTP error, an `error` stream event, a transport failure). */
export function fromAnthropicError(provider: string, err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof APIConnectionTimeoutError && !signal.aborted) {
    return new GatewayError(504, `Provider ${provider} timed out.`, 'timeout_error', 'upstream_timeout', null, {}, true).from('timeout');
  }
  if (!(err instanceof APIError) || (err.status === undefined && err.type === null)) return transportError(provider, err, signal);
  const known = err.type && ERROR_TYPES[err.type] ? err.type : ANTHROPIC_ERROR_TYPES_BY_STATUS[err.status ?? 0];
  const mapping = (known && ERROR_TYPES[known]) || ((err.status ?? 500) >= 500 ? ERROR_TYPES.api_error : UNDOCUMENTED_4XX);
  const message = err.apiMessage ?? err.message;
  const headers = err.headers;
  const retryAfter = headers
    ? retryAfterSeconds({
        'retry-after': headers.get('retry-after') ?? undefined,
        'retry-after-ms': headers.get('retry-after-ms') ?? undefined,
      })
    : undefined;
  return vendorError(provider, mapping, message, retryAfter, err.status);
}
