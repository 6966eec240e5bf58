import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import type { KeyRecord } from './key-record';

/**
 * What a refusal tells the client to wait: a place frees when one of the key's own requests ends, which the
 * gateway cannot foresee (a stream may run for minutes), so the shortest wait an SDK honours.
 */
const RETRY_AFTER_SECONDS = '1';

/**
 * Each key's requests in flight on this replica, against its `maxConcurrent` (else `security.defaultMaxConcurrent`):
 * within its RPM and TPM, one key's long streams held every one of a provider's `maxConnections`, and every other
 * key waited for a connection (fair31). Counted in process, not in Redis: what it protects (a provider's
 * connection pool, the event loop) is each replica's own, a count in process is exact and has nothing to lapse
 * when a replica dies, and it costs no Redis call per request. A key may so have `maxConcurrent` requests in flight
 * on each replica. A place is taken once the key is known, before the body is read, by a holder (the request's
 * IncomingMessage) and given back when that request's response closes, however it ends (request-hooks.ts). Every
 * key's requests are counted, with a limit or not: a limit PATCHed onto a busy key then sees those already in flight
 * and refuses new ones until they are under it (race33 D1: uncounted, each replica ran 6 of a key capped at 2).
 */
@Injectable()
export class KeyConcurrency {
  private readonly inFlight = new Map<string, number>();
  /** The key each holder took a place of: giving back twice, or for a holder refused, gives back nothing. */
  private readonly places = new WeakMap<object, string>();
  private readonly defaultMax: number | undefined;

  constructor(config: GatewayConfig) {
    this.defaultMax = config.security.defaultMaxConcurrent;
  }

  /** The requests in flight `key` may have on this replica; undefined: no limit. */
  limitOf(key: KeyRecord): number | undefined {
    return key.maxConcurrent ?? this.defaultMax;
  }

  /** The places of `keyId` taken and not yet given back. */
  inFlightOf(keyId: string): number {
    return this.inFlight.get(keyId) ?? 0;
  }

  /** Takes one of `key`'s places for `holder`, or throws the 429 when its limit's places are all taken. */
  enter(key: KeyRecord, holder: object): void {
    if (this.places.has(holder)) return;
    const limit = this.limitOf(key);
    const held = this.inFlightOf(key.id);
    if (limit !== undefined && held >= limit) throw tooManyInFlight(limit, key.source === 'anonymous');
    this.inFlight.set(key.id, held + 1);
    this.places.set(holder, key.id);
  }

  /**
   * Gives back `holder`'s place, if it holds one: at once, or once `until` settles (a JSON answer's upstream call
   * that goes on after its client left, to be billed: it still holds its connection).
   */
  leave(holder: object, until?: Promise<unknown>): void {
    const keyId = this.places.get(holder);
    if (keyId === undefined) return;
    this.places.delete(holder);
    if (!until) return this.free(keyId);
    const free = () => this.free(keyId);
    until.then(free, free);
  }

  private free(keyId: string): void {
    const held = this.inFlightOf(keyId) - 1;
    // A key with nothing in flight is forgotten: the map holds only keys with requests under way.
    if (held > 0) this.inFlight.set(keyId, held);
    else this.inFlight.delete(keyId);
  }
}

/** `anonymous`: authentication is off, every request is counted against the one default limit. */
function tooManyInFlight(limit: number, anonymous: boolean): GatewayError {
  const requests = `${limit} request${limit === 1 ? '' : 's'}`;
  return new GatewayError(
    429,
    anonymous
      ? `This gateway already has ${requests} in flight, its limit without API keys (security.defaultMaxConcurrent); retry when one has ended.`
      : `This API key already has ${requests} in flight, its limit (maxConcurrent); retry when one has ended.`,
    'rate_limit_error',
    'concurrency_limit_exceeded',
    null,
    { 'retry-after': RETRY_AFTER_SECONDS },
  );
}
