import { Type } from 'class-transformer';
import { IsArray, IsDateString, IsInt, IsObject, IsOptional, IsString, MaxLength, Min, ValidateNested } from 'class-validator';
import { BudgetConfig } from '@gateway/config';

/** POST /admin/keys */
export class CreateKeyDto {
  @IsOptional() @IsString() @MaxLength(200) name?: string;
  @IsOptional() @IsString() @MaxLength(200) owner?: string;
  @IsOptional() @IsArray() @IsString({ each: true }) models?: string[];
  @IsOptional() @IsInt() @Min(1) rpm?: number;
  @IsOptional() @IsInt() @Min(1) tpm?: number;
  @IsOptional() @ValidateNested() @Type(() => BudgetConfig) budget?: BudgetConfig;
  @IsOptional() @IsDateString() expiresAt?: string;
  @IsOptional() @IsObject() metadata?: Record<string, string>;
}

/** PATCH /admin/keys/:id: the fields given replace the stored ones. */
export class UpdateKeyDto extends CreateKeyDto {}
