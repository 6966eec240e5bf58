import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig, MASTER_KEY_ID, secretFromEnv } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { MetricsService } from '@gateway/metrics';
import { RedisService, type RedisClient, type Subscription, withinBudget } from '@gateway/redis';
import { compareAndSet, defineCas, unlock } from './key-cas';
import { hashKey, KeyHashes } from './key-hashes';
import { type ChangeAction, ChangeLanding } from './key-landing';
import type { KeyRecord } from './key-record';

export { hashKey } from './key-hashes';

const RECORD_PREFIX = 'gateway:key:';
const ID_PREFIX = 'gateway:keyid:';
const IDS = 'gateway:keys';
const CHANNEL = 'gateway:keys:changed';
/**
 * A revocation is also announced on CHANNEL by key id, after the hash that drops the cached copies,
 * so every replica drops the key's metric series. A replica of an earlier version takes it for a
 * hash and forgets nothing: a rolling upgrade mixes them safely.
 */
const REVOKED_PREFIX = 'revoked:';
const CAS_ATTEMPTS = 5;
/**
 * Under the hash of a key's current secret, while the secret before it is in its grace: until when
 * (`previousSecretUntil`), expiring with it. Kept out of the record, where a replica of an earlier release
 * would echo it and keep it across a rotation of its own (after which it is no longer true): shown only
 * while the record it was written for is the key's current one.
 */
const GRACE_PREFIX = 'gateway:keygrace:';
/**
 * How long a grace marker is waited for (graceOf): the shared connection's command timeout, and on a Redis
 * Cluster its redirections and retries too.
 */
const GRACE_READ_MS = 500;
/** A grace marker that was not read in time (graceOf): its `previousSecretUntil` is unknown. */
const UNREAD = Symbol('unread');
/** What graceOf knows of a key's `previousSecretUntil`: until when, none (null), or UNREAD. */
type Grace = string | null | typeof UNREAD;
/**
 * A revocation retries far longer: every attempt it loses is another change that landed, and
 * none can undo a revocation once it lands, so a burst of PATCHes delays it but cannot refuse it.
 */
const REVOKE_CAS_ATTEMPTS = 100;
/**
 * Held by the rotation of a key while it runs (SET NX), so a rotation that starts meanwhile is refused
 * (409) rather than run after it: two rotations at once both answered 200, the first caller's secret
 * already replaced. It outlives a rotation unless Redis hangs (one that outlives it still cannot land
 * over another: its compare-and-set fails, rotateOn) and expires if the replica holding it dies mid-way. Longer
 * than a change whose landing answer was lost takes to settle (ChangeLanding, 5 s), so no other rotation of the
 * key starts before it is settled. One answered unsettled (Redis silent then, the lock not released) lets go of it
 * once settled in the background: the retry its caller makes then is not refused 409 until the lock expires.
 */
const ROTATING_PREFIX = 'gateway:keyrotating:';
const ROTATION_LOCK_MS = 15_000;
/**
 * A stored key's change: the record before and after, how many Redis nodes did not confirm its
 * announcement, and how many had no replica acknowledge its write in time (RedisService.unreplicated).
 */
export interface KeyChange {
  before: KeyRecord;
  after: KeyRecord;
  unconfirmed: number;
  unreplicated: number;
}
/**
 * Told of a change answered unsettled (a 503 `*_unsettled`) that was made after all (ChangeLanding.settleLater): the
 * record before and after it, as its answer would have told them.
 */
export type MadeLater = (change: Pick<KeyChange, 'before' | 'after'>) => void;
/** Unknown keys are remembered briefly, so guessing does not hit Redis on every try. */
const NEGATIVE_CACHE_MS = 1_000;
/**
 * At most this many unknown keys are remembered, the oldest forgotten first: every distinct
 * guess was kept until the process ended (3,000 junk bearer tokens, 3,000 hashes held).
 */
export const NEGATIVE_CACHE_MAX = 10_000;

