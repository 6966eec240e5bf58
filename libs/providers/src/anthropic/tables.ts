/**
 * The Anthropic adapter's declarative tables, exported for the Messages API ingress codec.
 * Nothing here imports the SDK: the codec is loaded at every start, the SDK only when an
 * Anthropic provider is enabled (providers.service.ts).
 */
import { OUT_OF_CREDIT, type ErrorMapping } from '../status-mapping';

export { DEFAULT_MAX_TOKENS, EFFORT, isSignedThinking, TOOL_CHOICE, toolUseId } from './request';
export { FINISH_REASONS } from './response';
export { THINKING_BUDGET } from '../translation/params';

/** Anthropic's `error.type` -> what the client sees. */
export const ERROR_TYPES: Record<string, ErrorMapping> = {
  invalid_request_error: [400, 'invalid_request_error', null, false],
  request_too_large: [413, 'invalid_request_error', 'request_too_large', false],
  authentication_error: [502, 'upstream_error', 'upstream_auth_failed', false],
  permission_error: [502, 'upstream_error', 'upstream_permission_denied', false],
  billing_error: OUT_OF_CREDIT,
  not_found_error: [502, 'upstream_error', 'upstream_not_found', false],
  rate_limit_error: [429, 'rate_limit_error', 'rate_limit_exceeded', true],
  // 529: Anthropic is over capacity, not this account: another deployment may well answer.
  overloaded_error: [503, 'upstream_error', 'upstream_overloaded', true],
  api_error: [502, 'upstream_error', 'upstream_error', true],
  timeout_error: [504, 'timeout_error', 'upstream_timeout', true],
};

/**
 * Anthropic's `error.details.error_code`s that say the gateway's account cannot be billed, whatever the type and
 * status beside them: the monthly cap of its tier or its contract reached (a 429 `rate_limit_error` without
 * Retry-After: no wait of seconds clears it), a linked organization over its limit or out of credit (402).
 */
export const ACCOUNT_CODES: Record<string, ErrorMapping> = {
  enforced_spend_limit_reached: OUT_OF_CREDIT,
  contract_spend_limit_reached: OUT_OF_CREDIT,
  linked_organization_spend_limit_reached: OUT_OF_CREDIT,
};

/**
 * Anthropic's words for the same where it gives no code: a 400 `invalid_request_error` for a credit balance too low
 * ("Your credit balance is too low to access the Anthropic API…") or a spend limit its owner set ("You have reached
 * your specified [workspace] API usage limits. You will regain access on…"). Read by type, they were the client's
 * mistake: no fallback, no cool-down, the same 400 to every request.
 */
export const ACCOUNT_WORDS: [RegExp, ErrorMapping][] = [
  [/^Your credit balance is too low/, OUT_OF_CREDIT],
  [/^You have reached your specified (workspace )?API usage limits/, OUT_OF_CREDIT],
];

/** Anthropic's `error.type` for a status the Messages API ingress answers with (apps/gateway/src/messages/errors.ts). */
export const ERROR_TYPE_BY_STATUS: Record<number, string> = {
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
