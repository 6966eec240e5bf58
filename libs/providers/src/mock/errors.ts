import { setTimeout as sleep } from 'node:timers/promises';
import type { MockBehaviour } from '@gateway/config';
import { GatewayError } from '../gateway-error';
import { fromTransportError } from '../openai/errors';
import { statusMapping } from '../status-mapping';

/**
 * The mock's injected failures, shaped like what a real upstream failure becomes
 * after the OpenAI adapter maps it, so router and client behaviour can be tested.
 */
export function injectedFailure(provider: string, behaviour: MockBehaviour, random: () => number): GatewayError | undefined {
  if (behaviour.failRate <= 0 || random() >= behaviour.failRate) return undefined;
  const status = behaviour.failStatus;
  const message = `Provider ${provider} failed with HTTP ${status}: injected failure (mock)`;
  if (status === 429) {
    const retryAfter = String(behaviour.retryAfterSeconds);
    return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, { 'retry-after': retryAfter }, true).from(429);
  }
  if (status >= 500) {
    const [mapped, type, code, retryable] = statusMapping(status);
    return new GatewayError(mapped, message, type, code, null, {}, retryable).from(status);
  }
  return new GatewayError(status, message, 'invalid_request_error', 'mock_injected_failure').from(status);
}

export function streamCut(provider: string): GatewayError {
  return new GatewayError(
    502,
    `Provider ${provider} cut the stream (injected failure, mock).`,
    'upstream_error',
    'upstream_stream_truncated',
    null,
    {},
    true,
  ).from('connection');
}

/**
 * Waits `ms` as an upstream takes its time. A request aborted meanwhile fails as a real adapter's does: with
 * its abort's reason (the client gone, the deadline), not a bare AbortError, which the stream's writer logs as
 * an unexpected error (every client leaving a mock stream was an error line).
 */
export async function upstreamDelay(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw fromTransportError('mock', err, signal);
  }
}
