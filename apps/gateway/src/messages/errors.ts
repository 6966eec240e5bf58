import type { IncomingHttpHeaders } from 'node:http';
import { anthropicTables, GatewayError, inAnthropicOutputWords, inAnthropicWords } from '@gateway/providers';
import { paramNames } from '../http/param-names';
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

/**
 * An error Anthropic's API gives an `error.details` object, whose `error_code` its SDKs act on (the
 * thread helper replays a conversation on `thread_not_found`, for one).
 */
export class DetailedError extends GatewayError {
  constructor(
    status: number,
    message: string,
    readonly details: { error_code: string } & Record<string, unknown>,
    param: string | null = null,
  ) {
    super(status, message, status === 404 ? 'not_found_error' : 'invalid_request_error', details.error_code, param);
  }
}

function errorObject(error: GatewayError) {
  const code = status(error);
  const type = anthropicTables.ERROR_TYPE_BY_STATUS[code] ?? (code >= 500 ? 'api_error' : 'invalid_request_error');
  const details = error instanceof DetailedError ? { details: error.details } : {};
  return { type: 'error', error: { type, message: inAnthropicTerms(error), ...details } };
}

/**
 * A prompt over the context window, and a max_tokens over the model's output cap, in Anthropic's words,
 * which its clients act on: compaction; Claude Code lowering max_tokens to the cap and asking again.
 */
function inAnthropicTerms(error: GatewayError): string {
  if (error.overflow) return inAnthropicWords(error.message, error.overflow);
  if (error.outputCap) return inAnthropicOutputWords(error.message, error.outputCap, error.outputCap.model ?? 'this model');
  return error.message;
}

/**
 * Chat parameters the pipeline names in errors, as the caller's Messages request names them. Indexes into
 * `messages` and `tools` do not survive the translation (the system prompt and each tool result become messages
 * of their own), so those name the whole list.
 */
const inMessagesNames = paramNames([
  [/^messages(?:[[.].*)?$/, 'messages'],
  [/^tools\[\d+\]\.function(?:\..*)?$/, 'tools'],
  [/^max_completion_tokens$/, 'max_tokens'],
]);

/**
 * `err`, thrown by the chat pipeline, in the caller's Messages terms: a message that quotes a chat parameter
 * quotes the caller's, and a max_tokens over the model's output cap names `model`, the model the client asked
 * for, which Anthropic's words for it name (an upstream's text names its own model, or none).
 */
export function inMessagesTerms(err: unknown, model: string): unknown {
  if (!(err instanceof GatewayError)) return err;
  if (err.outputCap) err.outputCap = { ...err.outputCap, model };
  err.message = inMessagesNames(err.message, err.param).message;
  return err;
}

/** `{"type":"error","error":{"type":…,"message":…},"request_id":…}` with Anthropic's statuses. */
export const ANTHROPIC_ERRORS = {
  status,
  body: (error: GatewayError, requestId?: string) => ({ ...errorObject(error), ...(requestId && { request_id: requestId }) }),
  streamFrame: (error: GatewayError) => sseEvent('error', { error: errorObject(error).error }),
};
