import type { Strategy } from '@gateway/config';
import { ratesFor } from '@gateway/metrics';
import type { LatencyTracker } from './latency-tracker';
import type { Deployment } from './model-catalog';
import type { RequestProfile } from './request-profile';

export interface StrategyContext {
  profile: RequestProfile;
  latency: LatencyTracker;
  exploreRate: number;
  random: () => number;
}

/** Orders eligible deployments into the plan: first is tried first, the rest are fallbacks. */
type Order = (deployments: Deployment[], ctx: StrategyContext) => Deployment[];

/** Output tokens assumed for cost when the request sets no limit (README, Routing: why eligibility and budget holds assume others). */
const DEFAULT_OUTPUT_TOKENS = 512;

export const STRATEGY_ORDER: Record<Strategy, Order> = {
  priority: (deployments) => deployments,
  weighted: (deployments, { random }) => weightedShuffle(deployments, random),
  latency: (deployments, ctx) => {
    const kind = ctx.profile.stream ? 'ttft' : 'total';
    // Never-measured deployments sort first, so each gets measured; exploration re-measures the slower ones.
    const sorted = [...deployments].sort((a, b) => (ctx.latency.get(a.id, kind) ?? -1) - (ctx.latency.get(b.id, kind) ?? -1));
    if (sorted.length > 1 && ctx.random() < ctx.exploreRate) {
      const pick = 1 + Math.floor(ctx.random() * (sorted.length - 1));
      sorted.unshift(...sorted.splice(pick, 1));
    }
    return sorted;
  },
  cost: (deployments, { profile }) => [...deployments].sort((a, b) => estimatedCost(a, profile) - estimatedCost(b, profile)),
};

/** USD for this request on this deployment (its completion budget once per choice, as budget holds count it); unpriced deployments sort last. */
export function estimatedCost(d: Deployment, profile: RequestProfile): number {
  const price = d.config.price;
  if (!price) return Number.POSITIVE_INFINITY;
  const output = (profile.maxTokens ?? DEFAULT_OUTPUT_TOKENS) * profile.choices;
  const rates = ratesFor(price, profile.promptTokens);
  return (profile.promptTokens * rates.input + output * rates.output) / 1e6;
}

/**
 * The plan with the deployments that declare every capability the request wants first, each part
 * in the strategy's order; the others stay after them as fallbacks (RequestProfile.wants).
 */
export function preferDeclaring(deployments: Deployment[], wants: RequestProfile['wants']): Deployment[] {
  if (!wants.length) return deployments;
  const declares = (d: Deployment) => wants.every((c) => d.config.capabilities?.includes(c));
  return [...deployments.filter(declares), ...deployments.filter((d) => !declares(d))];
}

/** Weighted random order without replacement: each pick is proportional to the remaining weights. */
function weightedShuffle(deployments: Deployment[], random: () => number): Deployment[] {
  const pool = [...deployments];
  const order: Deployment[] = [];
  while (pool.length) {
    const total = pool.reduce((sum, d) => sum + d.config.weight, 0);
    let r = random() * total;
    let index = pool.findIndex((d) => (r -= d.config.weight) < 0);
    if (index < 0) index = pool.length - 1;
    order.push(...pool.splice(index, 1));
  }
  return order;
}
