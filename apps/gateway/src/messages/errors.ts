import type { IncomingHttpHeaders } from 'node:http';
import { anthropicTables, type GatewayError } from '@gateway/providers';
import { sseEvent } from './stream';

/**
 * Gateway statuses Anthropic does not use, as the one its clients know: an upstream
 * failure is Anthropic's api_error (500) and "no capacity now" its overloaded_error
 * (529), which the Anthropic SDKs retry. Other statuses are kept.
 */
const STATUS: Record<number, number> = { 415: 400, 422: 400, 502: 500, 503: 529 };

/** A request in Anthropic's protocol: its routes, or any route called by an Anthropic SDK. */
export function isAnthropicRequest(request: { url?: string; headers: IncomingHttpHeaders }): boolean {
  return request.headers['anthropic-version'] !== undefined || (request.url ?? '').startsWith('/v1/messages');
}

function status(error: GatewayError): number {
  return STATUS[error.status] ?? error.status;
}

function errorObject(error: GatewayError) {
  const code = status(error);
  const type = anthropicTables.ERROR_TYPE_BY_STATUS[code] ?? (code >= 500 ? 'api_error' : 'invalid_request_error');
  return { type: 'error', error: { type, message: error.message } };
}

/** `{"type":"error","error":{"type":…,"message":…},"request_id":…}` with Anthropic's statuses. */
export const ANTHROPIC_ERRORS = {
  status,
  body: (error: GatewayError, requestId?: string) => ({ ...errorObject(error), ...(requestId && { request_id: requestId }) }),
  streamFrame: (error: GatewayError) => sseEvent('error', { error: errorObject(error).error }),
};
