import { type Price, STANDARD_TIERS, type TierPrice } from '@gateway/config';

/** Token counts as OpenAI reports them (completion includes reasoning; prompt includes cached and cache writes). */
export interface UsageCounts {
  prompt_tokens: number;
  /** Absent for embeddings. */
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null; audio_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null; audio_tokens?: number | null } | null;
  /**
   * The part of `cache_write_tokens` written to Anthropic's 1-hour cache, billed dearer than the
   * 5-minute cache. The gateway's own: never sent to clients (see clientUsage), OpenAI has no field for it.
   */
  cache_write_1h_tokens?: number | null;
  /** Searches the upstream ran itself (Anthropic's server tools); not in OpenAI's usage. */
  server_tool_use?: { web_search_requests?: number | null } | null;
}

export interface CostBreakdown {
  usd: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Of `inputTokens` (fresh prompt tokens), those of audio. */
  audioInputTokens: number;
  /** Of `outputTokens`, those of audio. */
  audioOutputTokens: number;
  webSearches: number;
}

/** The token rates of a price: its own, or its long-context tier's. */
type Rates = Pick<Price, 'input' | 'output' | 'cachedInput' | 'cacheWrite' | 'cacheWrite1h' | 'reasoning' | 'audioInput' | 'audioOutput'>;

/** The rates billed per prompt token, scaled with a tier's input (TierPrice). */
const PROMPT_RATES = ['cachedInput', 'cacheWrite', 'cacheWrite1h', 'audioInput'] as const;
/** The rates billed per completion token, scaled with a tier's output. */
const COMPLETION_RATES = ['reasoning', 'audioOutput'] as const;

/** Each price's tier prices, derived once (a reloaded config has new Price objects); a Map: the names are the upstream's. */
const derivedTiers = new WeakMap<Price, Map<string, Price>>();
/**
 * Tiers that cost no more than the standard price (OpenAI's `default`, `auto` and `flex`, its prepaid `scale`,
 * Anthropic's `standard` and `batch`, Groq's `on_demand`): one without rates bills the standard price, which at worst
 * over-bills it, unwarned.
 */
const AT_MOST_STANDARD: ReadonlySet<string> = new Set([...STANDARD_TIERS, 'flex', 'scale', 'batch', 'on_demand']);

/**
 * Whether an answer served in `tier` finds no rates for it in `price`: a tier that may cost more than the standard
 * price (priority, fast, ultrafast, a name the vendor added) that `price.tiers` does not set, billed at the standard
 * price (tierPrice) and worth telling the operator of.
 */
export function isUnpricedTier(price: Price, tier: string | undefined): tier is string {
  return tier !== undefined && !AT_MOST_STANDARD.has(tier) && !(price.tiers && Object.hasOwn(price.tiers, tier));
}

/**
 * The price an answer served in service tier `tier` (what the upstream's answer says: its `service_tier`, or
 * `fast` for Anthropic's fast mode) is billed at: the tier's own rates where `price.tiers` sets them, the rest
 * derived from the standard ones (TierPrice); else the standard price, the one rate the operator set for it (warned
 * of and counted, isUnpricedTier). Not another tier's rates: Anthropic's priority answers cost the standard rates
 * (committed capacity), and billing them at fast mode's, the one tier set, charged six times the vendor's bill
 * (recheck32a).
 */
export function tierPrice(price: Price, tier: string | undefined): Price {
  const own = tier !== undefined && price.tiers && Object.hasOwn(price.tiers, tier) ? price.tiers[tier] : undefined;
  if (!own || tier === undefined) return price;
  let tiers = derivedTiers.get(price);
  if (!tiers) derivedTiers.set(price, (tiers = new Map()));
  let derived = tiers.get(tier);
  if (!derived) tiers.set(tier, (derived = derivedTier(price, own)));
  return derived;
}

function derivedTier(price: Price, own: TierPrice): Price {
  const input = own.input ?? price.input;
  const output = own.output ?? price.output;
  const inRatio = price.input > 0 ? input / price.input : 1;
  const outRatio = price.output > 0 ? output / price.output : 1;
  const scaled = <T extends Rates>(rates: T): T => {
    const out = { ...rates, input: rates.input * inRatio, output: rates.output * outRatio };
    for (const field of PROMPT_RATES) if (rates[field] !== undefined) out[field] = rates[field] * inRatio;
    for (const field of COMPLETION_RATES) if (rates[field] !== undefined) out[field] = rates[field] * outRatio;
    return out;
  };
  const derived: Price = { ...scaled(price), input, output, tiers: undefined };
  for (const [field, usd] of Object.entries(own) as [keyof TierPrice, number | undefined][]) if (usd !== undefined) derived[field] = usd;
  if (price.longContext) derived.longContext = scaled(price.longContext);
  return derived;
}

/** The rates a request with this many prompt tokens is billed at: the long-context tier's above its length. */
export function ratesFor(price: Price, promptTokens: number): Rates {
  return price.longContext && promptTokens > price.longContext.above ? price.longContext : price;
}

/** USD per million prompt tokens written to the cache (the 5-minute cache for Anthropic). */
function cacheWritePrice(rates: Rates): number {
  return rates.cacheWrite ?? rates.input;
}

