import Anthropic from '@anthropic-ai/sdk';
import type { ProviderConfig } from '@gateway/config';

const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/**
 * The official SDK, built once per provider: base URL from config (tests point it at
 * a fake on 127.0.0.1), no SDK retries (the router retries and fails over), and the
 * provider's pooled transport as its fetch.
 */
export function anthropicClient(config: ProviderConfig, apiKey: string | undefined, fetch: typeof globalThis.fetch): Anthropic {
  return new Anthropic({
    apiKey,
    baseURL: config.baseUrl ?? ANTHROPIC_BASE_URL,
    maxRetries: 0,
    timeout: config.timeoutMs,
    fetch,
    defaultHeaders: config.headers,
  });
}
