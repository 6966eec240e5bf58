/**
 * The Anthropic adapter's declarative tables, exported for the Messages API ingress codec.
 * Nothing here imports the SDK: the codec is loaded at every start, the SDK only when an
 * Anthropic provider is enabled (providers.service.ts).
 */
import type { ErrorMapping } from '../translation/errors';

export { DEFAULT_MAX_TOKENS, EFFORT, isSignedThinking, TOOL_CHOICE, toolUseId } from './request';
export { FINISH_REASONS } from './response';
export { THINKING_BUDGET } from '../translation/params';

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
