import { ANONYMOUS_KEY_ID, type GatewayConfig, MASTER_KEY_ID, OTHER_KEYS_LABEL } from '@gateway/config';

/**
 * The `key` label value of a key's per-key series under `metrics.keyLabel` (metrics-config.ts). The
 * default keeps the series bounded by the config: keys made through the admin API, as many as an
 * operator creates, share one value, so a scrape's size (built in one go on the event loop) does
 * not grow with keys × models.
 */
export function keyLabeller(config: GatewayConfig): (keyId: string) => string {
  const { keyLabel } = config.metrics;
  if (keyLabel === 'all') return (keyId) => keyId;
  // An empty label value is no label in Prometheus: one series per provider and model.
  if (keyLabel === 'none') return () => '';
  const named = new Set([MASTER_KEY_ID, ANONYMOUS_KEY_ID, ...config.security.keys.map((k) => k.id)]);
  return (keyId) => (named.has(keyId) ? keyId : OTHER_KEYS_LABEL);
}
