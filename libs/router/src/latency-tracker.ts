import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { Clock } from './clock';

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
  private readonly averages = new Map<string, Average>();
  /** Start times of attempts in flight, oldest first (Set keeps insertion order). */
  private readonly pending = new Map<string, Set<{ at: number }>>();
  private readonly alpha: number;
  private readonly staleAfterMs: number;

  constructor(
    config: GatewayConfig,
    private readonly clock: Clock,
  ) {
    ({ alpha: this.alpha, staleAfterMs: this.staleAfterMs } = config.router.latency);
  }

  /** Marks an attempt in flight; call the result when it ends, with `true` when it succeeded (then it is measured). */
  start(deploymentId: string, kind: LatencyKind): (succeeded: boolean) => void {
    const key = `${kind}:${deploymentId}`;
    const entry = { at: this.clock.now() };
    let set = this.pending.get(key);
    if (!set) this.pending.set(key, (set = new Set()));
    set.add(entry);
    return (succeeded) => {
      if (!set.delete(entry)) return;
      if (succeeded) this.observe(deploymentId, kind, this.clock.now() - entry.at);
    };
  }

  observe(deploymentId: string, kind: LatencyKind, ms: number): void {
    const key = `${kind}:${deploymentId}`;
    const now = this.clock.now();
    const previous = this.averages.get(key);
    const keep = previous ? (1 - this.alpha) * this.freshness(previous, now) : 0;
    this.averages.set(key, { ms: previous ? keep * previous.ms + (1 - keep) * ms : ms, at: now });
  }

  /** The latency to expect, or undefined when unknown (never measured, or stale with nothing in flight). */
  get(deploymentId: string, kind: LatencyKind): number | undefined {
    const key = `${kind}:${deploymentId}`;
    const now = this.clock.now();
    const average = this.averages.get(key);
    const oldest = this.pending.get(key)?.values().next().value;
    if (!oldest) return average && this.freshness(average, now) > 0 ? average.ms : undefined;
    return Math.max(average?.ms ?? 0, now - oldest.at);
  }

  /** 1 for a fresh average, falling to 0 at `staleAfterMs`. */
  private freshness(average: Average, now: number): number {
    return Math.max(0, 1 - (now - average.at) / this.staleAfterMs);
  }
}
