import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';

/**
 * Seconds: a healthy loop stays under a millisecond; a GC pause or a sync task shows in the tail, up to a stall of
 * seconds (a p99 above the top bound reads as the bound).
 */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Node's sampling timer period; every sample is this period plus the delay. */
const RESOLUTION_MS = 10;

/**
 * `gateway_event_loop_delay_seconds`: how late the event loop ran, as a Prometheus histogram,
 * so stalls add up across replicas and over any window (prom-client's default only exports
 * percentiles of the last scrape interval, which cannot be aggregated). Node samples natively
 * (perf_hooks) into a histogram that is never reset (a reset loses the sample that spans it,
 * i.e. a stall in progress); a scrape reads the cumulative count at or below each bucket's
 * bound from it. Nothing runs per request.
 */
export class EventLoopDelayHistogram {
  readonly name = 'gateway_event_loop_delay_seconds';
  readonly help = `Event-loop delay, sampled every ${RESOLUTION_MS} ms (perf_hooks.monitorEventLoopDelay)`;
  private readonly samples: ELDHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor(registry: Registry) {
    this.samples.enable();
    // prom-client takes any object with name, help and get() as a metric.
    registry.registerMetric(this as never);
  }

  get() {
    const { count, mean } = this.samples;
    const bucket = `${this.name}_bucket`;
    const offsetNs = RESOLUTION_MS * 1e6;
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      values: [
        ...BUCKETS.map((le) => ({ metricName: bucket, labels: { le }, value: this.countAtMost(le * 1e9 + offsetNs, count) })),
        { metricName: bucket, labels: { le: '+Inf' }, value: count },
        { metricName: `${this.name}_sum`, labels: {}, value: count ? (count * Math.max(0, mean - offsetNs)) / 1e9 : 0 },
        { metricName: `${this.name}_count`, labels: {}, value: count },
      ],
    };
  }

  /** Stops sampling (the timer is unref'd, so this only matters to tests). */
  stop(): void {
    this.samples.disable();
  }

  /**
   * How many samples are at or below `ns`: a binary search for the highest percentile whose
   * value is still at or below it, precise to far less than one sample.
   */
  private countAtMost(ns: number, count: number): number {
    if (!count || this.samples.min > ns) return 0;
    if (this.samples.max <= ns) return count;
    let lo = 0;
    let hi = 100;
    for (let step = 0; step < 48; step++) {
      const mid = (lo + hi) / 2;
      if (this.samples.percentile(mid) <= ns) lo = mid;
      else hi = mid;
    }
    return Math.round((count * lo) / 100);
  }
}
