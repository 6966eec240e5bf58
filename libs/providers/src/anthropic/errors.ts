import { APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import { retryAfterOf, sdkError, transportError, vendorError } from '../translation/errors';
import { anthropicMapping } from './error-mapping';

/** Maps whatever the SDK threw (an HTTP error, an `error` stream event, a transport failure). */
export function fromAnthropicError(provider: string, err: unknown, signal: AbortSignal, answered = false): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof APIConnectionTimeoutError && !signal.aborted) {
    return new GatewayError(504, `Provider ${provider} timed out.`, 'timeout_error', 'upstream_timeout', null, {}, true).from('timeout');
  }
  if (!(err instanceof APIError)) return sdkError(provider, err, signal, answered);
  // The SDK's connection errors (refused, reset, aborted) are APIErrors without a status.
  if (err.status === undefined && err.type === null) return transportError(provider, err, signal);
  const mapping = anthropicMapping(err.status, err.type, err.errorCode, err.apiMessage);
  const message = err.apiMessage ?? err.message;
  return vendorError(provider, mapping, message, retryAfterOf(err.headers), err.status);
}
