import type { GatewayConfig, ProviderType } from './gateway-config';

type DerivedPrice = 'cachedInput' | 'cacheWrite' | 'cacheWrite1h';
type VendorFee = 'webSearch';

/**
 * Prices a vendor derives from the input price, as multiples of it: Anthropic bills prompt
 * tokens read from its cache at 0.1x input, written to its 5-minute cache at 1.25x and to
 * its 1-hour cache at 2x (docs.anthropic.com, prompt caching pricing). Other vendors' cache
 * reads and writes cost plain input unless the deployment's price says otherwise.
 */
const VENDOR_RATES: Partial<Record<ProviderType, Record<DerivedPrice, number>>> = {
  anthropic: { cachedInput: 0.1, cacheWrite: 1.25, cacheWrite1h: 2 },
};

/**
 * Prices a vendor charges whatever the model: Anthropic bills its web_search server tool at
 * USD 10 per 1,000 searches (docs.anthropic.com, web search tool pricing), on top of tokens.
 */
const VENDOR_FEES: Partial<Record<ProviderType, Record<VendorFee, number>>> = {
  anthropic: { webSearch: 10 },
};

/** Fills the cache and tool prices a deployment's file entry leaves unset (its long-context tier's cache prices too) with its vendor's. */
export function applyVendorPrices(config: GatewayConfig): void {
  const types = new Map(config.providers.map((p) => [p.name, p.type]));
  for (const model of config.models) {
    for (const { provider, price } of model.deployments) {
      const type = types.get(provider)!;
      if (!price) continue;
      for (const prices of price.longContext ? [price, price.longContext] : [price]) {
        for (const [field, rate] of Object.entries(VENDOR_RATES[type] ?? {}) as [DerivedPrice, number][])
          prices[field] ??= prices.input * rate;
      }
      for (const [field, usd] of Object.entries(VENDOR_FEES[type] ?? {}) as [VendorFee, number][]) price[field] ??= usd;
    }
  }
}
