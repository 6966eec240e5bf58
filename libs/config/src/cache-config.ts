import 'reflect-metadata';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Nested } from './nested';

/**
 * The semantic layer: an embedding of the last user message, searched among earlier
 * prompts of the same namespace. Defaults come from bench/cache-guard.ts (see
 * BENCHMARKS.md, "Semantic cache: hit and false-hit rates").
 */
export class SemanticCacheConfig {
  @IsOptional() @IsBoolean() enabled = true;
  /**
   * Cosine similarity at or above which a neighbour may be served (after the guard). It depends on
   * the embedder: 0.85 was chosen on the tuning data for both offline ones (USE lite, MiniLM); recalibrate
   * with bench/cache-guard.ts for another.
   */
  @IsOptional() @IsNumber() @Min(0) @Max(1) threshold = 0.85;
  /**
   * A neighbour that swaps a content word for one the query does not have ("protect" / "see my
   * credit score") is served only at or above this similarity (1.01, the default: never). USE lite
   * scores one-word opposites (keep/discard, approve/reject) at 0.95–0.99, so no similarity makes
   * a swapped word safe; 1.01 served fewer false hits on both tuning files (bench/cache-guard.ts).
   */
  @IsOptional() @IsNumber() @Min(0) @Max(1.01) substitutionThreshold = 1.01;
  /** The lexical second check (numbers, units, negation, entities, direction, question kind, substitutions). Off only for experiments. */
  @IsOptional() @IsBoolean() guard = true;
  /** Neighbours fetched per lookup; the most similar one that passes the guard is served. */
  @IsOptional() @IsInt() @Min(1) @Max(32) candidates = 3;
  /**
   * The offline embedder (when `embeddingModel` is unset): `use` = Universal Sentence Encoder lite
   * shipped as npm packages; `minilm` = all-MiniLM-L6-v2 on onnxruntime-node, model files installed
   * by scripts/minilm-model.sh (see BENCHMARKS.md for both, and pick `threshold` to match).
   */
  @IsOptional() @IsIn(['use', 'minilm']) embedder: 'use' | 'minilm' = 'use';
  /**
   * A configured embedding model group (e.g. text-embedding-3-small) called through the
   * providers; unset = the offline `embedder`.
   */
  @IsOptional() @IsString() embeddingModel?: string;
  /** Vector size requested from `embeddingModel` (required with it; it names the Redis index). */
  @IsOptional() @IsInt() @Min(8) @Max(8192) embeddingDimensions?: number;
  /** Prompts longer than this are cached exactly only: a long text's embedding blurs its details. */
  @IsOptional() @IsInt() @Min(1) maxPromptChars = 2_000;
  /** Recent embeddings kept in process, by text. */
  @IsOptional() @IsInt() @Min(0) embeddingCacheSize = 1_000;
  /**
   * Longest a request waits for its prompt's embedding, queue included; past it the request skips
   * the semantic layer (lookup and store) and goes on as a miss. Unset: 250 ms for the offline
   * embedder (10 queued prompts and a running batch of 10, at USE lite's ~80–90 prompts/s batched),
   * 1,000 ms with `embeddingModel` (a network round trip).
   */
  @IsOptional() @IsInt() @Min(1) @Max(60_000) embeddingTimeoutMs?: number;
  /**
   * Prompts that may wait for the offline embedder besides the batch it is running; a prompt beyond
   * them skips the semantic layer at once. At ~80–90 prompts/s, 10 drain in about 120 ms.
   */
  @IsOptional() @IsInt() @Min(1) @Max(10_000) embeddingQueueSize = 10;
  /**
   * Longest the offline embedder may take to load its model (about a second on one core); past it the
   * load counts as failed: the worker is stopped and the replica is ready without the semantic layer,
   * as when the model cannot load, so a worker that hangs cannot keep a pod unready for ever.
   */
  @IsOptional() @IsInt() @Min(1_000) @Max(600_000) embedderLoadTimeoutMs = 60_000;
}

