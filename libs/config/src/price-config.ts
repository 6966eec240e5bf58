import { IsInt, IsNumber, IsOptional, Min } from 'class-validator';
import { Nested } from './nested';

/**
 * The rates that default from a price's input and output when unset (per million tokens): those of the base price, of
 * its long-context tier and of its service tiers.
 */
export class DerivedRates {
  /** Prompt tokens read from the cache. Unset: 0.1x input on Anthropic deployments (applyVendorPrices), else input. */
  @IsOptional() @IsNumber() @Min(0) cachedInput?: number;
  /**
   * Prompt tokens written to the cache (`prompt_tokens_details.cache_write_tokens`; Anthropic's
   * 5-minute cache). Unset: 1.25x input on Anthropic deployments (applyVendorPrices), else input.
   */
  @IsOptional() @IsNumber() @Min(0) cacheWrite?: number;
  /** Prompt tokens written to Anthropic's 1-hour cache. Unset: 2x input on Anthropic deployments, else `cacheWrite`. */
  @IsOptional() @IsNumber() @Min(0) cacheWrite1h?: number;
  /** Reasoning (thinking) tokens, when billed differently from output. */
  @IsOptional() @IsNumber() @Min(0) reasoning?: number;
  /**
   * Audio prompt tokens not read from the cache (OpenAI's `prompt_tokens_details.audio_tokens`, Gemini's
   * AUDIO `promptTokensDetails`). Unset: input.
   */
  @IsOptional() @IsNumber() @Min(0) audioInput?: number;
  /** Audio completion tokens (`completion_tokens_details.audio_tokens`, Gemini's AUDIO `candidatesTokensDetails`). Unset: output. */
  @IsOptional() @IsNumber() @Min(0) audioOutput?: number;
}

/**
 * A vendor's long-context rates (Gemini's Pro models over 200K prompt tokens, Claude Haiku 5.5 over
 * 100K): a request whose prompt is over `above` tokens, cache reads and writes included, is billed
 * whole at them. Unset cache, reasoning and audio rates derive from these as the base price's do from its own.
 */
export class LongContextPrice extends DerivedRates {
  @IsInt() @Min(1) above!: number;
  @IsNumber() @Min(0) input!: number;
  @IsNumber() @Min(0) output!: number;
}

/**
 * The rates of a service tier (OpenAI's `service_tier` priority or flex, Anthropic's priority tier or fast
 * mode), any of them left out. An unset rate is the standard price's, scaled by the tier's ratio to it:
 * prompt rates (cached input, cache writes, audio input) by `input` over the standard input, completion rates
 * (reasoning, audio output) by `output` over the standard output, the long-context tier's the same way
 * (tierPrice in @gateway/metrics). An unset `input` or `output` is the standard one.
 */
export class TierPrice extends DerivedRates {
  @IsOptional() @IsNumber() @Min(0) input?: number;
  @IsOptional() @IsNumber() @Min(0) output?: number;
}

/** The service tiers billed apart from the standard price: an answer served in a tier left unset bills the standard price. */
export class ServiceTierPrices {
  @IsOptional() @Nested(() => TierPrice) priority?: TierPrice;
  @IsOptional() @Nested(() => TierPrice) flex?: TierPrice;
  /**
   * Anthropic's fast mode (`speed: "fast"`), which its answer's `usage.speed` reports: priced per model as a
   * multiple of the standard rates, the cache rates scaled alike (TierPrice derives them so).
   */
  @IsOptional() @Nested(() => TierPrice) fast?: TierPrice;
}

/**
 * A service tier with its own prices, as the upstream's answer names it: OpenAI's `service_tier`, Anthropic's
 * `usage.service_tier`, or `fast` for an Anthropic answer whose `usage.speed` is `fast` (servedTier in @gateway/providers).
 */
export type PricedTier = keyof ServiceTierPrices;

/** USD per one million tokens. */
export class Price extends DerivedRates {
  @IsOptional() @IsNumber() @Min(0) input = 0;
  @IsOptional() @IsNumber() @Min(0) output = 0;
  /**
   * USD per 1,000 web searches the upstream ran for the request (Anthropic's web_search server tool), on top
   * of tokens. Unset: 10 on Anthropic deployments (applyVendorPrices), else free.
   */
  @IsOptional() @IsNumber() @Min(0) webSearch?: number;
  /** Rates for prompts over a length, where the vendor prices by prompt length (unset: one rate for every length). */
  @IsOptional() @Nested(() => LongContextPrice) longContext?: LongContextPrice;
  /** Rates of the service tiers the upstream may serve in (priority, flex, Anthropic's fast mode); unset: the standard price. */
  @IsOptional() @Nested(() => ServiceTierPrices) tiers?: ServiceTierPrices;
}
