import { Injectable } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import type { Deployment, ModelGroup } from './model-catalog';

export interface Attempted<T> {
  result: T;
  deployment: Deployment;
  /** Deployments tried, the one that answered included. */
  attempts: number;
}

/**
 * Runs one call against a group's deployments in order: the next is tried when an
 * attempt fails in a way another deployment may not (GatewayError.retryable);
 * client errors return at once. Streams call this only up to their first byte.
 */
@Injectable()
export class Executor {
  async run<T>(group: ModelGroup, signal: AbortSignal, call: (d: Deployment) => Promise<T>): Promise<Attempted<T>> {
    let last: GatewayError | undefined;
    let attempts = 0;
    for (const deployment of group.deployments) {
      attempts++;
      try {
        return { result: await call(deployment), deployment, attempts };
      } catch (err) {
        last = asGatewayError(err, signal);
        if (!last.retryable || signal.aborted) break;
      }
    }
    throw last;
  }
}

/** Whatever an attempt threw, as the error the client should see. */
export function asGatewayError(err: unknown, signal: AbortSignal): GatewayError {
  if (err instanceof GatewayError) return err;
  if (signal.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (signal.aborted) return GatewayError.clientClosed();
  return new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error');
}
