import type { Pool } from 'undici';
import type { ProviderConfig } from '@gateway/config';

/** Idle upstream connections are kept this long for reuse. */
const KEEP_ALIVE_MS = 30_000;

/**
 * Keep-alive pool settings for one provider's upstream, the same whichever client
 * uses them (OpenAI-format pass-through, or the vendor SDKs' fetch).
 */
export function upstreamPoolOptions(config: ProviderConfig): Pool.Options {
  return {
    connections: config.maxConnections,
    connect: { timeout: config.connectTimeoutMs },
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
  };
}
