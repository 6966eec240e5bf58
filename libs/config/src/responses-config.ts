import 'reflect-metadata';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/**
 * Stored responses of POST /v1/responses (`store`, `previous_response_id`, `item_reference`,
 * GET /v1/responses/{id}): in Redis when REDIS_URL is set, else in process (one replica's memory).
 */
export class ResponsesConfig {
  /**
   * What a request without `store` gets. OpenAI's API stores by default and clients rely on
   * it (the Vercel AI SDK replays earlier output as `item_reference`); `false` keeps the
   * gateway stateless unless a request sends `store: true`.
   */
  @IsOptional() @IsBoolean() storeByDefault = true;
  /** How long a stored response can be continued or fetched. */
  @IsOptional() @IsInt() @Min(1) @Max(30 * 86_400) ttlSeconds = 3_600;
  /** In-process store only: approximate memory for stored responses; least recently used go first. */
  @IsOptional() @IsInt() @Min(1) maxMemoryMb = 64;
  /**
   * Redis store: the most one key's stored responses take (their records' bytes); a response that
   * would take its key past it is served but not stored (x-gateway-response-stored: false) until
   * older ones expire. Bounds what one key can put in the Redis that limits and budgets share.
   */
  @IsOptional() @IsInt() @Min(1) tenantMaxMemoryMb = 64;
  /** Redis store: prefix of every key (`<prefix>{<tenant>}:<response id>`). */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9:_.-]+$/) keyPrefix = 'gw:resp:';
}
