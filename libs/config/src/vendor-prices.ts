import type { GatewayConfig, ProviderType } from './gateway-config';

/**
 * Prices a vendor derives from the input price, as multiples of it: Anthropic bills prompt
 * tokens written to its 5-minute cache at 1.25x input and to its 1-hour cache at 2x
 * (docs.anthropic.com, prompt caching pricing). Other vendors' cache writes cost plain input
 * unless the deployment's price says otherwise.
 */
const CACHE_WRITE_RATES: Partial<Record<ProviderType, { cacheWrite: number; cacheWrite1h: number }>> = {
  anthropic: { cacheWrite: 1.25, cacheWrite1h: 2 },
};

/** Fills the cache-write prices a deployment's file entry leaves unset with its vendor's rates. */
export function applyVendorPrices(config: GatewayConfig): void {
  const types = new Map(config.providers.map((p) => [p.name, p.type]));
  for (const model of config.models) {
    for (const { provider, price } of model.deployments) {
      const rates = CACHE_WRITE_RATES[types.get(provider)!];
      if (!price || !rates) continue;
      price.cacheWrite ??= price.input * rates.cacheWrite;
      price.cacheWrite1h ??= price.input * rates.cacheWrite1h;
    }
  }
}
