import { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import { saysOverloaded, statusMapping } from '../status-mapping';
import { retryAfterOf, sdkError, transportError, vendorError } from '../translation/errors';
import { ERROR_TYPES } from './tables';

/** Maps whatever the SDK threw (an HTTP error, an `error` stream event, a transport failure). */
export function fromAnthropicError(provider: string, err: unknown, signal: AbortSignal, answered = false): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof APIConnectionTimeoutError && !signal.aborted) {
    return new GatewayError(504, `Provider ${provider} timed out.`, 'timeout_error', 'upstream_timeout', null, {}, true).from('timeout');
  }
  if (!(err instanceof APIError)) return sdkError(provider, err, signal, answered);
  // The SDK's connection errors (refused, reset, aborted) are APIErrors without a status.
  if (err.status === undefined && err.type === null) return transportError(provider, err, signal);
  // A type that says more than the status wins; `api_error` (any failure) or none leaves it to the
  // status, as an OpenAI-format upstream's; a 503 or 529 is overloaded whatever body a proxy put on it.
  const said = err.type && err.type !== 'api_error' && !saysOverloaded(err.status) ? ERROR_TYPES[err.type] : undefined;
  const mapping = said ?? statusMapping(err.status ?? 500);
  const message = err.apiMessage ?? err.message;
  return vendorError(provider, mapping, message, retryAfterOf(err.headers), err.status);
}
