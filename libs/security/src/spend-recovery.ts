import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { isReplyError, type RedisClient } from '@gateway/redis';
import { SPEND_RETENTION_SECONDS, spendKey, utcMonth } from '@gateway/metrics';
import { limitKeys } from './limit-keys';
import { LIMIT_LUA } from './limit-lua';
import type { KeySpend, SpendLedger } from './spend-ledger';

/**
 * Written once by the first replica to connect to a Redis, never expiring: the same value for as
 * long as Redis keeps its data (a restart with its data included), a new one once it lost it.
 */
const MARKER_KEY = 'gateway:data-marker';
/** How long Redis keeps the record that a replica restored a key (its answer may be lost and the call sent again). */
const RECORD_MS = 60_000;
const RETRY_MS = 1_000;
const LIVE_CHECK_MS = 1_000;

// Adds a replica's recorded spend of one key back, once. KEYS: the day's and the month's spend hashes, the
// restore's record. ARGV: spend retention, record ms, the number of the day's model/USD pairs, then the
// day's pairs, then the month's.
const RESTORE_SCRIPT = `${LIMIT_LUA}
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local dayPairs = tonumber(ARGV[3])
for i = 4, #ARGV, 2 do
  addSpend(i < 4 + 2 * dayPairs and KEYS[1] or KEYS[2], ARGV[i], ARGV[i + 1], ARGV[1])
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
return 1`;

/**
 * Whether a budget may be decided on the connection now: its check has answered and the restore it called for has
 * landed (or failed). Admission stores read `ready` (a field: nothing in the normal case) and wait otherwise.
 */
export interface SpendGate {
  readonly ready: boolean;
  /** Settles once `ready`; rejects when the check got no answer (the store fails then, as when Redis does). */
  whenReady(): Promise<void>;
}

export interface SpendRestored {
  /** Keys whose spend was written back, and its sum over their months (USD). */
  keys: number;
  usd: number;
  /** Keys Redis did not take it for (no answer for RECORD_MS / 2, or an error). */
  failed: number;
}

/**
 * Finds a Redis that restarted empty (`MARKER_KEY` gone or replaced since this replica last read
 * it) and writes back, once per loss, the spend this replica recorded in the current period
 * (SpendLedger): without it the day's and month's spend would start again at zero and budgets
 * would let it be spent twice. The check is the first command on every new connection, and the
 * ledger is copied as it is sent: every write confirmed before it ran on the Redis the connection
 * replaced, every write confirmed after it on the one it checks, so the copy is exactly what that
 * Redis lost of this replica's spend.
 *
 * On a Redis Cluster one marker would cover one shard only, and one connection per node cannot order
 * a check before the writes: each key recorded this month has a marker of its own in its spend's slot
 * (limitKeys().marker), checked every LIVE_CHECK_MS as a live check below. A shard that lost its data
 * (a master and its replica both gone without persistence, a master restarted empty before its replica
 * took over, a FLUSHALL) is so found for each key whose slot it held, within a second.
 *
 * Data lost without a reconnect (FLUSHALL) is found by the same check every LIVE_CHECK_MS. Writes
 * confirmed since the last check may have landed before the loss or after it, so such a loss writes
 * back the ledger as it was when the last check that found the marker was sent: at most LIVE_CHECK_MS
 * of this replica's spend goes unrestored, and none is written twice (writing the whole ledger back
 * at the next reconnect counted the spend since the flush twice).
 */
export class SpendRecovery implements SpendGate {
  /**
   * False from a new connection until its check answered and the restore it called for landed (or failed), and
   * from a live check that found a loss until its restore did: budgets decided before would see a spend Redis lost.
   * Always true on a Redis Cluster, whose losses only the live per-key check finds.
   */
  ready = false;
  /** What admissions waiting for `ready` wait on; made only when one waits. */
  private opening?: { promise: Promise<void>; resolve(): void; reject(error: unknown): void };
  /** Restores under way: budgets wait for them (a loss a live check found included, a second at most after it). */
  private restoring = 0;
  /** The marker read at the last answered check; undefined before the first. */
  private marker?: string;
  /** The ledger as it was when a check was sent that got no answer yet: still the spend a loss would have taken. */
  private pending?: KeySpend[];
  /** The ledger as it was when the last check that found the marker was sent: all of it is in that Redis. */
  private confirmed?: KeySpend[];

  /** On a Redis Cluster: each key's marker at its last answered check, with the ledger's entry as that check was sent. */
  private readonly keyMarkers = new Map<string, { marker: string; confirmed: KeySpend }>();
  private checkingKeys = false;

