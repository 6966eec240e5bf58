import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CacheStatus } from './cache.service';
import type { GuardReason } from './guard';

/** What became of an answer offered to the cache: written, a write that failed, over maxEntryBytes, or refused by policy. */
export type StoreResult = 'stored' | 'failed' | 'too_large' | 'not_cacheable';

const SIMILARITY_BUCKETS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 0.99, 1];
/** Seconds: an exact hit takes well under a millisecond, an embedding tens of them. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The cache's Prometheus series, on the gateway's registry (MetricsService.registry). */
export class CacheMetrics {
  readonly lookups: Counter<'result'>;
  readonly lookupSeconds: Histogram<'result'>;
  readonly similarity: Histogram;
  readonly embeddingSeconds: Histogram;
  readonly guardRejections: Counter<'reason'>;
  private readonly stores: Counter<'result'>;
  readonly savedTokens: Counter<'kind'>;
  readonly savedUsd: Counter;
  readonly backendErrors: Counter<'backend' | 'operation' | 'reason'>;
  readonly waiting: Gauge;
  /** Label children bound once: a lookup costs two updates, not two label look-ups. */
  private readonly byResult = new Map<CacheStatus, { count: Counter.Internal; seconds: Histogram.Internal<'result'> }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.lookups = new Counter({
      name: 'gateway_cache_lookups_total',
      help: 'Cache lookups by result, as x-gateway-cache says it (hit-exact, hit-semantic, hit-coalesced: the answer of an identical request in flight, miss, bypass)',
      labelNames: ['result'],
      registers,
    });
    this.lookupSeconds = new Histogram({
      name: 'gateway_cache_lookup_duration_seconds',
      help: 'Time of a cache lookup, embedding included',
      labelNames: ['result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.similarity = new Histogram({
      name: 'gateway_cache_semantic_similarity',
      help: 'Cosine similarity of the nearest earlier prompt, per semantic search',
      buckets: SIMILARITY_BUCKETS,
      registers,
    });
    this.embeddingSeconds = new Histogram({
      name: 'gateway_cache_embedding_duration_seconds',
      help: 'Time to embed a prompt (in-process cache misses only)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.guardRejections = new Counter({
      name: 'gateway_cache_guard_rejections_total',
      help: 'Semantic neighbours above the threshold refused by the guard, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.stores = new Counter({
      name: 'gateway_cache_stores_total',
      help: 'Answers offered to the cache: stored, failed (a backend write failed, or storing threw), too_large (over cache.maxEntryBytes) or not_cacheable',
      labelNames: ['result'],
      registers,
    });
    this.savedTokens = new Counter({
      name: 'gateway_cache_saved_tokens_total',
      help: 'Tokens not sent upstream thanks to cache hits',
      labelNames: ['kind'],
      registers,
    });
    this.savedUsd = new Counter({
      name: 'gateway_cache_saved_usd_total',
      help: 'Upstream cost avoided by cache hits, at the model group’s first priced deployment',
      registers,
    });
    this.backendErrors = new Counter({
      name: 'gateway_cache_backend_errors_total',
      help: 'Cache backend calls given up (the request went on without that layer), by reason: timeout, overloaded (a full queue), unrepresented (a prompt the embedder cannot represent), loading (the embedder had not loaded yet) or error',
      labelNames: ['backend', 'operation', 'reason'],
      registers,
    });
    this.waiting = new Gauge({
      name: 'gateway_cache_waiting_requests',
      help: 'Requests waiting for the answer of an identical request in flight (cache.coalesce)',
      registers,
    });
  }

  lookedUp(result: CacheStatus, seconds: number): void {
    let series = this.byResult.get(result);
    if (!series) this.byResult.set(result, (series = { count: this.lookups.labels(result), seconds: this.lookupSeconds.labels(result) }));
    series.count.inc();
    series.seconds.observe(seconds);
  }

  offered(result: StoreResult): void {
    this.stores.labels(result).inc();
  }

  rejected(reason: GuardReason): void {
    this.guardRejections.labels(reason).inc();
  }
}