/**
 * Gateway keys: declared in config (the key in an environment variable) or created
 * through the admin API and stored in Redis as their SHA-256 only. Lookups hash the
 * presented key and find it by hash, so no comparison runs over the secret itself; a key
 * found before is hashed once (KeyHashes), its hash then found by the key as presented.
 * Results are cached briefly in process; changes are announced on a Redis channel
 * so every replica drops its cached copy at once. The last record read from Redis
 * is kept for every key seen, so a Redis outage does not lock out known keys
 * (within `keyStaleMaxMs`); unknown keys still fail closed.
 */
@Injectable()
export class KeyStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Keys');
  private readonly fixed = new Map<string, KeyRecord>();
  private readonly cache = new Map<string, { record: KeyRecord; until: number }>();
  /** Unknown key hashes, until when they are taken as unknown; in insertion order, bounded. */
  private readonly unknown = new Map<string, number>();
  /** Last record read from Redis per key hash, and when; only for keys that exist. */
  private readonly lastKnown = new Map<string, { record: KeyRecord; at: number }>();
  /**
   * The key id of each hash a record was cached under (cache, lastKnown), and of the current hash an old
   * secret in its grace was resolved through: an announcement of any of them drops every record of the key
   * (forgetHash). A replica of an earlier release announces a change by the current hash only.
   */
  private readonly idOf = new Map<string, string>();
  private readonly hashes = new KeyHashes();
  private subscriber: Subscription | undefined;
  /**
   * Counts the announcements heard and the re-subscriptions: a record read from Redis is kept (cache, lastKnown) only
   * if none came while it was read, as one may be of the change that record predates.
   */
  private announcements = 0;
  private readonly landing: ChangeLanding;

  constructor(
    private readonly config: GatewayConfig,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {
    this.landing = new ChangeLanding(redis, this.logger);
    if (config.masterKey) this.fixed.set(hashKey(config.masterKey), { id: MASTER_KEY_ID, name: 'master key', source: 'master' });
    for (const k of config.security.keys) {
      const key = secretFromEnv(k.keyEnv);
      if (!key) {
        this.logger.warn(`key ${k.id} disabled: ${k.keyEnv} is not set`);
        continue;
      }
      const { keyEnv: _env, ...limits } = k;
      this.fixed.set(hashKey(key), { ...limits, source: 'config' });
    }
  }

  onModuleInit(): void {
    // A changed key is forgotten entirely: if Redis goes away now, it fails closed
    // rather than working on the record from before the change.
    this.subscriber = this.redis.subscribe(CHANNEL, {
      onMessage: (message) => {
        this.announcements++;
        if (!message.startsWith(REVOKED_PREFIX)) return this.forgetHash(message);
        const id = message.slice(REVOKED_PREFIX.length);
        this.forgetKey(id);
        this.metrics.forgetKey(id);
      },
      // Subscribed again after a loss: changes announced meanwhile were missed, so no record read before is used
      // as a cached one: each key's next lookup reads Redis, and refreshes its last-known record. The last-known
      // records stay, for a Redis outage (README: keys seen within keyStaleMaxMs keep working): forgotten, one
      // subscriber drop on a cluster whose node died, or before a freeze, made every key a 503 (recheck29c).
      onSubscribed: () => {
        this.announcements++;
        this.cache.clear();
        this.unknown.clear();
      },
    });
    const client = this.redis.client;
    if (client) this.redis.whenReady(client, () => this.reportIdClashes(client));
  }

  /**
   * Warns of each config key whose id a key created through the admin API (live, in Redis) has too: an operator
   * moving a key into the config file under its id. Both secrets then work as one tenant (limits, spend, stored
   * responses, cache), and GET /admin/keys/{id} shows the config key; PATCH, DELETE and rotation by that id act on
   * the stored key (refuseConfigKey), which stays revocable. Checked once Redis answers (it may be down at start-up).
   */
  private async reportIdClashes(client: RedisClient): Promise<void> {
    for (const { id } of this.configKeys()) {
      const stored = await this.current(client, id);
      if (!stored || isRevoked(JSON.parse(stored.raw) as Rotated)) continue;
      this.logger.error(
        `config key ${id} has the id of a key created through the admin API (in Redis): both secrets work, as one tenant ` +
          `(limits, spend, stored responses, cache). Give the config key another id, or revoke the API key ` +
          `(DELETE /admin/keys/${id} revokes it; changes by that id reach the API key, never the config one)`,
      );
    }
  }

  onApplicationShutdown(): void {
    this.subscriber?.close();
  }

  /**
   * The record of a presented key, or undefined when it is unknown. Redis down: the
   * last known record when it is recent enough, else 503 (never an unchecked key). The record
   * itself when the process knows the answer (a configured key, a cached record, a recent
   * guess), a promise only when Redis is asked.
   */
  lookup(key: string): KeyRecord | undefined | Promise<KeyRecord | undefined> {
    const hash = this.hashes.of(key);
    const fixed = this.fixed.get(hash);
    if (fixed) {
      this.hashes.keep(key, hash);
      return fixed;
    }
    const now = Date.now();
    // Cached only while every change is heard: with the subscriber away (a dropped connection not yet subscribed
    // again), each lookup reads Redis, as none would tell this replica of a revocation.
    const cached = this.subscriber?.live ? this.cache.get(hash) : undefined;
    if (cached && cached.until > now) {
      this.hashes.keep(key, hash);
      return cached.record;
    }
    if ((this.unknown.get(hash) ?? 0) > now) return undefined;
    return this.fetch(key, hash, now);
  }

  /** A key known neither in config nor in the cache, read from Redis (lookup's round trip). */
  private async fetch(key: string, hash: string, now: number): Promise<KeyRecord | undefined> {
    const client = this.redis.client;
    if (!client) return undefined;
    const heard = this.announcements;
    let raw: string | null;
    try {
      raw = await client.get(RECORD_PREFIX + hash);
    } catch {
      return this.lastKnownOr503(hash, now);
    }
    if (!raw) {
      this.forget(hash);
      this.rememberUnknown(hash, now + NEGATIVE_CACHE_MS);
      return undefined;
    }
    const stored = JSON.parse(raw) as Rotated;
    // An old secret in its grace (a revoked marker without graceUntil is one rotated without a grace).
    const graced = stored.rotatedTo !== undefined && stored.graceUntil !== undefined;
    let record: KeyRecord = stored;
    try {
      if (graced) record = await this.inGrace(client, stored);
    } catch {
      return this.lastKnownOr503(hash, now);
    }
    this.hashes.keep(key, hash);
    // An announcement heard meanwhile may be of a change this read predates: answered, not kept.
    if (this.announcements !== heard) return record;
    this.cache.set(hash, { record, until: now + this.config.security.keyCacheMs });
    this.lastKnown.set(hash, { record, at: now });
    this.idOf.set(hash, record.id);
    if (graced) this.idOf.set(stored.rotatedTo!, record.id);
    return record;
  }

  /**
   * What the old secret of a key rotated with a grace period is, from `marker`, the record left under its
   * hash: the key as it is now (so changes and a revocation reach it) until the grace ends (`graceUntil`,
   * checked on each request: no timer). A later rotation ends the grace: the record it names is then
   * itself a marker, and the old secret is refused as revoked. The marker itself is revoked: a replica of an
   * earlier release, which knows nothing of graces, refuses the old secret from the rotation on.
   */
  private async inGrace(client: RedisClient, marker: Rotated): Promise<KeyRecord> {
    const raw = await client.get(RECORD_PREFIX + marker.rotatedTo);
    const current = raw ? (JSON.parse(raw) as Rotated) : undefined;
    if (!current || current.rotatedTo) return { ...shown(marker), revoked: true };
    return { ...shown(current), graceUntil: marker.graceUntil };
  }

  private rememberUnknown(hash: string, until: number): void {
    if (this.unknown.size >= NEGATIVE_CACHE_MAX) this.unknown.delete(this.unknown.keys().next().value!);
    this.unknown.set(hash, until);
  }

  private lastKnownOr503(hash: string, now: number): KeyRecord {
    const known = this.lastKnown.get(hash);
    if (known && now - known.at <= this.config.security.keyStaleMaxMs) {
      this.metrics.recordStaleKeyLookup('served');
      return known.record;
    }
    this.metrics.recordStaleKeyLookup('refused');
    throw new GatewayError(503, 'The key store is unavailable; try again shortly.', 'server_error', 'key_store_unavailable', null, {
      'retry-after': '1',
    });
  }

  private forget(hash: string): void {
    this.cache.delete(hash);
    this.unknown.delete(hash);
    this.lastKnown.delete(hash);
    this.idOf.delete(hash);
  }

  /** Drops the record under `hash` and, if it is of a key this process knows, every record of that key. */
  private forgetHash(hash: string): void {
    const id = this.idOf.get(hash);
    this.forget(hash);
    if (id !== undefined) this.forgetKey(id);
  }

  /** Drops every record of key `id`: its current secret's and any old secret's in its grace. */
  private forgetKey(id: string): void {
    for (const [hash, of] of this.idOf) if (of === id) this.forget(hash);
  }

  /**
   * Creates a key; the returned `key` is shown once and never stored. `unreplicated`: nodes where no replica
   * acknowledged the writes in time (see replicated()).
   */
  async create(fields: Omit<KeyRecord, 'id' | 'source' | 'createdAt'>): Promise<{ key: string; record: KeyRecord; unreplicated: number }> {
    this.needRedis();
    return this.changing(async (client) => {
      const key = newKey();
      const hash = hashKey(key);
      const record: KeyRecord = { ...fields, id: randomUUID(), source: 'admin', createdAt: new Date().toISOString() };
      const keys = [RECORD_PREFIX + hash, ID_PREFIX + record.id, IDS];
      // Three slots on Redis Cluster, so no MULTI: the record first, so a failure part-way leaves at worst a
      // key that works but is not listed (never a listed id without a record), and that is undone.
      try {
        await client.set(keys[0], JSON.stringify(record));
        await client.set(keys[1], hash);
        await client.sadd(IDS, record.id);
      } catch (error) {
        // The caller is told to try again (503) and never sees the secret: nothing of this create stays. On the
        // same connection, so after any of its writes that timed out; lost with it only if Redis is gone too.
        await Promise.all([...deletions(client, keys[0], keys[1]), client.srem(IDS, record.id)].map((undo) => undo.catch(() => undefined)));
        throw error;
      }
      return { key, record, unreplicated: await this.replicated(client, record.id, keys) };
    });
  }

  /**
   * Every key: config keys, then stored ones. Without Redis (no REDIS_URL) the config keys alone, which
   * each read answers too (`configOnly`: keys created through the admin API are stored in Redis only).
   */
  async list(): Promise<{ keys: KeyRecord[]; configOnly: boolean }> {
    const client = this.redis.client;
    if (!client) return { keys: this.configKeys(), configOnly: true };
    const ids = await client.smembers(IDS);
    // The records first, then their grace markers: one not read in time leaves its field unknown, not the list 503.
    const stored = await Promise.all(ids.map((id) => this.current(client, id)));
    const records = await Promise.all(stored.filter((s) => s !== undefined).map((s) => this.withGrace(s)));
    return { keys: [...this.configKeys(), ...records], configOnly: false };
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const configured = this.configKeys().find((r) => r.id === id);
    if (configured) return configured;
    const client = this.needRedis();
    const stored = await this.current(client, id);
    return stored && this.withGrace(stored);
  }

  /** A stored record (current) as the admin API shows it, with its grace (graceOf). */
  private async withGrace({ hash, raw }: { hash: string; raw: string }): Promise<KeyRecord> {
    const record = JSON.parse(raw) as Rotated;
    return shown(record, await this.graceOf(hash, record));
  }

  /**
   * Until when the old secret of `record` (stored under `hash`) works on, if it is in a grace (only a rotated key
   * has one), read on the shared connection within GRACE_READ_MS. A node that does not answer it (paused, failing
   * over) leaves it UNREAD, named unknown in the answer (shown), and holds nothing else up: not the rest of a
   * key or of the list, nor a change (read before it is made), a revocation above all, nor leaves one made behind a
   * 503 (a rotation's new secret never handed out).
   */
  private graceOf(hash: string, record: KeyRecord): Promise<Grace> {
    if (!record.rotatedAt) return Promise.resolve(null);
    return withinBudget(this.redis.client!.get(GRACE_PREFIX + hash), GRACE_READ_MS).catch(() => UNREAD);
  }

  /**
   * The hash and stored record of key `id`, or undefined. A record left under the hash of a rotated
   * key's old secret (`rotatedTo`) is passed over to the new one, and the id pointed there if the
   * rotation stopped before it did (rotate(); `repair`: on the writer, which has the compare-and-set script).
   */
  private async current(client: RedisClient, id: string, repair = false): Promise<{ hash: string; raw: string } | undefined> {
    let hash = await client.get(ID_PREFIX + id);
    for (let hop = 0; hash && hop < CAS_ATTEMPTS; hop++) {
      const raw = await client.get(RECORD_PREFIX + hash);
      if (!raw) return undefined;
      const { rotatedTo } = JSON.parse(raw) as Rotated;
      if (!rotatedTo) return { hash, raw };
      if (repair) await compareAndSet(client, ID_PREFIX + id, hash, rotatedTo);
      hash = rotatedTo;
    }
    return undefined;
  }

  /**
   * Applies `edit` to a stored key (the gateway's own fields are kept whatever it
   * returns) and tells every replica to drop its cached copy. `madeLater`: told if it is made after all once answered
   * unsettled.
   */
  async update(id: string, edit: (record: KeyRecord) => KeyRecord, madeLater?: MadeLater, action: Edit = 'update'): Promise<KeyChange> {
    await this.refuseConfigKey(this.needRedis(), id);
    return this.changing((client) => this.updateOn(client, id, edit, action, madeLater));
  }

  private async updateOn(
    client: RedisClient,
    id: string,
    edit: (record: KeyRecord) => KeyRecord,
    action: Edit,
    madeLater: MadeLater | undefined,
  ): Promise<KeyChange> {
    // Compare-and-set: a change racing another (a PATCH against a DELETE, or a rotation) is applied
    // to the record it read or retried, so it can never undo the other. The id is read again on each
    // try: a rotation moves the record to another hash.
    const attempts = action === 'revocation' ? REVOKE_CAS_ATTEMPTS : CAS_ATTEMPTS;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const { hash, raw, before } = await this.toChange(client, id);
      const after: Rotated = { ...edit(shown(before)), id, source: 'admin', createdAt: before.createdAt };
      if (before.rotatedAt) after.rotatedAt = before.rotatedAt;
      if (before.revoked) after.revoked = true;
      if (before.fence) after.fence = before.fence;
      const grace = await this.graceOf(hash, before);
      const value = JSON.stringify(after);
      // Made, when its answer was lost: a revocation by any revoked record (revocation is final), a PATCH by its
      // own bytes, not told when another change replaced the record meanwhile (it may have landed just before).
      const made =
        action === 'revocation'
          ? (now: string) => isRevoked(JSON.parse(now) as Rotated)
          : (now: string) => (now === value ? true : now === raw ? false : undefined);
      const shownChange = { before: shown(before, grace), after: shown(after, grace) };
      // The old secret in its grace finds this record too: replicas drop it with this one (forgetHash). Without
      // the writer if the answer was lost (land dropped it): nothing to WAIT on.
      const announce = (writer?: RedisClient) => this.announce(writer, id, [hash], [RECORD_PREFIX + hash]);
      const madeAfterAll = async () => {
        await announce();
        if (action === 'revocation') await this.announceRevocation(id);
        madeLater?.(shownChange);
      };
      const landing = await this.landing.land(client, { id, action, key: RECORD_PREFIX + hash, raw, value, made, madeAfterAll });
      if (landing === 'lost') continue;
      if (landing instanceof Error) throw landing;
      return { ...shownChange, ...(await announce(landing === 'landed' ? client : undefined)) };
    }
    throw keyChanged(id);
  }

  /**
   * A new secret for stored key `id`, shown once: the key keeps its id, so its tenant (spend, limit
   * windows, stored responses, threads, cache namespace) and record. The record moves to the new
   * secret's hash; the one under the old hash becomes a marker naming the new hash (`rotatedTo`) by
   * compare-and-set, the point where the rotation lands against concurrent PATCHes and DELETEs (which
   * then follow it). Without `graceMs` the marker is revoked and the old secret stops on every replica
   * at once, as a revocation does; with it, the old secret is the key until then (inGrace), and stops
   * by itself. Either way a grace still running from the rotation before ends (its secret's marker
   * names a marker now). One rotation of a key at a time: one started while another runs is refused
   * with 409, so every 200 hands out the secret the key has. `refuse` may throw for the record as it
   * stands (a revoked key). `madeLater`: told if it is made after all once answered unsettled (its secret lost).
   */
  async rotate(id: string, refuse: (record: KeyRecord) => void, graceMs = 0, madeLater?: MadeLater): Promise<KeyChange & { key: string }> {
    await this.refuseConfigKey(this.needRedis(), id);
    return this.changing(async (client) => {
      const lock = ROTATING_PREFIX + id;
      const token = randomUUID();
      if ((await client.set(lock, token, 'PX', ROTATION_LOCK_MS, 'NX')) !== 'OK') throw rotationInProgress(id);
      // On the shared connection once the writer is dropped (ChangeLanding.land). Left to expire if Redis fails
      // now: the rotation is made or not, as its answer says; one answered unsettled lets go again once settled.
      const release = () => unlock(client.status === 'ready' ? client : this.redis.client!, lock, token).catch(() => undefined);
      try {
        return await this.rotateOn(client, id, refuse, graceMs, release, madeLater);
      } finally {
        await release();
      }
    });
  }

  private async rotateOn(
    client: RedisClient,
    id: string,
    refuse: (record: KeyRecord) => void,
    graceMs: number,
    settled: () => Promise<unknown>,
    madeLater: MadeLater | undefined,
  ): Promise<KeyChange & { key: string }> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const { hash, raw, before } = await this.toChange(client, id);
      refuse(before);
      const previous = await this.graceOf(hash, before);
      const key = newKey();
      const newHash = hashKey(key);
      const now = Date.now();
      const after: Rotated = { ...shown(before), rotatedAt: new Date(now).toISOString() };
      // Revoked for a replica of an earlier release, which takes the marker for the key itself (inGrace).
      const marker: Rotated = { ...shown(before), rotatedTo: newHash, revoked: true };
      const until = graceMs > 0 ? new Date(now + graceMs).toISOString() : undefined;
      if (until) marker.graceUntil = until;
      // Reachable only by the new secret, which nobody has yet, until the id points to it.
      await client.set(RECORD_PREFIX + newHash, JSON.stringify(after));
      if (until) await client.set(GRACE_PREFIX + newHash, until, 'PX', graceMs);
      const unmade = [RECORD_PREFIX + newHash, ...(until ? [GRACE_PREFIX + newHash] : [])];
      const shownChange = { before: shown(before, previous), after: shown(after, until) };
      // Once the marker is made (landed, or found made): every step is best effort, and the new secret is answered
      // whatever fails. Without `writer` if the marker's answer was lost (land dropped it): the shared connection,
      // and no WAIT on it.
      const announce = async (writer?: RedisClient) => {
        // Readers follow the marker meanwhile, and the next change points the id on (current).
        await compareAndSet(writer ?? this.redis.client!, ID_PREFIX + id, hash, newHash).catch(() => undefined);
        // The secret before this one, if still in its grace, stops now: replicas drop it with this one (forgetHash).
        const written = [RECORD_PREFIX + newHash, RECORD_PREFIX + hash, ID_PREFIX + id, ...(until ? [GRACE_PREFIX + newHash] : [])];
        return this.announce(writer, id, [hash, newHash], written);
      };
      const landing = await this.landing.land(client, {
        id,
        action: 'rotation',
        key: RECORD_PREFIX + hash,
        raw,
        value: JSON.stringify(marker),
        made: (now) => (JSON.parse(now) as Rotated).rotatedTo === newHash,
        settled,
        madeAfterAll: async () => {
          await announce();
          madeLater?.(shownChange);
        },
      });
      if (landing === 'lost') {
        await Promise.all(deletions(client, ...unmade));
        // Another rotation landed (one that outlived its lock, or a replica of an earlier version's): it wins.
        const landed = await client.get(RECORD_PREFIX + hash);
        if (landed && (JSON.parse(landed) as Rotated).rotatedTo) throw rotationInProgress(id);
        continue;
      }
      if (landing instanceof Error) {
        // Fenced: it never lands. Left to nobody (no secret reaches them) if Redis fails now.
        await Promise.all(deletions(this.redis.client!, ...unmade)).catch(() => undefined);
        throw landing;
      }
      return { key, ...shownChange, ...(await announce(landing === 'landed' ? client : undefined)) };
    }
    throw keyChanged(id);
  }

  /** The stored record of key `id` for a change (current() on the writer), or the 404. */
  private async toChange(client: RedisClient, id: string): Promise<{ hash: string; raw: string; before: Rotated }> {
    const stored = await this.current(client, id, true);
    if (!stored) throw keyNotFound(id);
    return { ...stored, before: JSON.parse(stored.raw) as Rotated };
  }

  /**
   * Tells every replica to drop its cached copies of the records under `hashes` (a change of `id` written to
   * `keys`), and waits for a Redis replica to have the writes. Every replica has been sent the change before
   * the caller hears it is made, or the caller hears which nodes did not confirm it: replicas subscribed
   * there may use the old record until it reaches them over the cluster bus, or for keyCacheMs at most.
   */
  private async announce(
    writer: RedisClient | undefined,
    id: string,
    hashes: string[],
    keys: string[],
  ): Promise<Pick<KeyChange, 'unconfirmed' | 'unreplicated'>> {
    // Known here at once, not when this replica's own announcement comes back from Redis (later than the answer on
    // a busy host): every record of the key goes, an old secret's in its grace too, whose hash the change may not
    // name; and a read under way, which may predate the change, is answered but not kept (fetch).
    this.announcements++;
    this.forgetKey(id);
    for (const hash of hashes) this.forgetHash(hash);
    const [published, unreplicated] = await Promise.all([
      // The change is made: a node that confirms none (on a single Redis, the node) is counted, not a 503.
      Promise.all(
        hashes.map((hash) => this.redis.publishToAll(CHANNEL, hash).catch(() => ({ receivers: 0, unconfirmed: this.redis.nodeCount() }))),
      ),
      this.replicated(writer, id, keys),
    ]);
    const unconfirmed = Math.max(...published.map((p) => p.unconfirmed));
    if (unconfirmed) {
      this.logger.warn(
        `key ${id} changed, but ${unconfirmed} Redis node(s) did not confirm its announcement: ` +
          `replicas subscribed there may use the old record for up to ${this.config.security.keyCacheMs} ms`,
      );
    }
    return { unconfirmed, unreplicated };
  }

  /**
   * Marks a stored key revoked; every replica drops its cached copy at once, and its metric series. `madeLater`: told
   * if it is made after all once answered unsettled.
   */
  async revoke(id: string, madeLater?: MadeLater): Promise<KeyChange> {
    const change = await this.update(id, (record) => ({ ...record, revoked: true }), madeLater, 'revocation');
    await this.announceRevocation(id);
    return change;
  }

  /** After a revocation is made (its record announced): every replica drops the key's metric series. */
  private async announceRevocation(id: string): Promise<void> {
    this.metrics.forgetKey(id);
    // The revocation is made: Redis failing now leaves other replicas its series until they restart, not the key usable.
    await this.redis.publishToAll(CHANNEL, REVOKED_PREFIX + id).catch((err: Error) => {
      this.logger.warn(`key ${id} revoked; other replicas keep its metric series (announcing it failed: ${err.message})`);
    });
  }

  /**
   * Runs a key change on a connection of its own (RedisService.durably: WAIT blocks a connection and counts
   * only its writes), with the compare-and-set script.
   */
  private changing<T>(change: (client: RedisClient) => Promise<T>): Promise<T> {
    return this.redis.durably((writer) => {
      defineCas(writer);
      return change(writer);
    });
  }

  /**
   * Waits (bounded) for a Redis replica to acknowledge the writes of key `id` to `keys`, so a failover right
   * after the answer does not lose them; how many nodes had none do so in time (0 without replicas). The change
   * is made either way: the answer says so (x-gateway-unreplicated-nodes) and the log warns.
   */
  private async replicated(writer: RedisClient | undefined, id: string, keys: string[]): Promise<number> {
    // Without its writer (dropped, ChangeLanding.land) nothing can be waited for: counted as not acknowledged.
    const unreplicated = writer ? await this.redis.unreplicated(writer, keys).catch(() => 1) : 1;
    if (unreplicated) {
      this.logger.warn(
        `key ${id} written, but no Redis replica acknowledged it on ${unreplicated} node(s) in time: a failover now could lose the change`,
      );
    }
    return unreplicated;
  }

  /**
   * 409 for a config key's id, unless a key created through the admin API has that id too (reportIdClashes): the
   * change is then for the stored key, the only one the API can change, so that it stays revocable.
   */
  private async refuseConfigKey(client: RedisClient, id: string): Promise<void> {
    if (this.configKeys().some((r) => r.id === id) && !(await client.exists(ID_PREFIX + id))) {
      throw new GatewayError(409, `Key ${id} is declared in the config file; change it there.`, 'invalid_request_error', 'key_in_config');
    }
  }

  private configKeys(): KeyRecord[] {
    return [...this.fixed.values()].filter((r) => r.source === 'config');
  }

  private needRedis(): RedisClient {
    const client = this.redis.client;
    if (!client)
      throw new GatewayError(
        503,
        'Managing keys needs Redis (set REDIS_URL); config keys are read-only.',
        'server_error',
        'redis_required',
      );
    return client;
  }
}

