import { once } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig, isTierName, type Price } from '@gateway/config';
import { costOf, MetricsService, type UsageCounts } from '@gateway/metrics';
import {
  bodyText,
  type ChatCompletionCreateParams,
  type ChatStream,
  clientUsage,
  type CompletionUsage,
  mapStream,
} from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import { Executor, fingerprintedDeployments, RouterService } from '@gateway/router';
import type { CacheBackend, CachedAnswer } from './backends/backend';
import { EmbeddedBackend } from './backends/embedded.backend';
import { RedisBackend } from './backends/redis.backend';
import { type CacheKeys, cacheKeys, type CacheScope } from './cache-keys';
import { type CacheControls, DEFAULT_CONTROLS } from './controls';
import { type Embedder, type EmbedderState, type EmbeddingCall, RecentEmbeddings } from './embedders/embedder';
import { LocalUseEmbedder, MiniLmEmbedder, WorkerEmbedder } from './embedders/worker-embedder';
import { ProviderEmbedder } from './embedders/provider.embedder';
import { FailOpen } from './fail-open';
import { guardFor } from './guard';
import { InFlight, type LeadOutcome, type Settle } from './in-flight';
import { CacheMetrics } from './metrics';
import { cacheableCompletion, cacheableRequest, keptSeconds, servableAnswer } from './policy';
import { readAhead } from './read-ahead';
import { SseChunkCollector } from './sse';

export type CacheStatus = 'hit-exact' | 'hit-semantic' | 'hit-coalesced' | 'miss' | 'bypass';

/** What a lookup found; hand it back to store() or recordStream() after a miss. */
export interface CacheLookup {
  status: CacheStatus;
  /** Cosine similarity of a semantic hit. */
  similarity?: number;
  /** The cached `chat.completion` JSON, on a hit. */
  body?: string;
  /** The usage a hit replays (what its answer was billed with), for the access log. */
  usage?: UsageCounts;
  /** Value for the `x-gateway-cache` response header. */
  header: string;
  /** Present when the answer to this request may be stored. */
  readonly pending?: PendingStore;
  /** How long the lookup waited for identical requests' answers (cache.coalesce): part of the request's deadline. */
  waitedMs?: number;
}

/** How a lookup may wait for identical requests in flight (cache.coalesce). */
export interface CoalesceOptions {
  /** The client's: a request whose client has gone stops waiting. */
  signal?: AbortSignal;
  /**
   * False when this request's answer will not be stored whatever it is (a vendor's own answer on a
   * pass-through route): identical requests would wait for nothing, so none waits for it.
   */
  lead?: boolean;
  /** Told of each priced embedding call made for this request (its lookup's, or its store's): the request pays it. */
  embedded?: (call: EmbeddingCall) => void;
  /**
   * Told of a priced embedding its store makes (a request that skipped the lookup): made once the answer is
   * complete, it may end after the answer went out; the promise settles once it has been charged (`embedded`) or
   * has failed, so the request's access line can wait for it.
   */
  charging?: (charged: Promise<unknown>) => void;
}

/**
 * The usage an answer is billed with, from what its upstream reported (the gateway's accounting), the
 * deployment that answered (its id) and the service tier its answer said served it: what is stored with it, so a
 * hit replays and counts that, never counts the bill did not believe, and prices what it saved as that deployment
 * billed it, at that tier.
 */
export type BilledUsage = (reported: CompletionUsage | undefined) => {
  usage: CompletionUsage;
  estimated: boolean;
  deployment?: string;
  serviceTier?: string;
};

interface PendingStore {
  keys: CacheKeys;
  /** CacheScope.tenant: whose share of the cache the entry counts in. */
  tenant: string;
  /** Whose share of the embedder's queue its prompt takes: CacheScope.keyId, else the tenant. */
  caller: string;
  ttlSeconds: number;
  /** Set when the semantic layer applies; `vector` once embedded. */
  semanticPrompt?: string;
  vector?: Float32Array;
  /** CoalesceOptions.embedded and charging. */
  embedded?: (call: EmbeddingCall) => void;
  charging?: (charged: Promise<unknown>) => void;
  /** Set when identical requests wait for this one's answer (cache.coalesce). */
  settle?: Settle;
}