/** USD per million prompt tokens written to Anthropic's 1-hour cache. */
function cacheWrite1hPrice(rates: Rates): number {
  return rates.cacheWrite1h ?? cacheWritePrice(rates);
}

/**
 * Every rate set of a price (its long-context tier's, its service tiers'; `fast` only when `fast`), for a bound that
 * holds whatever serves the request.
 */
function everyRates(price: Price, fast: boolean): Rates[] {
  const tiers = Object.keys(price.tiers ?? {}).filter((tier) => fast || tier !== 'fast');
  const prices = [price, ...tiers.map((tier) => tierPrice(price, tier))];
  return prices.flatMap((p) => (p.longContext ? [p, p.longContext] : [p]));
}

interface DearestRates {
  prompt: number;
  completion: number;
}

/** Each price's dearest rates (dearestRates), with and without fast mode, worked out once: every budget hold reads them. */
const dearest = new WeakMap<Price, DearestRates>();
const dearestButFast = new WeakMap<Price, DearestRates>();

function dearestRates(price: Price, fast: boolean): DearestRates {
  const memo = fast ? dearest : dearestButFast;
  let rates = memo.get(price);
  if (!rates) {
    const all = everyRates(price, fast);
    rates = {
      prompt: Math.max(
        ...all.map((r) => Math.max(r.input, r.cachedInput ?? 0, cacheWritePrice(r), cacheWrite1hPrice(r), r.audioInput ?? 0)),
      ),
      completion: Math.max(...all.map((r) => Math.max(r.output, r.reasoning ?? 0, r.audioOutput ?? 0))),
    };
    memo.set(price, rates);
  }
  return rates;
}

/**
 * The most one prompt token can cost at this price (fresh, read from or written to a cache, at any
 * prompt length: the prompt is only estimated), for the budget hold taken before the answer says.
 * `fast`: whether the answer may be billed at `tiers.fast` (see budgetTiers).
 */
export function dearestPromptPrice(price: Price, fast = true): number {
  return dearestRates(price, fast).prompt;
}

/** The most one completion token can cost at this price (output, reasoning or audio, at any prompt length and tier; `fast` as above). */
export function dearestCompletionPrice(price: Price, fast = true): number {
  return dearestRates(price, fast).completion;
}

/**
 * USD for one request from actual usage and the deployment's price per million
 * tokens. Cached input is billed at `cachedInput` (input price when unset); prompt
 * tokens written to the cache at `cacheWrite`, those of Anthropic's 1-hour cache at
 * `cacheWrite1h` (unset: `cacheWrite`, then input; Anthropic deployments get Anthropic's
 * rates for cache reads and writes when the config loads); audio prompt tokens not read from the
 * cache at `audioInput` (input price when unset: a cache read is billed at `cachedInput` whatever it
 * holds); reasoning tokens, part of completion tokens, at `reasoning` (output price when unset); audio
 * completion tokens at `audioOutput` (output price when unset); web searches an upstream
 * ran at `webSearch` a thousand (free when unset). A prompt over `longContext.above` tokens bills
 * the whole request at the long-context rates, as the vendors that price by prompt length do.
 * `tier`: the service tier the upstream said served the answer, billed at its prices (tierPrice).
 */
export function costOf(usage: UsageCounts, standard: Price | undefined, tier?: string): CostBreakdown {
  const price = standard && tierPrice(standard, tier);
  const cached = Math.min(usage.prompt_tokens, usage.prompt_tokens_details?.cached_tokens ?? 0);
  const writes = Math.min(usage.prompt_tokens - cached, usage.prompt_tokens_details?.cache_write_tokens ?? 0);
  const writes1h = Math.min(writes, usage.cache_write_1h_tokens ?? 0);
  const completion = usage.completion_tokens ?? 0;
  const reasoning = Math.min(completion, usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const input = usage.prompt_tokens - cached - writes;
  const output = completion - reasoning;
  const audioIn = Math.min(input, usage.prompt_tokens_details?.audio_tokens ?? 0);
  const audioOut = Math.min(output, usage.completion_tokens_details?.audio_tokens ?? 0);
  const searches = usage.server_tool_use?.web_search_requests ?? 0;
  const rates = price && ratesFor(price, usage.prompt_tokens);
  const usd = rates
    ? ((input - audioIn) * rates.input +
        audioIn * (rates.audioInput ?? rates.input) +
        cached * (rates.cachedInput ?? rates.input) +
        (writes - writes1h) * cacheWritePrice(rates) +
        writes1h * cacheWrite1hPrice(rates) +
        (output - audioOut) * rates.output +
        audioOut * (rates.audioOutput ?? rates.output) +
        reasoning * (rates.reasoning ?? rates.output)) /
        1e6 +
      (searches * (price!.webSearch ?? 0)) / 1000
    : 0;
  return {
    usd,
    inputTokens: input,
    cachedInputTokens: cached,
    cacheWriteTokens: writes,
    outputTokens: output,
    reasoningTokens: reasoning,
    audioInputTokens: audioIn,
    audioOutputTokens: audioOut,
    webSearches: searches,
  };
}
