import { IsArray, IsBoolean, IsIn, IsInt, IsNotIn, IsNumber, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { Nested, NestedList } from './nested';
import { MAX_TIMER_MS } from './timer-limit';

export const BUDGET_PERIODS = ['daily', 'monthly'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * The largest budget a key may have, in USD a period: more is a typo (a key that needs no budget sets none).
 * Spend is summed in doubles: near 1e308 a request's cost vanishes in the sum; up to this, rounding stays
 * under a nano-dollar. The admin API refuses more (BoundedBudgetConfig); a config key over it is warned of at
 * start-up (configWarnings), as a config the last release ran with must not stop this one.
 */
export const MAX_BUDGET_USD = 1_000_000;

export class BudgetConfig {
  /** Spend allowed per period, in USD. */
  @IsNumber() @Min(0) usd!: number;
  @IsOptional() @IsIn(BUDGET_PERIODS as unknown as string[]) period: BudgetPeriod = 'monthly';
}

/** A budget as the admin API takes it: at most MAX_BUDGET_USD. */
export class BoundedBudgetConfig extends BudgetConfig {}
// By hand: redeclaring `usd` to decorate it would define it again over the parent's field. All of its checks:
// class-validator drops the parent's checks of a field the child checks too (a negative budget got through).
for (const check of [IsNumber(), Min(0), Max(MAX_BUDGET_USD)]) check(BoundedBudgetConfig.prototype, 'usd');

/** A key's `models` entry: a name, or a prefix ending in `*` (`claude-*`); `*` elsewhere would be taken literally. */
export const MODEL_ALLOWED = /^[^*]*\*?$/;
export const MODEL_ALLOWED_MESSAGE =
  'each value in $property must be a model name, or a prefix ending in * (gpt-*; * alone allows every model): * only ends a value';

/** Whether the `models` entry `allowed` names `model`: the same name, or a prefix ending in `*` that it starts with. */
export function allowsModel(allowed: string, model: string): boolean {
  return allowed.endsWith('*') ? model.startsWith(allowed.slice(0, -1)) : allowed === model;
}

/** The first entry of a key's `models` that allows none of `served` (names, aliases, virtual models), and what is wrong with it. */
export function unmatchedModel(allowed: readonly string[], served: readonly string[]): { index: number; problem: string } | undefined {
  const index = allowed.findIndex((entry) => !served.some((name) => allowsModel(entry, name)));
  if (index < 0) return undefined;
  const entry = allowed[index];
  return { index, problem: `${entry.endsWith('*') ? 'no model matches' : 'unknown model'} "${entry}"` };
}

/** Limits a gateway key can carry; unset means unlimited (or the configured default). */
export class KeyLimits {
  /** Public models (or virtual models) the key may use, by name or prefix (MODEL_ALLOWED); unset allows all. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @Matches(MODEL_ALLOWED, { each: true, message: MODEL_ALLOWED_MESSAGE })
  models?: string[];
  /** Requests per minute. */
  @IsOptional() @IsInt() @Min(1) rpm?: number;
  /** Tokens per minute (prompt estimate plus max_tokens reserved, reconciled after). */
  @IsOptional() @IsInt() @Min(1) tpm?: number;
  /**
   * Requests of the key in flight at once, on each replica (KeyConcurrency): within its RPM and TPM, one key's long
   * streams could otherwise hold every connection of a provider, and the other keys wait for one.
   */
  @IsOptional() @IsInt() @Min(1) maxConcurrent?: number;
  @IsOptional() @Nested(() => BudgetConfig) budget?: BudgetConfig;
}

/** The tenant of requests made with the master key, and of requests when auth is off. */
export const MASTER_KEY_ID = 'master';
export const ANONYMOUS_KEY_ID = 'anonymous';

/**
 * A key's id is its tenant: its stored responses, limit counters, spend and cache namespace are
 * keyed by it, so a key with one of these ids would share the master key's or auth-off's. Refused
 * rather than the master key given another id: Redis data and the metrics' `key="master"` keep theirs.
 */
const RESERVED_KEY_IDS = [MASTER_KEY_ID, ANONYMOUS_KEY_ID];
const RESERVED_KEY_ID_MESSAGE = `$property must not be ${RESERVED_KEY_IDS.join(' or ')}: the master key and auth-off requests have those ids`;

/** A key declared in the config file: the key itself lives in an environment variable. */
export class StaticKeyConfig extends KeyLimits {
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/)
  @IsNotIn(RESERVED_KEY_IDS, { message: RESERVED_KEY_ID_MESSAGE })
  id!: string;
  @IsOptional() @IsString() name?: string;
  @IsOptional() @IsString() owner?: string;
  @IsString() @Matches(/^[A-Z_][A-Z0-9_]*$/) keyEnv!: string;
}

export const ADMIN_ROLES = ['read', 'manage'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/**
 * A key for the admin API other than the master key: `read` lists keys and reads
 * usage, `manage` also creates, changes and revokes. The key lives in `keyEnv`.
 */
export class AdminKeyConfig {
  @IsString() @Matches(/^[A-Za-z0-9._-]{1,64}$/) id!: string;
  @IsString() @Matches(/^[A-Z_][A-Z0-9_]*$/) keyEnv!: string;
  @IsIn(ADMIN_ROLES as unknown as string[]) role!: AdminRole;
}

export class FailOpenConfig {
  /** Redis unreachable: let requests through RPM/TPM limits (true) or refuse them with 503. */
  @IsOptional() @IsBoolean() rateLimits = true;
  /** Redis unreachable: let requests through budget checks (true) or refuse them with 503. */
  @IsOptional() @IsBoolean() budgets = true;
}

export class SecurityConfig {
  @IsOptional() @NestedList(() => StaticKeyConfig) keys: StaticKeyConfig[] = [];
  /** Role-scoped keys for the admin API, besides the master key (which can do everything). */
  @IsOptional() @NestedList(() => AdminKeyConfig) adminKeys: AdminKeyConfig[] = [];
  /** Applied to keys that set no limit of their own. */
  @IsOptional() @IsInt() @Min(1) defaultRpm?: number;
  @IsOptional() @IsInt() @Min(1) defaultTpm?: number;
  /** Requests in flight at once, on each replica, for keys that set no `maxConcurrent` (unset: no limit). */
  @IsOptional() @IsInt() @Min(1) defaultMaxConcurrent?: number;
  /** Failed authentications allowed per client IP and minute before it gets 429s (0 = off). */
  @IsOptional() @IsInt() @Min(0) ipFailuresPerMinute = 30;
  /** How long a key lookup is cached in process; revocations reach every replica at once through Redis. */
  @IsOptional() @IsInt() @Min(0) keyCacheMs = 5_000;
  /**
   * Redis unreachable: a key seen within this long keeps working on its last known
   * record (revoked stays revoked); older or never-seen keys get 503. 0 = fail closed.
   */
  @IsOptional() @IsInt() @Min(0) keyStaleMaxMs = 3_600_000;
  @IsOptional() @Nested(() => FailOpenConfig) failOpen: FailOpenConfig = new FailOpenConfig();
  /**
   * With Redis, each replica admits a busy key's requests from a slice of its limits
   * leased for this long (no Redis call per request); 0 = every request asks Redis.
   */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) limitLeaseMs = 1_000;
  /** Browser origins allowed by CORS; empty keeps CORS off. */
  @IsOptional() @IsArray() @IsString({ each: true }) corsOrigins: string[] = [];
  /** Deepest JSON nesting accepted in a request body. */
  @IsOptional() @IsInt() @Min(4) maxJsonDepth = 64;
}
