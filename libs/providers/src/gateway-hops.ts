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

/** The hop count the caller sent (0 when it sent none, no number or a negative one, which would lengthen a loop). */
export function hopsOf(headers: IncomingHttpHeaders): number {
  const value = headers[HOPS_HEADER];
  const hops = typeof value === 'string' ? Number.parseInt(value, 10) : 0;
  return hops > 0 ? hops : 0;
}

/** The header of each hop count, made once: one object for every request, which the OpenAI client merges once. */
const NEXT_HOP: readonly Readonly<Record<string, string>>[] = Array.from({ length: MAX_HOPS + 1 }, (_, hops) =>
  Object.freeze({ [HOPS_HEADER]: String(hops + 1) }),
);

/** The request's own header for its upstream calls: one hop more (a request past MAX_HOPS is refused before any call). */
export function nextHop(headers: IncomingHttpHeaders): Readonly<Record<string, string>> {
  return NEXT_HOP[Math.min(hopsOf(headers), MAX_HOPS)]!;
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