const BYPASS: CacheLookup = Object.freeze({ status: 'bypass', header: 'bypass' });
/**
 * How much of a waited-for stream is read ahead of its client, in entries' worth (maxEntryBytes): its SSE
 * is some tens of times the answer it assembles, so a stream whose client lags further is given up as
 * a lead (`lost`): one of its waiting requests takes over.
 */
const READ_AHEAD_ENTRIES = 16;

/**
 * How many leads a request waits for at most: after a lead that brought no answer one follower takes
 * over and the rest wait for it; after a second, the upstream is likely failing for everyone and each
 * request goes itself (it gets its own attempt, as without coalescing, rather than a third wait).
 */
const MAX_WAITS = 2;

/**
 * The least of its deadline a request that waited must have left to lead or go upstream itself (a quarter of
 * the deadline when that is shorter): with less, its attempt cannot finish in time (models take longer to
 * answer), yet the request would reach the upstream after its client was answered 504, a wasted and maybe
 * billed call. It fails with 504 deadline_exceeded instead, like one whose deadline passed while it waited.
 */
const MIN_ATTEMPT_MS = 250;

/** What a request that waited for identical ones in flight came away with. */
interface Coalesced {
  answer?: CachedAnswer;
  waitedMs?: number;
  /** Set when it leads: identical requests wait for its answer. */
  settle?: Settle;
}

/**
 * `outcome`, or `gone` once `signal` aborts or `ms` pass first: a request whose client has gone or whose
 * deadline has passed waits no longer.
 */
function untilGone(outcome: Promise<LeadOutcome>, signal: AbortSignal | undefined, ms: number): Promise<LeadOutcome | 'gone'> {
  if (signal?.aborted || ms <= 0) return Promise.resolve('gone');
  return new Promise((resolve) => {
    const gone = () => (clearTimeout(late), resolve('gone'));
    const late = setTimeout(gone, ms);
    signal?.addEventListener('abort', gone, { once: true });
    void outcome.then((value) => (clearTimeout(late), signal?.removeEventListener('abort', gone), resolve(value)));
  });
}
const READY_WAIT_MS = 2_000;
/** How often the vector index is looked at again: it can be dropped or swapped for another while the gateway runs. */
const INDEX_CHECK_MS = 10_000;
/** Defaults of cache.semantic.embeddingTimeoutMs (see SemanticCacheConfig). */
const OFFLINE_EMBEDDING_TIMEOUT_MS = 250;
const PROVIDER_EMBEDDING_TIMEOUT_MS = 1_000;

/**
 * The response cache: an exact layer (hash of the canonical request) and a semantic
 * layer (nearest earlier prompt of the same namespace, above a threshold, after the
 * guard). Backends: Redis with search (both layers), plain Redis (exact; semantic in
 * process) or in process only. Every backend call fails open.
 */
