import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { Clock } from './clock';
import { InFlight } from './in-flight';

export type LatencyKind = 'total' | 'ttft';

interface Average {
  ms: number;
  at: number;
}

/**
 * Recent latency per deployment (total time for whole responses, time to first
 * token for streams) as an exponentially weighted moving average that fades with
 * age: the old average's weight falls linearly to zero over `staleAfterMs`, so a
 * deployment not measured for that long is "unknown" again and the next request
 * measures it (at most one at a time: see `estimate`). Requests still in flight
 * count too: a deployment whose oldest pending request is older than its average
 * is judged by that age, so one that turns slow loses traffic before any slow
 * answer comes back.
 */
@Injectable()
export class LatencyTracker {
  // By kind, then deployment id: no key string built per attempt.
  private readonly averages = { total: new Map<string, Average>(), ttft: new Map<string, Average>() };
  private readonly pending = { total: new Map<string, InFlight>(), ttft: new Map<string, InFlight>() };
  private readonly alpha: number;
  private readonly staleAfterMs: number;

  constructor(
    config: GatewayConfig,
    private readonly clock: Clock,
  ) {
    ({ alpha: this.alpha, staleAfterMs: this.staleAfterMs } = config.router.latency);
  }

  /** Marks an attempt in flight; returns its id, for `end`. */
  start(deploymentId: string, kind: LatencyKind): number {
    let inFlight = this.pending[kind].get(deploymentId);
    if (!inFlight) this.pending[kind].set(deploymentId, (inFlight = new InFlight()));
    return inFlight.start(this.clock.now());
  }

  /** Ends attempt `id`; when it `succeeded`, its time is measured. */
  end(deploymentId: string, kind: LatencyKind, id: number, succeeded: boolean): void {
    const at = this.pending[kind].get(deploymentId)?.end(id);
    if (at !== undefined && succeeded) this.observe(deploymentId, kind, this.clock.now() - at);
  }

  observe(deploymentId: string, kind: LatencyKind, ms: number): void {
    const now = this.clock.now();
    const previous = this.averages[kind].get(deploymentId);
    if (!previous) {
      this.averages[kind].set(deploymentId, { ms, at: now });
      return;
    }
    const keep = (1 - this.alpha) * this.freshness(previous, now);
    previous.ms = keep * previous.ms + (1 - keep) * ms;
    previous.at = now;
  }

  /** The latency to expect, or undefined when unknown (never measured, or stale with nothing in flight). */
  get(deploymentId: string, kind: LatencyKind): number | undefined {
    const now = this.clock.now();
    const average = this.averages[kind].get(deploymentId);
    const oldest = this.pending[kind].get(deploymentId)?.oldest();
    if (oldest === undefined) return average && this.freshness(average, now) > 0 ? average.ms : undefined;
    return Math.max(average?.ms ?? 0, now - oldest);
  }

  /** 1 for a fresh average, falling to 0 at `staleAfterMs`. */
  private freshness(average: Average, now: number): number {
    return Math.max(0, 1 - (now - average.at) / this.staleAfterMs);
  }
}
