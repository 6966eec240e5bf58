import { allowsModel, ANONYMOUS_KEY_ID, type BudgetConfig } from '@gateway/config';
import { readInstant } from './admin/expiry';

/** What the gateway knows about a key. The key itself is never stored, only its SHA-256. */
export interface KeyRecord {
  id: string;
  name?: string;
  owner?: string;
  /** Public or virtual models the key may use, by name or by a prefix ending in `*`; unset allows all. */
  models?: string[];
  rpm?: number;
  tpm?: number;
  /** Requests in flight at once, on each replica (KeyConcurrency). */
  maxConcurrent?: number;
  budget?: BudgetConfig;
  /** When the key stops working: written by the admin API as Date#toISOString does (expiry.ts). */
  expiresAt?: string;
  revoked?: boolean;
  metadata?: Record<string, string>;
  createdAt?: string;
  /** When the admin API last gave the key a new secret (POST /admin/keys/{id}/rotate). */
  rotatedAt?: string;
  /** Until when the secret the last rotation replaced still works (its `gracePeriodSeconds`). */
  previousSecretUntil?: string;
  /**
   * In an admin API answer, never stored: fields left out because Redis did not answer for them in time (a grace
   * marker's node slow or failing over: `previousSecretUntil`). Read the key again.
   */
  unknownFields?: 'previousSecretUntil'[];
  /**
   * Set on the record an old secret in its grace finds (KeyStore): until when that secret works, checked on
   * each request (secretEnded), so it stops by itself on every replica.
   */
  graceUntil?: string;
  /** Where the key is declared: the config file, the admin API (Redis), or the master key. */
  source: 'config' | 'admin' | 'master' | 'anonymous';
}

/** Whether `key` may use the model a client asked for by `name` (a name or alias of `group`). */
export function mayUseModel(key: KeyRecord, name: string, group: string): boolean {
  return !key.models || key.models.some((allowed) => allowsModel(allowed, name) || allowsModel(allowed, group));
}

/**
 * Whether `key` has expired at `now`, its expiry read as the admin API reads one (readInstant). A stored
 * expiry in a form it now refuses (written before it did) counts as passed: renew it with a PATCH. Read
 * by Date.parse, `20300101T000000Z` never expired, `2099-005` (5 January) expired on 1 May, and a time
 * without an offset expired in the server's time zone.
 */
export function hasExpired(key: KeyRecord, now: number): boolean {
  if (key.expiresAt === undefined) return false;
  const at = readInstant(key.expiresAt);
  return at === undefined || at <= now;
}

/** Whether `key` was found by an old secret whose grace period has ended at `now` (the key itself may go on). */
export function secretEnded(key: KeyRecord, now: number): boolean {
  return key.graceUntil !== undefined && (readInstant(key.graceUntil) ?? 0) <= now;
}

/**
 * The names a model list shows `key` for the model `group` (with `aliases`): the group's own name
 * when the key may use it (it may then use every alias too), else the aliases it is allowed by;
 * none when it may use neither. Every name listed passes mayUseModel. No key (auth off): the group.
 */
export function listedNames(key: KeyRecord | null, group: string, aliases: readonly string[] = []): string[] {
  if (!key || mayUseModel(key, group, group)) return [group];
  return aliases.filter((alias) => mayUseModel(key, alias, group));
}

/** Who a request is, when auth is off (no master key: local use on loopback). */
export const ANONYMOUS: KeyRecord = { id: ANONYMOUS_KEY_ID, source: 'anonymous' };

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key (ANONYMOUS when auth is off); set on /v1 routes by ApiAuth's hook, before the body is read. */
    gatewayKey: KeyRecord | null;
  }
}
