import type { ErrorType } from './gateway-error';

/** How an upstream error reaches the client: [status, type, code, retryable]. */
export type ErrorMapping = [number, ErrorType, string | null, boolean];

/** No capacity upstream now (503, or 529 as Anthropic says it): another deployment may well answer. */
const OVERLOADED: ErrorMapping = [503, 'upstream_error', 'upstream_overloaded', true];

/**
 * Whether an upstream's HTTP status says it has no capacity (503, or 529): that, not what the body says, is what
 * the client gets (overloaded), from every vendor. A proxy or load balancer in front answers 503 with whatever
 * body it has: an Anthropic `rate_limit_error` or Gemini `RESOURCE_EXHAUSTED` in it made a 429 (this key rate
 * limited), where an OpenAI-format upstream's same answer was overloaded.
 */
export function saysOverloaded(status: number | undefined): boolean {
  return status !== undefined && BY_STATUS[status] === OVERLOADED;
}

/**
 * What an upstream's HTTP status says, the same whichever vendor answered: an OpenAI-format
 * upstream's errors are read by it, and so are Anthropic's and Gemini's when their body names no
 * more than a server failure (a proxy's HTML page, Anthropic's `api_error`, Gemini's `INTERNAL`):
 * a load balancer's 503 in front of any vendor is "overloaded", not a generic failure.
 */
const BY_STATUS: Record<number, ErrorMapping> = {
  400: [400, 'invalid_request_error', null, false],
  401: [502, 'upstream_error', 'upstream_auth_failed', false],
  // Payment required: the gateway's account, as Anthropic's billing_error.
  402: [502, 'upstream_error', 'upstream_permission_denied', false],
  403: [502, 'upstream_error', 'upstream_permission_denied', false],
  404: [502, 'upstream_error', 'upstream_not_found', false],
  408: [504, 'timeout_error', 'upstream_timeout', true],
  409: [502, 'upstream_error', 'upstream_conflict', true],
  413: [413, 'invalid_request_error', 'request_too_large', false],
  422: [422, 'invalid_request_error', null, false],
  429: [429, 'rate_limit_error', 'rate_limit_exceeded', true],
  503: OVERLOADED,
  504: [504, 'timeout_error', 'upstream_timeout', true],
  529: OVERLOADED,
};

/** Any other 5xx: the upstream failed, and another attempt may not. */
export const SERVER_ERROR: ErrorMapping = [502, 'upstream_error', 'upstream_error', true];

/** A 4xx the vendor does not document: a problem of the gateway's request or account, not the client's. */
export const UNDOCUMENTED_4XX: ErrorMapping = [502, 'upstream_error', 'upstream_error', false];

/**
 * A 2xx other than the 200 asked for, or a 3xx (redirects are not followed): no answer, but no error either,
 * a proxy's in front of the vendor most often. The upstream's invalid answer, as a 200 with no chat answer in
 * it: retryable, counted against the deployment as a 502 (judgedStatus), and not the 30 s cool-down of a 4xx.
 */
const NOT_AN_ANSWER: ErrorMapping = [502, 'upstream_error', 'upstream_invalid_response', true];

/** How an upstream's HTTP status reaches the client (the mock's injected failures take the same shape). */
export function statusMapping(status: number): ErrorMapping {
  return BY_STATUS[status] ?? (status >= 500 ? SERVER_ERROR : status < 400 ? NOT_AN_ANSWER : UNDOCUMENTED_4XX);
}

/** The status the router judges an upstream error answer by: a 2xx or 3xx one as the invalid answer it is (502). */
export function judgedStatus(status: number): number {
  return status < 400 ? 502 : status;
}
