import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Nested } from './nested';

/**
 * Message threads of POST /v1/messages (Anthropic's `thread` parameter): the conversations the
 * gateway holds so a client sends only its new messages. In Redis when REDIS_URL is set, else in
 * process (one replica's memory).
 */
export class ThreadsConfig {
  /** How long a thread can be continued after its last response: 5 minutes, as on Anthropic's API. */
  @IsOptional() @IsInt() @Min(1) @Max(86_400) ttlSeconds = 300;
  /**
   * How long a continue's claim on its response outlives the replica holding it (which renews it
   * while the request runs): a replica that died or lost Redis keeps the response from being
   * continued this long at most.
   */
  @IsOptional() @IsInt() @Min(1) @Max(3_600) claimTtlSeconds = 30;
  /** In-process store only: approximate memory for threads; least recently used go first. */
  @IsOptional() @IsInt() @Min(1) maxMemoryMb = 64;
  /**
   * Redis store: the most one key's threads take (their fixed fields and turns); a turn that would
   * take its key past it is served but not kept (x-gateway-thread-kept: false) until older threads
   * expire. Bounds what one key can put in the Redis that limits and budgets share.
   */
  @IsOptional() @IsInt() @Min(1) tenantMaxMemoryMb = 64;
  /** Redis store: prefix of every key (`<prefix>{<tenant>}:<message id>`). */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9:_.-]+$/) keyPrefix = 'gw:thread:';
}

/** The Anthropic Messages API (apps/gateway/src/messages). */
export class MessagesConfig {
  @IsOptional() @Nested(() => ThreadsConfig) threads: ThreadsConfig = new ThreadsConfig();
}
