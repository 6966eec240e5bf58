import { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import { retryAfterSeconds } from '../openai/errors';
import { sdkError, transportError, UNDOCUMENTED_4XX, vendorError } from '../translation/errors';
import { ERROR_TYPE_BY_STATUS, ERROR_TYPES } from './tables';

/** Maps whatever the SDK threw (an HTTP error, an `error` stream event, a transport failure). */
export function fromAnthropicError(provider: string, err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof APIConnectionTimeoutError && !signal.aborted) {
    return new GatewayError(504, `Provider ${provider} timed out.`, 'timeout_error', 'upstream_timeout', null, {}, true).from('timeout');
  }
  if (!(err instanceof APIError)) return sdkError(provider, err, signal);
  // The SDK's connection errors (refused, reset, aborted) are APIErrors without a status.
  if (err.status === undefined && err.type === null) return transportError(provider, err, signal);
  const known = err.type && ERROR_TYPES[err.type] ? err.type : ERROR_TYPE_BY_STATUS[err.status ?? 0];
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
