import type { GatewayError } from '@gateway/providers';

/**
 * Error codes of the gateway's own that no retry clears: the key's budget is spent until its
 * period resets; a request needing more tokens than the key's TPM never fits in a window; a loop
 * between gateways (gateway-hops.ts) lasts until the config changes.
 */
const PERMANENT_CODES = new Set(['insufficient_quota', 'request_exceeds_tpm', 'loop_detected']);

/** Statuses the OpenAI and Anthropic SDKs retry on their own (twice by default) unless `x-should-retry` says no. */
function sdkRetries(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * `x-should-retry: false` on an error sent with a `status` the SDKs would retry when a retry
 * cannot fix it: an upstream answer the router judged permanent (the provider rejected the
 * gateway's key, does not know the model, has no quota left: the gateway did not ask that
 * deployment again either), or a permanent code of the gateway's own. The SDKs' own rules
 * decide the rest.
 */
export function retryAdvice(error: GatewayError, status: number): Record<string, string> {
  if (!sdkRetries(status)) return {};
  const judgedPermanent = error.upstreamStatus !== undefined && !error.retryable;
  return judgedPermanent || PERMANENT_CODES.has(error.code ?? '') ? { 'x-should-retry': 'false' } : {};
}