/** A new key's secret: 256 random bits. */
function newKey(): string {
  return `gw-${randomBytes(32).toString('base64url')}`;
}

/** The changes update() makes: a PATCH, or a revocation (revoke). */
type Edit = Exclude<ChangeAction, 'rotation'>;

/**
 * A stored record with the store's own link: under a rotated key's old hash, the marker naming the hash of
 * its new secret (`rotatedTo`; the old secret works on until `graceUntil` when set, inGrace). `previousHash`
 * and `previousSecretUntil` were written into the current record by a build before this one: never shown.
 * `fence`: written by ChangeLanding.settle so a lost change can never land; kept by every write, never shown.
 */
type Rotated = KeyRecord & { rotatedTo?: string; previousHash?: string; fence?: string };

/**
 * `record` as the admin API shows it: without the store's links (hashes of secrets) nor a grace marker's
 * fields, with `previousSecretUntil` from the grace kept beside it (GRACE_PREFIX) unless the key is revoked,
 * or, when that was not read in time, `unknownFields` naming it.
 */
function shown(record: Rotated, grace?: Grace): KeyRecord {
  const { rotatedTo: _to, previousHash: _hash, previousSecretUntil: _until, graceUntil: _grace, fence: _fence, ...rest } = record;
  if (!grace || rest.revoked) return rest;
  return grace === UNREAD ? { ...rest, unknownFields: ['previousSecretUntil'] } : { ...rest, previousSecretUntil: grace };
}

