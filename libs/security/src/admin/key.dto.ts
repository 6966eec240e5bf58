import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { BoundedBudgetConfig, MODEL_ALLOWED, MODEL_ALLOWED_MESSAGE } from '@gateway/config';
import { IsExpiry } from './expiry';

/** Entries of a key's `models` list. */
export const MAX_MODELS = 1000;

/**
 * POST /admin/keys, and PATCH /admin/keys/:id where every field is optional, only
 * the fields sent change, and `null` clears one. Unknown fields are refused.
 */
export class KeyFieldsDto {
  @IsOptional() @IsString() @MaxLength(200) name?: string | null;
  @IsOptional() @IsString() @MaxLength(200) owner?: string | null;
  /** `null` (or leaving it out on create) allows every model; an empty list is refused as a mistake. */
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_MODELS)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  @Matches(MODEL_ALLOWED, { each: true, message: MODEL_ALLOWED_MESSAGE })
  models?: string[] | null;
  /** At most 2^53-1: a JSON number past it is rounded when read, so it would be stored changed. */
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) rpm?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) tpm?: number | null;
  @IsOptional() @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) maxConcurrent?: number | null;
  @IsOptional() @ValidateNested() @Type(() => BoundedBudgetConfig) budget?: BoundedBudgetConfig | null;
  /** Stored as the instant it names, in UTC (normalisedExpiry). */
  @IsOptional() @IsString() @IsExpiry() expiresAt?: string | null;
  @IsOptional() @IsObject() metadata?: Record<string, string> | null;
}

/** The longest grace period a rotation may give the old secret: 7 days, time for clients to roll, not a second key. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

/** POST /admin/keys/:id/rotate, whose body may be left out, and /rotate-with-grace, which needs a grace. */
export class RotationDto {
  /** How long the old secret keeps working, as the same key; 0, `null` or left out: it stops at once (/rotate only). */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_GRACE_SECONDS) gracePeriodSeconds?: number | null;
}

/** The fields a rotation's body may hold. */
export const ROTATION_FIELDS = ['gracePeriodSeconds'] as const;
