import type { ErrorType } from './gateway-error';

/** How an upstream error reaches the client: [status, type, code, retryable]. */
export type ErrorMapping = [number, ErrorType, string | null, boolean];

/** No capacity upstream now (503, or 529 as Anthropic says it): another deployment may well answer. */
const OVERLOADED: ErrorMapping = [503, 'upstream_error', 'upstream_overloaded', true];

/**
 * The gateway's provider account cannot be billed: out of credit, over a spend limit, billing not active. Each
 * vendor says it in its own way and status (Anthropic a 400 `invalid_request_error` or a 429 with an `error_code`,
 * OpenAI a 429 `insufficient_quota`, Gemini a 402 or 429 `RESOURCE_EXHAUSTED`: the vendors' tables read them).
 * No wait clears it and it is no fault of the client's: the deployment's own trouble (judgedStatus), a 502
 * without Retry-After.
 */
export const OUT_OF_CREDIT: ErrorMapping = [502, 'upstream_error', 'upstream_quota_exceeded', false];

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
 * Whether an upstream's HTTP status says all there is to say, whatever its body: no capacity (saysOverloaded), or
 * payment required (402: the account cannot be billed; a Gemini 402 `RESOURCE_EXHAUSTED` read by its body was a
 * rate limit, asked again and never cooled down).
 */
export function statusSaysAll(status: number | undefined): boolean {
  return saysOverloaded(status) || status === 402;
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
  // Payment required: the gateway's account, whatever the body says (Gemini's prepay credit spent is a 402 RESOURCE_EXHAUSTED).
  402: OUT_OF_CREDIT,
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

/**
 * Each trouble of the gateway's account an upstream may answer: the HTTP status that says it, which the router counts
 * an answer whose body says it as (README, Routing: an upstream 401-404 is the deployment's own trouble), and the hint
 * the client's message gets (the operator's to fix, not the client's).
 */
const ACCOUNT_TROUBLE: Record<string, { status: number; hint: string }> = {
  upstream_auth_failed: { status: 401, hint: "rejected the gateway's API key; check the key configured for this provider" },
  upstream_quota_exceeded: {
    status: 402,
    hint: "has no quota left for the gateway's account; check the provider account's plan and billing",
  },
  upstream_permission_denied: { status: 403, hint: "refused access with the gateway's API key; check the key's permissions and billing" },
  upstream_not_found: { status: 404, hint: "does not know this model or endpoint; check the deployment's upstream model id" },
};

/** What to tell the client about an account trouble (`code`), after the provider's name; undefined for any other code. */
export function accountHint(code: string | null): string | undefined {
  return code !== null && Object.hasOwn(ACCOUNT_TROUBLE, code) ? ACCOUNT_TROUBLE[code]!.hint : undefined;
}

/**
 * The status the router judges an upstream error answer by: a 2xx or 3xx one as the invalid answer it is (502);
 * a 4xx whose status says the request's fault or a rate limit (400, 429) but whose body says the gateway's account
 * (`mapping`: a credit balance too low, a revoked key, billing off) as the status that says so (402, 401, 403):
 * counted as a 400, such an answer went to the client as its own mistake, neither fallen back from nor cooled down.
 * And the other way round: a 4xx whose status says the gateway's account (401-404, or one undocumented) but whose
 * body says the request's fault (`mapping` a client error: a file the request named not found, named-file.ts; more
 * credit than a max_tokens this large) as a 400: counted by its status, one client's request cooled the deployment
 * down for every tenant, or was sent on to another deployment, of another vendor, that never saw its file.
 */
export function judgedStatus(status: number, [clientStatus, , code, retryable]: ErrorMapping = statusMapping(status)): number {
  if (status < 400) return 502;
  const [byStatus, , , retried] = statusMapping(status);
  const readAsClients = status < 500 && (byStatus < 500 || retried);
  if (status < 500 && !readAsClients && clientStatus < 500 && clientStatus !== 429) return 400;
  const account = !retryable && code !== null && Object.hasOwn(ACCOUNT_TROUBLE, code) ? ACCOUNT_TROUBLE[code] : undefined;
  return readAsClients && account ? account.status : status;
}
