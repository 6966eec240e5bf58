import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';

export type LatencyKind = 'total' | 'ttft';

/**
 * Recent latency per deployment as an exponentially weighted moving average:
 * total time for whole responses, time to first token for streams.
 */
@Injectable()
export class LatencyTracker {
  private readonly averages = new Map<string, number>();
  private readonly alpha: number;

  constructor(config: GatewayConfig) {
    this.alpha = config.router.latency.alpha;
  }

  observe(deploymentId: string, kind: LatencyKind, ms: number): void {
    const key = `${kind}:${deploymentId}`;
    const previous = this.averages.get(key);
    this.averages.set(key, previous === undefined ? ms : previous + this.alpha * (ms - previous));
  }

  /** The average, or undefined when the deployment has not been measured yet. */
  get(deploymentId: string, kind: LatencyKind): number | undefined {
    return this.averages.get(`${kind}:${deploymentId}`);
  }
}
