import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '@gateway/providers';
import { paramNames } from '../http/param-names';

/**
 * Chat Completions parameter names, as the pipeline and the upstream name them in errors, and
 * the Responses parameter each came from. Indexes into `messages` and `tools` do not survive the
 * translation (instructions, history and namespaces shift them), so those name the whole list.
 */
const PARAMS: [RegExp, string][] = [
  [/^messages(?:[[.].*)?$/, 'input'],
  [/^max_(?:completion_)?tokens$/, 'max_output_tokens'],
  [/^response_format(?:[[.].*)?$/, 'text.format'],
  [/^reasoning_effort$/, 'reasoning.effort'],
  [/^verbosity$/, 'text.verbosity'],
  [/^tools\[\d+\]\.function(?:\..*)?$/, 'tools'],
];

export function isResponsesRequest(request: { url?: string; headers: IncomingHttpHeaders }): boolean {
  return (request.url ?? '').startsWith('/v1/responses');
}

/** An error's message and `param` in the client's Responses names. */
export const inResponsesNames = paramNames(PARAMS);

/** OpenAI's 404 for a response or item the gateway cannot find (unknown, deleted, expired, another key's). */
export function notFound(message: string, param: string | null): GatewayError {
  return new GatewayError(404, message, 'invalid_request_error', 'not_found', param);
}
