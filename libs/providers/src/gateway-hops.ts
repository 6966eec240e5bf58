import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from './gateway-error';

/**
 * Gateways a request has passed through before this one. Every upstream request carries
 * it, one more than it came with, so a provider whose base URL leads back to a gateway
 * (ANTHROPIC_BASE_URL exported for Claude Code in the shell that starts the gateway) ends
 * after a few hops with a 508 instead of recursing without end.
 */
export const HOPS_HEADER = 'x-gateway-hops';

/** Chains of gateways longer than this are taken for a loop. */
export const MAX_HOPS = 4;

/** HTTP 508 Loop Detected. */
export const LOOP_DETECTED = 508;

/** The hop count the caller sent (0 when it sent none or no number). */
export function hopsOf(headers: IncomingHttpHeaders): number {
  const value = headers[HOPS_HEADER];
  return typeof value === 'string' ? Number.parseInt(value, 10) || 0 : 0;
}

/** The request's own header for its upstream calls: one hop more. */
export function nextHop(headers: IncomingHttpHeaders): Record<string, string> {
  return { [HOPS_HEADER]: String(hopsOf(headers) + 1) };
}

/**
 * A request that has made MAX_HOPS hops already, or an upstream that refused one as such (the
 * loop is behind that deployment: trying it again or elsewhere only makes it longer).
 */
export function loopDetected(): GatewayError {
  return new GatewayError(
    LOOP_DETECTED,
    `The request has passed through ${MAX_HOPS} gateways (header ${HOPS_HEADER}): a provider's base URL leads back to a gateway. ` +
      'Check the base-URL variables in the environment the gateway was started in (README, Claude Code).',
    'server_error',
    'loop_detected',
  );
}