  constructor(
    private readonly client: RedisClient,
    private readonly ledger: SpendLedger,
    private readonly replica: string,
    private readonly onRestored: (restored: SpendRestored) => void,
  ) {
    client.defineCommand('gatewaySpendRestore', { numberOfKeys: 3, lua: RESTORE_SCRIPT });
    if (client instanceof Cluster) {
      this.ready = true;
      setInterval(() => client.status === 'ready' && void this.checkKeys(), LIVE_CHECK_MS).unref();
      return;
    }
    // Before any other listener: stores send their writes later (a timer, the next turn), after the check.
    client.prependListener('ready', this.check);
    if (client.status === 'ready') this.check();
    setInterval(() => client.status === 'ready' && this.checkLive(), LIVE_CHECK_MS).unref();
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (!this.opening) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.opening = { promise, resolve, reject };
    }
    return this.opening.promise;
  }

  /** Opens once the connection's check answered and no restore is under way. */
  private openIfSettled(): void {
    if (!this.pending && !this.restoring) this.open();
  }

  private open(): void {
    this.ready = true;
    this.opening?.resolve();
    this.opening = undefined;
  }

  /** The check got no answer: the admissions waiting fail now (the store's failure policy), later ones wait for the next check. */
  private unanswered(error: unknown): void {
    this.opening?.reject(error);
    this.opening = undefined;
  }

  private readonly check = (): void => {
    this.ready = false;
    const snapshot = (this.pending ??= this.ledger.snapshot(utcMonth()));
    const client = this.client;
    this.readMarker().then(
      (marker) => {
        const lost = this.marker !== undefined && marker !== this.marker;
        this.marker = marker;
        this.pending = undefined;
        this.confirmed = snapshot;
        if (lost) void this.restore(snapshot.map((spend) => ({ spend, marker })));
        else this.openIfSettled();
      },
      (error: unknown) => {
        // A Redis error answers (the copy is kept for the next connection's check): nothing to wait for.
        if (isReplyError(error)) return this.open();
        // No answer: checked again (the copy kept) on this connection shortly, or first on the next one.
        this.unanswered(error);
        setTimeout(() => client.status === 'ready' && this.pending === snapshot && this.check(), RETRY_MS).unref();
      },
    );
  };

  /** The check on a connection that stays up: a loss found so writes back only what was certainly lost. */
  private checkLive(): void {
    if (this.pending || this.marker === undefined) return;
    const snapshot = this.ledger.snapshot(utcMonth());
    this.readMarker().then(
      (marker) => {
        if (this.pending) return; // a reconnect's check is under way: it decides
        if (marker === this.marker) return void (this.confirmed = snapshot);
        const lost = this.confirmed;
        this.marker = marker;
        this.confirmed = snapshot;
        if (lost) void this.restore(lost.map((spend) => ({ spend, marker })));
      },
      () => undefined, // checked again in a moment, or on the next connection
    );
  }

  /**
   * The live check on a Redis Cluster, one marker per key recorded this month: a key whose marker is
   * gone or replaced gets back its ledger entry as of its last check that found the marker (what its
   * slot certainly lost), as checkLive does for a whole Redis. A key's first check only writes its
   * marker: spend it recorded in the second before (a loss then) is not restored.
   */
  private async checkKeys(): Promise<void> {
    if (this.checkingKeys) return;
    this.checkingKeys = true;
    try {
      const snapshot = this.ledger.snapshot(utcMonth());
      const lost: { spend: KeySpend; marker: string }[] = [];
      await Promise.all(
        snapshot.map((spend) =>
          this.readMarker(limitKeys(spend.keyId).marker).then(
            (marker) => {
              const known = this.keyMarkers.get(spend.keyId);
              this.keyMarkers.set(spend.keyId, { marker, confirmed: spend });
              if (known && known.marker !== marker) lost.push({ spend: known.confirmed, marker });
            },
            () => undefined, // checked again in a moment
          ),
        ),
      );
      // Keys of an earlier month leave the ledger: their markers are forgotten with them.
      if (this.keyMarkers.size > snapshot.length) {
        const current = new Set(snapshot.map((spend) => spend.keyId));
        for (const keyId of this.keyMarkers.keys()) if (!current.has(keyId)) this.keyMarkers.delete(keyId);
      }
      if (lost.length) await this.restore(lost);
    } finally {
      this.checkingKeys = false;
    }
  }

  /** The marker Redis holds, written first where it is missing: a new value each time, so it differs from every one seen before. */
  private async readMarker(key = MARKER_KEY): Promise<string> {
    const candidate = randomBytes(9).toString('hex');
    return (await this.client.set(key, candidate, 'NX', 'GET')) ?? candidate;
  }

  /** Writes `lost` back (writeBack); budgets are not decided on this connection until it ended. */
  private async restore(lost: { spend: KeySpend; marker: string }[]): Promise<void> {
    this.ready = false;
    this.restoring += 1;
    try {
      await this.writeBack(lost);
    } finally {
      this.restoring -= 1;
      this.openIfSettled();
    }
  }

  /** Writes back each key's `spend`, once per `marker` (the marker that found the loss names the restore). */
  private async writeBack(lost: { spend: KeySpend; marker: string }[]): Promise<void> {
    const call = this.client as unknown as { gatewaySpendRestore(...args: (string | number)[]): Promise<number> };
    const restored: SpendRestored = { keys: 0, usd: 0, failed: 0 };
    for (const { spend: entry, marker } of lost) {
      const args: (string | number)[] = [SPEND_RETENTION_SECONDS, RECORD_MS, entry.dayUsd.size];
      for (const map of [entry.dayUsd, entry.monthUsd]) for (const [model, amount] of map) args.push(model, amount);
      const record = limitKeys(entry.keyId).call(`restore-${this.replica}-${marker}`);
      const giveUpAt = Date.now() + RECORD_MS / 2;
      for (;;) {
        try {
          await call.gatewaySpendRestore(spendKey(entry.keyId, entry.day), spendKey(entry.keyId, entry.month), record, ...args);
          restored.keys += 1;
          for (const amount of entry.monthUsd.values()) restored.usd += amount;
          break;
        } catch (error) {
          if (isReplyError(error) || Date.now() >= giveUpAt || this.client.status === 'end') {
            restored.failed += 1;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        }
      }
    }
    this.onRestored(restored);
  }
}