function rotationInProgress(id: string): GatewayError {
  return new GatewayError(
    409,
    `Key ${id} is being rotated by another request, whose caller gets its new secret; rotate again only to replace that one.`,
    'invalid_request_error',
    'key_rotation_in_progress',
    'id',
    // The OpenAI SDKs retry a 409 by default: a retry would replace the secret the other caller was just given.
    { 'x-should-retry': 'false' },
  );
}

/** A revoked key's record: not a rotation's marker, which is revoked only for replicas of an earlier release (inGrace). */
function isRevoked(record: Rotated): boolean {
  return record.revoked === true && record.rotatedTo === undefined;
}

function keyNotFound(id: string): GatewayError {
  return new GatewayError(404, `No key with id ${id}.`, 'not_found_error', 'key_not_found', 'id');
}

function keyChanged(id: string): GatewayError {
  return new GatewayError(409, `Key ${id} is being changed concurrently; try again.`, 'invalid_request_error', 'key_changed');
}

/**
 * One DEL a key: the keys of one record live in several hash slots, and a Redis Cluster refuses a DEL naming two
 * (CROSSSLOT: cluster34 D2 and D4, a rotation that lost its race to a PATCH answered 500, a create's undo left its
 * record behind).
 */
function deletions(client: RedisClient, ...keys: string[]): Promise<number>[] {
  return keys.map((key) => client.del(key));
}
