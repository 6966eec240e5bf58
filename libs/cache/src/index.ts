export * from './cache.module';
export * from './cache.service';
export { type CacheScope, canonicalJson } from './cache-keys';
export * from './controls';
export { replayAsStream, withFreshId } from './sse';
export type { EmbeddingCall } from './embedders/embedder';
