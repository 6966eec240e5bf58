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
 * age: the old average's weight falls linearly to zero over `staleAfterMs`, so the
 * first measurement after that long replaces it. Requests still in flight
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

  /** Ends attempt `id`; when `measured` (see Executor.run), its time is a sample of the deployment's latency. */
  end(deploymentId: string, kind: LatencyKind, id: number, measured: boolean): void {
    const at = this.pending[kind].get(deploymentId)?.end(id);
    if (at !== undefined && measured) this.observe(deploymentId, kind, this.clock.now() - at);
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

  /**
   * The latency to expect, or undefined when never measured (nothing in flight). An average past
   * `staleAfterMs` still ranks its deployment by what was last seen (the next measurement replaces it
   * whole): read as unknown, it put a slow deployment first again whenever traffic was sparser than one
   * request per `staleAfterMs`. Slower deployments are re-measured by exploration (`exploreRate`).
   */
  get(deploymentId: string, kind: LatencyKind): number | undefined {
    const average = this.averages[kind].get(deploymentId);
    const oldest = this.pending[kind].get(deploymentId)?.oldest();
    if (oldest === undefined) return average?.ms;
    return Math.max(average?.ms ?? 0, this.clock.now() - oldest);
  }

  /** 1 for a fresh average, falling to 0 at `staleAfterMs`. */
  private freshness(average: Average, now: number): number {
    return Math.max(0, 1 - (now - average.at) / this.staleAfterMs);
  }
}
