import { plainToInstance, Transform } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, isObject, Min, ValidateBy, validateSync } from 'class-validator';
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

/**
 * The tier names that are the standard price itself (OpenAI's `default` and `auto`, Anthropic's `standard`): rates
 * for them are `price.input` and the rest, not a tier's.
 */
export const STANDARD_TIERS: ReadonlySet<string> = new Set(['default', 'standard', 'auto']);

/** A tier's name as vendors spell them (`priority`, `flex`, `scale`, `fast`, `ultrafast`, `batch`): what a label may carry. */
const TIER_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
export const isTierName = (name: string): boolean => TIER_NAME.test(name);

/** What is wrong with a `tiers` mapping (its rates already TierPrice instances: TierPrices), naming the tier, or undefined. */
function tierPricesProblem(tiers: unknown): string | undefined {
  if (!isObject(tiers) || Array.isArray(tiers)) return 'tiers must be a mapping of service tier names to their rates';
  for (const [name, rates] of Object.entries(tiers)) {
    if (!isTierName(name)) return `"${name}": a tier's name is lower-case letters, digits, _ and - (as the upstream's answer spells it)`;
    if (STANDARD_TIERS.has(name)) return `${name}: the standard price is the price's own input, output and other rates, not a tier`;
    if (!(rates instanceof TierPrice)) return `${name} must be a mapping of rates`;
    const [first] = validateSync(rates, { whitelist: true, forbidNonWhitelisted: true });
    if (first) return `${name}.${first.property}: ${Object.values(first.constraints ?? {}).join('; ')}`;
  }
  return undefined;
}

/**
 * A mapping of service tier names to TierPrice: any name, as a vendor may answer one no release knows yet
 * (OpenAI's `ultrafast` was refused at start-up while the names were fixed). Each mapping becomes a TierPrice and is
 * validated as one; a problem names the tier.
 */
function TierPrices(): PropertyDecorator {
  return (target, key) => {
    Transform(({ value }: { value: unknown }) =>
      isObject(value) && !Array.isArray(value)
        ? Object.fromEntries(
            Object.entries(value).map(([name, rates]) => [
              name,
              isObject(rates) && !Array.isArray(rates) ? plainToInstance(TierPrice, rates) : rates,
            ]),
          )
        : value,
    )(target, key);
    ValidateBy({
      name: 'isTierPrices',
      validator: { validate: (value) => tierPricesProblem(value) === undefined, defaultMessage: (args) => tierPricesProblem(args!.value)! },
    })(target, key);
  };
}

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
  /**
   * Rates of the service tiers the upstream may serve in, by the name its answer gives (OpenAI's `service_tier`:
   * priority, flex, scale, ultrafast; Anthropic's `usage.service_tier`; `fast` for Anthropic's fast mode). An
   * answered tier without rates here: tierPrice in @gateway/metrics.
   */
  @IsOptional() @TierPrices() tiers?: Record<string, TierPrice>;
}
