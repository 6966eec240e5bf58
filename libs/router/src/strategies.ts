import type { Strategy } from '@gateway/config';
import { costOf } from '@gateway/metrics';
import type { LatencyTracker } from './latency-tracker';
import type { Deployment } from './model-catalog';
import type { RequestProfile } from './request-profile';
import type { Shares, UsageShares } from './usage-shares';

export interface StrategyContext {
  profile: RequestProfile;
  latency: LatencyTracker;
  shares: UsageShares;
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
  cost: (deployments, { profile, shares }) => {
    let prior: Shares | undefined;
    const ranked = deployments.map((d) => ({
      d,
      usd: estimatedCost(d, profile, shares.get(d.id) ?? (prior ??= priorShares(deployments, shares, profile))),
    }));
    // Stable: equal costs keep the configured order.
    return ranked.sort((a, b) => a.usd - b.usd).map((r) => r.d);
  },
};

/**
 * USD for this request on this deployment, billed as costOf bills an answer: its completion budget once per choice
 * (as budget holds count it), its prompt and completion split as `shares` say (the deployment's recent answers'
 * cached, cache-written and reasoning parts), at the service tier's prices the request asks for (askedTier). Unpriced deployments sort last.
 */
export function estimatedCost(d: Deployment, profile: RequestProfile, shares: Shares): number {
  const price = d.config.price;
  if (!price) return Number.POSITIVE_INFINITY;
  const prompt = profile.promptTokens;
  const completion = (profile.maxTokens ?? DEFAULT_OUTPUT_TOKENS) * profile.choices;
  const part = (share: number, of: number) => Math.round(share * of);
  return costOf(
    {
      prompt_tokens: prompt,
      completion_tokens: completion,
      prompt_tokens_details: { cached_tokens: part(shares.cached, prompt), cache_write_tokens: part(shares.writes, prompt) },
      cache_write_1h_tokens: part(shares.writes1h, prompt),
      completion_tokens_details: { reasoning_tokens: part(shares.reasoning, completion) },
    },
    price,
    askedTier(d, profile),
  ).usd;
}

/**
 * The tier the request asks `d` for: fast mode where it asks for it (a Messages body's `speed: "fast"`) of an
 * Anthropic deployment, the one vendor that serves it so, whose answer then bills `tiers.fast`; else its
 * `service_tier`. The upstream may serve another, which the bill will then price.
 */
function askedTier(d: Deployment, profile: RequestProfile): string | undefined {
  if (profile.fastMode && d.provider.type === 'anthropic') return 'fast';
  return profile.request?.service_tier ?? undefined;
}

/**
 * The shares assumed for a deployment no answer has reported on yet: the mean of those of the others that have
 * (caching and reasoning follow the traffic: the same prompts warm each deployment's cache alike), else none
 * cached or written and, for a request asking for reasoning, a completion all reasoning (its dearest reading).
 */
function priorShares(deployments: Deployment[], shares: UsageShares, profile: RequestProfile): Shares {
  const known = deployments.flatMap((d) => shares.get(d.id) ?? []);
  if (!known.length) return { cached: 0, writes: 0, writes1h: 0, reasoning: profile.wants.includes('reasoning') ? 1 : 0 };
  const mean = (field: keyof Shares) => known.reduce((sum, s) => sum + s[field], 0) / known.length;
  return { cached: mean('cached'), writes: mean('writes'), writes1h: mean('writes1h'), reasoning: mean('reasoning') };
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
