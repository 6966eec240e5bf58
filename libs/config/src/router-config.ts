import { ArrayNotEmpty, IsArray, IsBoolean, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Nested, NestedList } from './nested';
import { MAX_TIMER_MS } from './timer-limit';

export const STRATEGIES = ['priority', 'weighted', 'latency', 'cost'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/**
 * Upstream outcomes that send a request on to another attempt; anything else returns at once.
 * `5xx` is every status from 500 to 599 (a CDN's 520-524 in front of a provider as well).
 */
export type FallbackTrigger = number | '5xx' | 'timeout' | 'connection';
/** 401-404 from an upstream are the deployment's (its key, billing, access, model id): another may answer. */
export const DEFAULT_FALLBACK_ON: FallbackTrigger[] = [401, 402, 403, 404, 408, 409, 429, '5xx', 'timeout', 'connection'];

export class RetryConfig {
  /** Attempts on one deployment before moving to the next (1 = no retry on the same one). */
  @IsOptional() @IsInt() @Min(1) @Max(10) attemptsPerDeployment = 2;
  /** First backoff; doubles per retry, with full jitter, up to `maxBackoffMs`. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) backoffMs = 100;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) maxBackoffMs = 2_000;
  /** A Retry-After up to this long is waited out on the same deployment; longer moves on. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) retryAfterCapMs = 5_000;
  /** HTTP statuses (as the upstream sent them), `5xx`, `timeout` and `connection`. */
  @IsOptional() @IsArray() fallbackOn: FallbackTrigger[] = DEFAULT_FALLBACK_ON;
}

export class TimeoutConfig {
  /** One attempt; for streams, until the first chunk arrives. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) attemptMs = 120_000;
  /** The whole request, every attempt and backoff included (streams: until the first chunk). */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) deadlineMs = 300_000;
  /**
   * A stream, from the request's start to its last event: past it, it is cut and ends with an upstream timeout
   * error in the caller's protocol. An upstream trickling events forever otherwise held the request, its upstream
   * connection and its budget hold for good. An hour: a long reasoning answer (128k output tokens at 40 a second,
   * under 55 minutes) ends well within it; budget holds outlast it (holdLapseMs).
   */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) streamMs = 3_600_000;
}

export class BreakerConfig {
  /** Consecutive failures that open the breaker. */
  @IsOptional() @IsInt() @Min(1) consecutiveFailures = 5;
  /** Or: this failure rate over `windowMs`, once `minRequests` were seen in it. */
  @IsOptional() @IsNumber() @Min(0) @Max(1) failureRate = 0.5;
  @IsOptional() @IsInt() @Min(1) minRequests = 20;
  @IsOptional() @IsInt() @Min(100) @Max(MAX_TIMER_MS) windowMs = 60_000;
  /** How long an open breaker waits before letting one probe through. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) cooldownMs = 30_000;
}

export class LatencyConfig {
  /** EWMA weight of the newest sample. */
  @IsOptional() @IsNumber() @Min(0.01) @Max(1) alpha = 0.3;
  /** An average not refreshed for this long is replaced whole by the next measurement (until then it still ranks its deployment). */
  @IsOptional() @IsInt() @Min(100) staleAfterMs = 2_000;
  /** Share of requests sent to a random eligible deployment, so a recovered one is found again. */
  @IsOptional() @IsNumber() @Min(0) @Max(1) exploreRate = 0.05;
}

/**
 * The reasoning state the gateway returned with tool calls (Claude's signed thinking blocks, Gemini's
 * thought signatures), kept per tenant and call id for clients that do not send it back: in process,
 * and in Redis when REDIS_URL is set so that another replica finds it (apps/gateway/src/reasoning-state).
 */
export class ReasoningStateConfig {
  /** Tool-calling answers kept in process, least recently used dropped first; 0 turns the feature off (Redis included). */
  @IsOptional() @IsInt() @Min(0) maxEntries = 10_000;
  /** In-process memory for them (approximate, the state's JSON), least recently used dropped first. */
  @IsOptional() @IsInt() @Min(1) maxMemoryMb = 32;
  /** How long a tool call's state can be re-attached, in process and in Redis. */
  @IsOptional() @IsInt() @Min(1) @Max(86_400) ttlSeconds = 3_600;
  /** A state whose JSON is larger (bytes) is not kept, in process nor in Redis (counted): that turn goes on as without it. */
  @IsOptional() @IsInt() @Min(1) maxEntryBytes = 1_048_576;
  /** In Redis, per tenant: states kept within ttlSeconds; past it the tenant's oldest are dropped. */
  @IsOptional() @IsInt() @Min(1) tenantMaxEntries = 10_000;
  /** In Redis, per tenant: memory of its states' JSON; past it the tenant's oldest are dropped. At least maxEntryBytes. */
  @IsOptional() @IsInt() @Min(1) tenantMaxMemoryMb = 32;
}

export class RouterConfig {
  @IsOptional() @Nested(() => RetryConfig) retry: RetryConfig = new RetryConfig();
  @IsOptional() @Nested(() => TimeoutConfig) timeouts: TimeoutConfig = new TimeoutConfig();
  @IsOptional() @Nested(() => BreakerConfig) breaker: BreakerConfig = new BreakerConfig();
  @IsOptional() @Nested(() => LatencyConfig) latency: LatencyConfig = new LatencyConfig();
  @IsOptional() @Nested(() => ReasoningStateConfig) reasoningState: ReasoningStateConfig = new ReasoningStateConfig();
}

/**
 * How a task rule's `pattern` is compiled: case-insensitive, and Unicode-aware, so `\p{Script=Han}`
 * is a character class (without `u` it would silently be the text "p{Script=Han}") and `.` one character.
 */
export const TASK_PATTERN_FLAGS = 'iu';

/** Conditions of a task rule; all that are given must hold. */
export class TaskMatch {
  /** Regular expression tested against the last user message (TASK_PATTERN_FLAGS: case-insensitive, Unicode). */
  @IsOptional() @IsString() pattern?: string;
  /** Any of these whole words or phrases in the last user message (case-insensitive; see task-rules.ts). */
  @IsOptional() @IsArray() @IsString({ each: true }) keywords?: string[];
  @IsOptional() @IsInt() @Min(0) minPromptTokens?: number;
  @IsOptional() @IsInt() @Min(0) maxPromptTokens?: number;
  @IsOptional() @IsBoolean() tools?: boolean;
  /** Images or documents: what needs `vision`. */
  @IsOptional() @IsBoolean() images?: boolean;
  @IsOptional() @IsBoolean() responseFormat?: boolean;
  /** Value of the request's `x-gateway-task` header. */
  @IsOptional() @IsString() task?: string;
}

export class TaskRule {
  /** Names the rule in `x-gateway-route` and the log: unique within its virtual model, and not `default`. */
  @IsString() @Matches(/\S/, { message: 'name must name the rule, not be empty' }) name!: string;
  @Nested(() => TaskMatch) match!: TaskMatch;
  /** The public model (group) this rule sends requests to. */
  @IsString() model!: string;
}

/** A model name clients can ask for whose requests are routed by rules: first match wins. */
export class VirtualModelConfig {
  @IsString() @Matches(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/) name!: string;
  @NestedList(() => TaskRule) @ArrayNotEmpty() rules!: TaskRule[];
  /** Where a request goes when no rule matches. */
  @IsString() default!: string;
}
