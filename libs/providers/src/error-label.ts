import type { GatewayError } from './gateway-error';

/**
 * The codes the gateway gives its own errors (and the upstream failures it classifies). An
 * OpenAI-compatible upstream's 4xx keeps the vendor's `code` for the client, and a mid-stream error
 * event its code: vLLM, proxies and self-hosted servers choose their own, some with request details
 * in them, so such a code is never a metric label (errorLabel). A code missing here is labelled by
 * its class, not lost: keep it in step when adding one.
 */
const OWN_CODES = new Set([
  'admin_disabled',
  'admin_read_only',
  'client_closed_request',
  'content_filter',
  'context_length_exceeded',
  'deadline_exceeded',
  'duplicate_host_header',
  'expectation_failed',
  'file_not_found',
  'forbidden_key',
  'insufficient_quota',
  'internal_error',
  'invalid_api_key',
  'invalid_body',
  'invalid_cache_header',
  'invalid_header',
  'invalid_json',
  'invalid_url',
  'invalid_utf8',
  'invalid_value',
  'json_too_deep',
  'json_too_many_keys',
  'key_change_unsettled',
  'key_changed',
  'key_in_config',
  'key_not_found',
  'key_revoked',
  'key_rotation_in_progress',
  'key_rotation_unsettled',
  'key_store_unavailable',
  'loop_detected',
  'malformed_http_request',
  'method_not_allowed',
  'missing_api_key',
  'missing_host_header',
  'missing_required_parameter',
  'missing_thought_signature',
  'mock_injected_failure',
  'model_not_allowed',
  'model_not_found',
  'model_not_supported',
  'no_healthy_deployment',
  'not_found',
  'previous_response_not_found',
  'rate_limit_exceeded',
  'rate_limiter_unavailable',
  'redis_misconfigured',
  'redis_required',
  'redis_unavailable',
  'request_exceeds_tpm',
  'request_header_fields_too_large',
  'request_timeout',
  'request_too_large',
  'response_store_unavailable',
  'thread_already_continued',
  'thread_continue_in_flight',
  'thread_fingerprint_mismatch',
  'thread_not_found',
  'thread_store_unavailable',
  'thread_too_large',
  'too_many_pipelined_requests',
  'unknown_parameter',
  'unsupported_capability',
  'unsupported_charset',
  'unsupported_content_encoding',
  'unsupported_endpoint',
  'unsupported_media_type',
  'unsupported_parameter',
  'unsupported_value',
  'upstream_auth_failed',
  'upstream_conflict',
  'upstream_error',
  'upstream_invalid_response',
  'upstream_invalid_tool_arguments',
  'upstream_malformed_tool_call',
  'upstream_not_found',
  'upstream_overloaded',
  'upstream_permission_denied',
  'upstream_quota_exceeded',
  'upstream_stream_truncated',
  'upstream_timeout',
  'upstream_unreachable',
  'uri_too_long',
]);

/**
 * An error as a metric label (`error_type`, a fallback's or a stream failure's `reason`): its code
 * when the gateway gave it; an upstream's error with any other code, or none, by its class:
 * `upstream_bad_request` for a client error the upstream caught, `upstream_error` for one it failed
 * with (an Anthropic or Gemini 400 has no code, an OpenAI-format one the vendor's: labelled alike); the
 * type (an enum) of the gateway's own error without a code; `other` for the rest. The access log keeps
 * the code itself.
 */
export function errorLabel(error: GatewayError): string {
  if (error.code !== null && OWN_CODES.has(error.code)) return error.code;
  if (error.upstreamStatus !== undefined) return error.status < 500 ? 'upstream_bad_request' : 'upstream_error';
  return error.code === null ? error.type : 'other';
}
