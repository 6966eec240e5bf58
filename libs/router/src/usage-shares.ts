import { Injectable } from '@nestjs/common';
import type { UsageCounts } from '@gateway/metrics';
import { Clock } from './clock';

/** The weight of a new answer in a deployment's shares (exponentially weighted: about the last ten answers count). */
const ALPHA = 0.2;

/**
 * How long a deployment's shares stand without a new answer. `cost` sends nothing to a deployment its shares make
 * dear, so they would never change: forgotten, it is priced as its group's current traffic is (priorShares), and
 * is tried again if that makes it cheapest (one cold answer had marked it dear for good).
 */
export const SHARES_STALE_MS = 10 * 60_000;

/**
 * How long vendors keep a prompt cache unused (Anthropic's default 5 minutes; OpenAI's 5-10 minutes of inactivity):
 * a deployment's first answer after a longer pause found its cache cold, whatever its traffic will find.
 */
export const CACHE_COLD_MS = 5 * 60_000;

/** What part of a deployment's recent prompts and completions were billed apart from fresh input and output. */
export interface Shares {
  /** Of prompt tokens: read from the vendor's cache. */
  cached: number;
  /** Of prompt tokens: written to the vendor's cache (1-hour writes among them: `writes1h`). */
  writes: number;
  writes1h: number;
  /** Of completion tokens: reasoning. */
  reasoning: number;
}

interface Observed extends Shares {
  /** When the last answer was observed (Clock). */
  at: number;
}

/**
 * The shares of cached, cache-written and reasoning tokens in the usage each deployment's recent answers reported,
 * for the `cost` strategy, which prices a request before it is sent and so cannot know what it will find cached or
 * how much it will reason (README, Routing). A few multiplications an answer; nothing per prompt or key is kept.
 */
@Injectable()
export class UsageShares {
  private readonly shares = new Map<string, Observed>();
  /** When each deployment's latest answer was observed, counted or not (a cold start is not: observe). */
  private readonly answeredAt = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /** An answer's reported usage (not an estimate: it says nothing of caches or reasoning). */
  observe(deploymentId: string, usage: UsageCounts): void {
    const prompt = usage.prompt_tokens;
    const completion = usage.completion_tokens ?? 0;
    const writes = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
    const cached = ratio(usage.prompt_tokens_details?.cached_tokens ?? 0, prompt);
    const written = ratio(writes, prompt);
    const written1h = ratio(Math.min(writes, usage.cache_write_1h_tokens ?? 0), prompt);
    const reasoning = ratio(usage.completion_tokens_details?.reasoning_tokens ?? 0, completion);
    const at = this.clock.now();
    const previous = this.answeredAt.get(deploymentId);
    this.answeredAt.set(deploymentId, at);
    // An answer after a pause past the vendor's cache life found nothing cached because of the pause. Counted, the one
    // answer a deployment gets once its shares are forgotten (SHARES_STALE_MS is past the cache life) marked it dear
    // again when it is cheap only warm, so it never warmed (recheck31a D5). Left out, the deployment stays priced as
    // before, so its next request finds the cache this one warmed; if that one finds nothing cached either, it counts:
    // a deployment dearer for good costs two requests each SHARES_STALE_MS. A first answer ever still counts as it is
    // (it may be the deployment's only evidence); cold, it holds the deployment dear until forgotten, once.
    if (cached === 0 && previous !== undefined && at - previous > CACHE_COLD_MS) return;
    const s = this.shares.get(deploymentId);
    if (!s || at - s.at > SHARES_STALE_MS)
      return void this.shares.set(deploymentId, { cached, writes: written, writes1h: written1h, reasoning, at });
    s.at = at;
    s.cached += ALPHA * (cached - s.cached);
    s.writes += ALPHA * (written - s.writes);
    s.writes1h += ALPHA * (written1h - s.writes1h);
    s.reasoning += ALPHA * (reasoning - s.reasoning);
  }

  /** The deployment's shares, undefined before any answer reported its usage or SHARES_STALE_MS after the last. */
  get(deploymentId: string): Shares | undefined {
    const s = this.shares.get(deploymentId);
    return s && this.clock.now() - s.at <= SHARES_STALE_MS ? s : undefined;
  }
}

/** part / whole, at most 1 (usage is clamped so when billed); 0 of nothing. */
function ratio(part: number, whole: number): number {
  return whole > 0 ? Math.min(1, part / whole) : 0;
}
