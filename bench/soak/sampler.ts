import { readdirSync } from 'node:fs';
import type { ChaosOpenAI } from './chaos-upstream';
import type { GatewayCluster } from './cluster';

/** One gateway process at one moment, from its /metrics and /proc. */
export interface GatewaySample {
  t: number;
  instance: string;
  pid: number;
  rssMb: number;
  heapUsedMb: number;
  /** nodejs_eventloop_lag_p99_seconds, in ms (prom-client resets the histogram at every scrape). */
  eventLoopP99Ms: number;
  cpuSeconds: number;
  fds: number;
  inflightRequests: number;
  limiterUnavailable: number;
  cacheBackendErrors: number;
  cacheHitsExact: number;
}

export interface UpstreamSample {
  t: number;
  /** Open TCP connections from the gateways to each fake upstream, and answers in progress. */
  connections: Record<string, number>;
  inflight: Record<string, number>;
}

/** Samples every gateway's /metrics and descriptor count, and the fake upstreams' sockets. */
export class Sampler {
  readonly gateways: GatewaySample[] = [];
  readonly upstreams: UpstreamSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cluster: GatewayCluster,
    private readonly fakes: Record<string, ChaosOpenAI>,
    private readonly now: () => number,
  ) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async sample(): Promise<void> {
    const t = this.now();
    const fakes = Object.entries(this.fakes);
    this.upstreams.push({
      t,
      connections: Object.fromEntries(fakes.map(([name, f]) => [name, f.openConnections])),
      inflight: Object.fromEntries(fakes.map(([name, f]) => [name, f.inflight])),
    });
    await Promise.all(
      [...this.cluster.current.values()].map(async (instance) => {
        let text: string;
        try {
          const res = await fetch(`${instance.process.opsUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
          text = await res.text();
        } catch {
          return; // draining or restarting: no sample
        }
        this.gateways.push({
          t,
          instance: instance.name,
          pid: instance.pid,
          rssMb: metric(text, 'process_resident_memory_bytes') / 1024 / 1024,
          heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes') / 1024 / 1024,
          eventLoopP99Ms: metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
          cpuSeconds: metric(text, 'process_cpu_seconds_total'),
          fds: descriptors(instance.pid),
          inflightRequests: metric(text, 'gateway_inflight_requests'),
          limiterUnavailable: metric(text, 'gateway_limiter_unavailable_total'),
          cacheBackendErrors: metric(text, 'gateway_cache_backend_errors_total'),
          cacheHitsExact: metric(text, 'gateway_cache_lookups_total', 'result="hit-exact"'),
        });
      }),
    );
  }
}

/** Sum of a metric's series in Prometheus text (those whose labels contain `label`, when given). */
export function metric(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

function descriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}