/** Redis (Stack) backend, used when REDIS_URL is set. */
export class RedisCacheConfig {
  /** Prefix of every key the cache writes. */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9:_.-]+$/) keyPrefix = 'gw:cache:';
  /** Budget of one Redis call; slower (or down) = the request goes upstream uncached. */
  @IsOptional() @IsInt() @Min(1) @Max(10_000) timeoutMs = 50;
  /**
   * After a call runs out of `timeoutMs`, how long the cache goes on without Redis before trying it again
   * (0: never pause): a hung Redis otherwise cost every request its budget twice, lookup and store.
   */
  @IsOptional() @IsInt() @Min(0) @Max(600_000) pauseAfterTimeoutMs = 1_000;
  /**
   * Entries kept at most. Past it the tenant holding the most gives its entry closest to expiry while it holds more
   * than its share (cache.tenantShare), else the entry closest to expiry of all goes.
   */
  @IsOptional() @IsInt() @Min(1) maxEntries = 100_000;
  /** HNSW graph parameters of the vector index (RediSearch `M`, `EF_CONSTRUCTION`, `EF_RUNTIME`). */
  @IsOptional() @IsInt() @Min(2) @Max(512) hnswM = 16;
  @IsOptional() @IsInt() @Min(1) @Max(4096) hnswEfConstruction = 200;
  @IsOptional() @IsInt() @Min(1) @Max(4096) hnswEfRuntime = 64;
}

/** In-process backend, used without Redis (and for the semantic layer of a Redis without search). */
export class EmbeddedCacheConfig {
  /**
   * Approximate memory for entries (answers, prompts, vectors). Past it the tenant holding the most gives its least
   * recently used while it holds more than its share (cache.tenantShare), else the least recently used of all goes.
   */
  @IsOptional() @IsInt() @Min(1) maxMemoryMb = 256;
}

export class CacheConfig {
  /** Off when the section is absent; the shipped config/gateway.yaml turns it on. */
  @IsOptional() @IsBoolean() enabled = false;
  /** Who may receive an answer cached for someone else: `key` = callers with the same API key; `shared` = every caller (one-tenant set-ups). */
  @IsOptional() @IsIn(['key', 'shared']) scope: 'key' | 'shared' = 'key';
  @IsOptional() @IsInt() @Min(1) ttlSeconds = 3_600;
  /** Upper bound for the per-request `x-gateway-cache-ttl` header. */
  @IsOptional() @IsInt() @Min(1) maxTtlSeconds = 86_400;
  /**
   * The part of each store a tenant (the cache scope: a gateway key with `scope: key`) keeps before others when the
   * store is full: of redis.maxEntries in Redis (at least one entry), of embedded.maxMemoryMb in process. A full
   * store takes room from the tenant holding the most while it holds more than this, so one key storing many (or
   * long-lived) answers pushes out its own, not the others'; a tenant may hold more while there is room.
   */
  @IsOptional() @IsNumber() @Min(0) @Max(1) tenantShare = 0.1;
  /** Requests with a higher `temperature` are neither served from nor stored in the cache (unset counts as 1). */
  @IsOptional() @IsNumber() @Min(0) @Max(2) maxTemperature = 1;
  /**
   * Cache requests that send an image by URL (keyed by the URL, not what it serves). Off, they bypass the cache:
   * the vendor fetches the URL when it answers, and a URL whose picture changed would be answered about the old one.
   */
  @IsOptional() @IsBoolean() remoteMediaUrls = false;
  /** Cache answers that are tool calls (finish_reason `tool_calls`). */
  @IsOptional() @IsBoolean() toolCallResponses = false;
  /** Answers larger than this many bytes (UTF-8 JSON of the completion, streamed ones assembled) are not stored. */
  @IsOptional() @IsInt() @Min(1024) maxEntryBytes = 256 * 1024;
  /**
   * An identical request (same exact key: tenant, model group, messages, parameters) arriving while
   * an earlier one is still on its way upstream waits for that answer instead of calling the upstream
   * too. Per replica; a streamed request waiting so gets the whole answer at once when it is complete.
   */
  @IsOptional() @IsBoolean() coalesce = true;
  @IsOptional() @Nested(() => SemanticCacheConfig) semantic: SemanticCacheConfig = new SemanticCacheConfig();
  @IsOptional() @Nested(() => RedisCacheConfig) redis: RedisCacheConfig = new RedisCacheConfig();
  @IsOptional() @Nested(() => EmbeddedCacheConfig) embedded: EmbeddedCacheConfig = new EmbeddedCacheConfig();
}
