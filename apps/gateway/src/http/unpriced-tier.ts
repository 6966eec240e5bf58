import { Logger } from '@nestjs/common';
import { isTierName } from '@gateway/config';
import { isUnpricedTier, type MetricsService } from '@gateway/metrics';
import type { RequestState } from './request-state';

const logger = new Logger('Cost');
/** Deployment and tier pairs warned of, once each; bounded, as the names are the upstreams' (MAX_PAIRS). */
const warned = new Set<string>();
/**
 * Past this many pairs, further ones count under tier `other`, unlogged, as a name no tier has (isTierName) does: an
 * upstream naming a new tier per answer grows neither the set nor the scrape.
 */
const MAX_PAIRS = 100;

/**
 * Tells the operator of an answer served in a tier its deployment's price does not set (isUnpricedTier), which the
 * bill priced at the deployment's dearest configured rates: a warning once per deployment and tier, and
 * `gateway_unpriced_tier_answers_total` for each such answer.
 */
export function noteUnpricedTier(state: RequestState, metrics: MetricsService): void {
  const tier = state.served?.serviceTier;
  if (!state.deployment || !state.price || !isUnpricedTier(state.price, tier)) return;
  const pair = `${state.deployment}\n${tier}`;
  if (isTierName(tier) && !warned.has(pair) && warned.size < MAX_PAIRS) {
    warned.add(pair);
    logger.warn(
      `${state.deployment} answered in service tier ${JSON.stringify(tier)}, which its price.tiers does not set: billed at its dearest ` +
        `configured rates until price.tiers.${tier} is set (logged once for this deployment and tier)`,
    );
  }
  metrics.recordUnpricedTier(state.deployment, warned.has(pair) ? tier : 'other');
}