@Injectable()
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  readonly enabled: boolean;
  private readonly logger = new Logger('Cache');
  private readonly config: GatewayConfig['cache'];
  private readonly metrics: CacheMetrics;
  private readonly failOpen: FailOpen;
  private readonly embedded: EmbeddedBackend;
  private readonly redis?: RedisBackend;
  private readonly embedder?: Embedder;
  private readonly embeddingTimeoutMs: number;
  private readonly recent: RecentEmbeddings;
  /** By model group: the first priced deployment's (what a hit on an entry that names no deployment saved). */
  private readonly prices = new Map<string, Price>();
  /**
   * By deployment fingerprint (deploymentFingerprint), every configured one (undefined: no price, nothing saved):
   * what an entry names, so a hit is priced at the deployment that answered, wherever the config moved it since.
   */
  private readonly deploymentPrices = new Map<string, Price | undefined>();
  /** Deployment id -> fingerprint: what an entry is stored with. */
  private readonly fingerprints = new Map<string, string>();
  private readonly inFlight = new InFlight();
  private indexCheck?: NodeJS.Timeout;
  /** router.timeouts.deadlineMs: a request waits for identical ones within it. */
  private readonly deadlineMs: number;

  constructor(
    gateway: GatewayConfig,
    private readonly redisService: RedisService,
    metricsService: MetricsService,
    router: RouterService,
    executor: Executor,
  ) {
    this.config = gateway.cache;
    this.deadlineMs = gateway.router.timeouts.deadlineMs;
    this.enabled = this.config.enabled;
    this.metrics = new CacheMetrics(metricsService.registry);
    this.failOpen = new FailOpen(this.logger, this.metrics, this.config.redis.pauseAfterTimeoutMs);
    this.recent = new RecentEmbeddings(this.config.semantic.embeddingCacheSize);
    const maxBytes = this.config.embedded.maxMemoryMb * 1024 * 1024;
    this.embedded = new EmbeddedBackend(maxBytes, Date.now, maxBytes * this.config.tenantShare);
    for (const model of gateway.models) {
      const price = model.deployments.find((d) => d.price)?.price;
      if (price) this.prices.set(model.name, price);
    }
    for (const { id, fingerprint, config } of fingerprintedDeployments(gateway)) {
      this.fingerprints.set(id, fingerprint);
      // Two deployments of one fingerprint with different prices: the first one's, as for a group.
      if (!this.deploymentPrices.has(fingerprint)) this.deploymentPrices.set(fingerprint, config.price);
    }
    const semantic = this.config.semantic;
    this.embeddingTimeoutMs =
      semantic.embeddingTimeoutMs ?? (semantic.embeddingModel ? PROVIDER_EMBEDDING_TIMEOUT_MS : OFFLINE_EMBEDDING_TIMEOUT_MS);
    if (!this.enabled) return;

    if (semantic.enabled) {
      this.embedder = semantic.embeddingModel
        ? new ProviderEmbedder(semantic.embeddingModel, semantic.embeddingDimensions!, router, executor)
        : semantic.embedder === 'minilm'
          ? new MiniLmEmbedder(semantic.embeddingQueueSize, semantic.embedderLoadTimeoutMs)
          : new LocalUseEmbedder(semantic.embeddingQueueSize, semantic.embedderLoadTimeoutMs);
    }
    if (redisService.client) {
      const space = this.embedder?.id ?? 'exact';
      const r = this.config.redis;
      this.redis = new RedisBackend(
        redisService.client,
        {
          keyPrefix: `${r.keyPrefix}${space}:`,
          indexName: `${r.keyPrefix}idx:${space}`,
          dimensions: this.embedder?.dimensions ?? 0,
          maxEntries: r.maxEntries,
          tenantShare: Math.max(1, Math.floor(r.maxEntries * this.config.tenantShare)),
          hnswM: r.hnswM,
          hnswEfConstruction: r.hnswEfConstruction,
          hnswEfRuntime: r.hnswEfRuntime,
        },
        this.logger,
      );
    }
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    if (this.embedder instanceof WorkerEmbedder) {
      const started = Date.now();
      const embedder = this.embedder;
      embedder.loaded.then(
        () => {
          this.logger.log(`local embedder ${embedder.id} loaded in ${Date.now() - started} ms`);
          void embedder.stopped.then((why) => this.logger.error(`local embedder ${embedder.id}: ${why}; semantic caching is off`));
        },
        (err: Error) => this.logger.error(`${err.message}; semantic caching is off`),
      );
    }
    const client = this.redisService.client;
    if (!this.redis || !client) return;
    // Detect the search module now and after every reconnect (the server may have changed).
    client.on('ready', () => void this.prepareRedis());
    if (client.status !== 'ready') await Promise.race([once(client, 'ready'), sleep(READY_WAIT_MS)]).catch(() => {});
    if (client.status === 'ready') await this.prepareRedis();
    if (this.embedder) {
      this.indexCheck = setInterval(() => client.status === 'ready' && void this.prepareRedis(), INDEX_CHECK_MS);
      this.indexCheck.unref();
    }
  }

  /** The semantic layer's embedder (undefined without that layer): readiness waits while it is `loading`. */
  get embedderState(): EmbedderState | undefined {
    return this.embedder?.state;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.indexCheck);
    this.embedded.close();
    await this.embedder?.close();
  }

  /**
   * Whose cache a request uses: with `scope: key` its gateway key id (`anonymous` when
   * auth is off), so callers with different keys never share answers; with `shared`, everyone.
   */
  scope(keyId: string, modelGroup: string, extras?: Record<string, unknown>): CacheScope {
    return { tenant: this.config.scope === 'shared' ? 'shared' : `key:${keyId}`, keyId, modelGroup, extras };
  }

  /** Finds a cached answer for the request. Never throws: a broken backend is a miss. */
  async lookup(
    request: ChatCompletionCreateParams,
    scope: CacheScope,
    controls: CacheControls = DEFAULT_CONTROLS,
    coalesce: CoalesceOptions = {},
  ): Promise<CacheLookup> {
    const started = performance.now();
    if (!this.enabled || !cacheableRequest(request, this.config) || (!controls.lookup && !controls.store)) {
      return this.finish(started, BYPASS);
    }
    const semantic = this.config.semantic;
    const keys = cacheKeys(request, scope, semantic.maxPromptChars);
    const pending: PendingStore = {
      keys,
      tenant: scope.tenant,
      caller: scope.keyId ?? scope.tenant,
      ttlSeconds: Math.min(controls.ttlSeconds ?? this.config.ttlSeconds, this.config.maxTtlSeconds),
      embedded: coalesce.embedded,
      charging: coalesce.charging,
    };
    // While the embedder loads the prompt still goes to it, to be refused at once and counted (`loading`).
    if (this.embedder && this.embedder.state !== 'failed' && keys.prompt) pending.semanticPrompt = keys.prompt;
    const stored = controls.store ? pending : undefined;
    if (!controls.lookup) return this.finish(started, { status: 'bypass', header: 'bypass', pending: stored });

    const exact = await this.call(this.exactBackend(), 'get', (b) => b.get(keys.exact), undefined);
    if (exact && servableAnswer(exact.body, this.config))
      return this.finish(started, { status: 'hit-exact', header: 'hit-exact', body: exact.body }, exact, scope);
    const { answer, waitedMs, settle } = this.config.coalesce
      ? await this.coalesce(keys.exact, coalesce.signal, stored !== undefined && coalesce.lead !== false)
      : ({} as Coalesced);
    if (answer) return this.finish(started, { status: 'hit-coalesced', header: 'hit-coalesced', body: answer.body }, answer, scope);
    pending.settle = settle;

    if (pending.semanticPrompt) {
      // A client may make matching stricter, never looser: with scope shared, a lower threshold would
      // serve it other tenants' answers to unrelated prompts.
      const hit = await this.semanticLookup(pending, Math.max(controls.threshold ?? 0, semantic.threshold));
      if (hit) {
        pending.settle?.(hit.answer);
        const similarity = Math.round(hit.similarity * 1000) / 1000;
        const header = `hit-semantic; similarity=${similarity}`;
        return this.finish(started, { status: 'hit-semantic', header, similarity, body: hit.answer.body }, hit.answer, scope);
      }
    }
    return this.finish(started, { status: 'miss', header: 'miss', pending: stored, waitedMs });
  }

  /**
   * Stores the answer to a missed request when policy allows, with the usage it was billed with
   * (`billed`, from the upstream's `reported` usage). Never rejects: it runs after the answer went out,
   * unawaited, and a rejection there (a TypeError on an answer of a shape no check foresaw) ended the
   * process. Such a failure stores nothing, frees the requests waiting for the answer, and is logged.
   * `limitOwn`: see cacheableCompletion.
   */
  async store(
    lookup: CacheLookup,
    completion: string | Uint8Array,
    reported?: CompletionUsage,
    billed?: BilledUsage,
    limitOwn = true,
  ): Promise<void> {
    try {
      await this.storeAnswer(lookup, completion, reported, billed, limitOwn);
    } catch (err) {
      this.release(lookup, 'unshareable');
      this.metrics.offered('failed');
      this.logger.warn(`storing an answer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  private async storeAnswer(
    lookup: CacheLookup,
    completion: string | Uint8Array,
    reported: CompletionUsage | undefined,
    billed: BilledUsage | undefined,
    limitOwn: boolean,
  ) {
    const pending = lookup.pending;
    if (!pending) return;
    const bill = billed?.(reported);
    const body = bill?.estimated ? withUsage(bodyText(completion), bill.usage) : bodyText(completion);
    // In bytes, as the setting says: what Redis and memory hold (a CJK character is three of them).
    const tooLarge = Buffer.byteLength(body) > this.config.maxEntryBytes;
    const verdict = tooLarge ? undefined : cacheableCompletion(body, this.config, undefined, limitOwn);
    const counted = verdict && { promptTokens: verdict.promptTokens, completionTokens: verdict.completionTokens };
    const usage =
      counted && bill
        ? {
            promptTokens: bill.usage.prompt_tokens,
            completionTokens: bill.usage.completion_tokens ?? 0,
            usage: bill.usage,
            ...(bill.deployment !== undefined && { deployment: this.fingerprints.get(bill.deployment) }),
            // A tier's name only (isTierName): the upstream's string is kept with every entry.
            ...(bill.serviceTier !== undefined && isTierName(bill.serviceTier) && { tier: bill.serviceTier }),
          }
        : counted;
    // Before any write: the requests waiting for this answer need not wait for Redis or the embedder.
    pending.settle?.(usage ? { body, ...usage } : 'unshareable');
    if (!usage) return this.metrics.offered(tooLarge ? 'too_large' : 'not_cacheable');
    if (pending.semanticPrompt && !pending.vector) {
      const embedding = this.embed(pending.semanticPrompt, pending);
      if (this.embedder instanceof ProviderEmbedder) pending.charging?.(embedding);
      pending.vector = await embedding;
    }
    const entry = {
      namespace: pending.keys.namespace,
      tenant: pending.tenant,
      body,
      ...usage,
      ...(pending.vector ? { prompt: pending.semanticPrompt, vector: pending.vector } : {}),
    };
    const ttlSeconds = keptSeconds(pending.ttlSeconds, verdict?.expiresAt);
    const put = (backend: CacheBackend) =>
      this.call(backend, 'put', (b) => b.put(pending.keys.exact, entry, ttlSeconds).then(() => true), false);
    const exact = this.exactBackend();
    let stored = await put(exact);
    const semantic = this.semanticBackend();
    if (entry.vector && semantic !== exact) stored = (await put(semantic)) && stored;
    // Counted by the outcome: a write Redis refused (maxmemory, an outage) stored nothing.
    this.metrics.offered(stored ? 'stored' : 'failed');
  }

  /**
   * The request will store no answer: it failed or was cut short (`lost`: one identical request waiting
   * for it takes over, the rest wait for that one), or its answer may not be shared (`unshareable`, a
   * vendor's own: they all go upstream). Safe to call more than once, and after store().
   */
  release(lookup: CacheLookup, outcome: 'lost' | 'unshareable' = 'lost'): void {
    lookup.pending?.settle?.(outcome);
  }

  /**
   * Passes a streamed answer through unchanged and, once it has ended complete
   * (`[DONE]`, no error), stores the completion assembled from its chunks (`limitOwn`: see cacheableCompletion).
   */
  recordStream(lookup: CacheLookup, stream: ChatStream, billed?: BilledUsage, limitOwn = true): ChatStream {
    if (!lookup.pending) return stream;
    const collector = new SseChunkCollector(this.config.maxEntryBytes);
    const store = (body: string) => this.store(lookup, body, stream.usage, billed, limitOwn);
    // Requests wait for this one: its answer is read at the upstream's pace, not its client's.
    const source = lookup.pending.settle
      ? readAhead(stream, READ_AHEAD_ENTRIES * this.config.maxEntryBytes, () => this.release(lookup))
      : stream;
    const recorded: ChatStream = {
      runningUsage: stream.runningUsage,
      [Symbol.asyncIterator]: () =>
        mapStream(source, {
          step: (chunk) => {
            collector.push(chunk);
            return [chunk];
          },
          end: () => {
            recorded.usage = stream.usage;
            if (collector.tooLarge) {
              this.release(lookup, 'unshareable');
              this.metrics.offered('too_large');
            } else if (collector.complete) {
              // The usage event the gateway asked for was cut out before the client (and the collector) saw it.
              const completion = collector.completion();
              if (!completion.usage && stream.usage) completion.usage = clientUsage(stream.usage);
              void store(JSON.stringify(completion));
            }
            return [];
          },
        }),
    };
    return recorded;
  }

  /**
   * Waits for identical requests in flight (cache.coalesce): their answer, or this request's lead when
   * none is in flight and it may lead. After a lead that brought no answer (`lost`) the first follower
   * to resume leads (the lead is gone by then) and the rest wait for it: N identical requests after a
   * failed one make one more upstream call, not N. MAX_WAITS leads at most, within deadlineMs; one whose
   * client left or whose deadline passed, or nearly (MIN_ATTEMPT_MS), stops waiting and leads nothing.
   */
  private async coalesce(key: string, signal: AbortSignal | undefined, mayLead: boolean): Promise<Coalesced> {
    let waitedMs: number | undefined;
    for (let waits = 0; ; waits++) {
      const earlier = this.inFlight.outcomeOf(key);
      if (!earlier) return { waitedMs, settle: mayLead ? this.inFlight.lead(key) : undefined };
      if (waits === MAX_WAITS) return { waitedMs };
      const waitStarted = performance.now();
      this.metrics.waiting.inc();
      const outcome = await untilGone(earlier, signal, this.deadlineMs - (waitedMs ?? 0));
      this.metrics.waiting.dec();
      waitedMs = (waitedMs ?? 0) + performance.now() - waitStarted;
      if (typeof outcome === 'object') return { answer: outcome, waitedMs };
      if (signal?.aborted) return { waitedMs };
      // The lead ended a few ms before this one's deadline (its own timer not yet fired): too late to go upstream.
      const tooLate = this.deadlineMs - waitedMs < Math.min(MIN_ATTEMPT_MS, this.deadlineMs / 4);
      // The whole deadline, whatever the timer's jitter: the executor then fails it without an attempt.
      if (outcome === 'gone' || tooLate) return { waitedMs: Math.max(waitedMs, this.deadlineMs) };
      if (outcome === 'unshareable') return { waitedMs };
    }
  }

  /** The backend for the semantic layer: Redis when it has the search module, else in process. */
  private semanticBackend(): CacheBackend {
    return this.redis?.searchAvailable ? this.redis : this.embedded;
  }

  private exactBackend(): CacheBackend {
    return this.redis ?? this.embedded;
  }

  private async semanticLookup(
    pending: PendingStore,
    threshold: number,
  ): Promise<{ answer: CachedAnswer; similarity: number } | undefined> {
    const prompt = pending.semanticPrompt!;
    pending.vector = await this.embed(prompt, pending);
    if (!pending.vector) {
      // The embedder failed, is saturated or still loading: storing must not queue the prompt again.
      pending.semanticPrompt = undefined;
      return undefined;
    }
    const backend = this.semanticBackend();
    const neighbours = await this.call(
      backend,
      'search',
      (b) => b.nearest(pending.keys.namespace, pending.vector!, this.config.semantic.candidates),
      [],
    );
    if (!neighbours.length) return undefined;
    this.metrics.similarity.observe(neighbours[0].similarity);
    const { guard: guarded, substitutionThreshold } = this.config.semantic;
    const guard = guarded ? guardFor(prompt) : undefined;
    for (const neighbour of neighbours) {
      if (neighbour.similarity < threshold) break;
      const refused = guard?.(neighbour.prompt, neighbour.similarity, substitutionThreshold);
      if (refused) {
        this.metrics.rejected(refused);
        continue;
      }
      const answer = await this.call(backend, 'get', (b) => b.get(neighbour.key), undefined);
      if (answer && servableAnswer(answer.body, this.config)) return { answer, similarity: neighbour.similarity };
    }
    return undefined;
  }

  /**
   * The prompt's unit vector, or undefined when the embedder fails, is saturated, still loading or does
   * not answer within embeddingTimeoutMs (counted; logged, rate-limited, but for a refusal by design): a
   * semantic layer slower than the traffic must not queue every request behind it.
   */
  private async embed(text: string, { embedded, caller }: PendingStore): Promise<Float32Array | undefined> {
    const known = this.recent.get(text);
    if (known) return known;
    const started = performance.now();
    const vector = await this.failOpen.run(
      'embedder',
      'embed',
      undefined,
      () => this.embedder!.embed(text, AbortSignal.timeout(this.embeddingTimeoutMs), embedded, caller),
      undefined,
    );
    if (!vector) return undefined;
    this.metrics.embeddingSeconds.observe((performance.now() - started) / 1000);
    this.recent.set(text, vector);
    return vector;
  }

  private call<T>(backend: CacheBackend, operation: string, work: (b: CacheBackend) => Promise<T>, fallback: T): Promise<T> {
    const budget = backend.name === 'redis' ? this.config.redis.timeoutMs : undefined;
    return this.failOpen.run(backend.name, operation, budget, () => work(backend), fallback);
  }

  private async prepareRedis(): Promise<void> {
    await this.failOpen.run('redis', 'prepare', READY_WAIT_MS, () => this.redis!.prepare(), undefined);
  }

  private finish(started: number, lookup: CacheLookup, saved?: CachedAnswer, scope?: CacheScope): CacheLookup {
    // Labelled as x-gateway-cache and the access line say it: one spelling of a result everywhere.
    this.metrics.lookedUp(lookup.status, (performance.now() - started) / 1000);
    if (!saved || !scope) return lookup;
    const usage = savedUsage(saved);
    this.recordSavings(usage, scope.modelGroup, saved.deployment, saved.tier);
    return { ...lookup, usage };
  }

  /**
   * What a hit saved: its answer's billed usage, priced as the bill prices it (costOf), at the deployment that
   * answered it, in the service tier that served it (`tier`; an entry stored before it was kept: the standard price); for an entry that names none (stored before it was kept), one no longer configured or one an earlier
   * release stored (by `<group>/<index>`, which a config change may have given to another), at the group's first
   * priced deployment.
   */
  private recordSavings(usage: UsageCounts, modelGroup: string, deployment: string | undefined, tier: string | undefined): void {
    this.metrics.savedTokens.labels('prompt').inc(usage.prompt_tokens);
    this.metrics.savedTokens.labels('completion').inc(usage.completion_tokens ?? 0);
    const price =
      deployment !== undefined && this.deploymentPrices.has(deployment)
        ? this.deploymentPrices.get(deployment)
        : this.prices.get(modelGroup);
    const usd = price ? costOf(usage, price, tier).usd : 0;
    // A counter throws on a negative or non-finite increment: never on a request's path.
    if (usd > 0 && Number.isFinite(usd)) this.metrics.savedUsd.inc(usd);
  }
}

const count = (n: unknown): number => (Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0);

/**
 * A hit's usage: the billed usage it was stored with, else (an entry stored before that was kept) its
 * answer's counts. Any count that is not one (an entry stored while the gateway still kept the
 * upstream's malformed usage) is 0: a counter throws on a negative or non-finite one.
 */
function savedUsage(answer: CachedAnswer): UsageCounts {
  const u = answer.usage;
  if (!u) return { prompt_tokens: count(answer.promptTokens), completion_tokens: count(answer.completionTokens) };
  return {
    prompt_tokens: count(u.prompt_tokens),
    completion_tokens: count(u.completion_tokens),
    prompt_tokens_details: {
      cached_tokens: count(u.prompt_tokens_details?.cached_tokens),
      cache_write_tokens: count(u.prompt_tokens_details?.cache_write_tokens),
    },
    completion_tokens_details: { reasoning_tokens: count(u.completion_tokens_details?.reasoning_tokens) },
    cache_write_1h_tokens: count(u.cache_write_1h_tokens),
  };
}

/** The completion JSON with `usage` in place of its own (the client's view of it: clientUsage); as it is when not JSON (never stored). */
function withUsage(body: string, usage: CompletionUsage): string {
  try {
    return JSON.stringify({ ...(JSON.parse(body) as object), usage: clientUsage(usage) });
  } catch {
    return body;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
