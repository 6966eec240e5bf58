import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { RedisService, type RedisClient } from '@gateway/redis';
import type { KeyRecord } from './key-record';

const RECORD_PREFIX = 'gateway:key:';
const ID_PREFIX = 'gateway:keyid:';
const IDS = 'gateway:keys';
const CHANNEL = 'gateway:keys:changed';
/** Unknown keys are remembered briefly, so guessing does not hit Redis on every try. */
const NEGATIVE_CACHE_MS = 1_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Gateway keys: declared in config (the key in an environment variable) or created
 * through the admin API and stored in Redis as their SHA-256 only. Lookups hash the
 * presented key and find it by hash, so no comparison runs over the secret itself.
 * Results are cached briefly in process; changes are announced on a Redis channel
 * so every replica drops its cached copy at once.
 */
@Injectable()
export class KeyStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Keys');
  private readonly fixed = new Map<string, KeyRecord>();
  private readonly cache = new Map<string, { record: KeyRecord | undefined; until: number }>();
  private subscriber: RedisClient | undefined;

  constructor(
    private readonly config: GatewayConfig,
    private readonly redis: RedisService,
  ) {
    if (config.masterKey) this.fixed.set(hashKey(config.masterKey), { id: 'master', name: 'master key', source: 'master' });
    for (const k of config.security.keys) {
      const key = process.env[k.keyEnv];
      if (!key) {
        this.logger.warn(`key ${k.id} disabled: ${k.keyEnv} is not set`);
        continue;
      }
      const { keyEnv: _env, ...limits } = k;
      this.fixed.set(hashKey(key), { ...limits, source: 'config' });
    }
  }

  onModuleInit(): void {
    this.subscriber = this.redis.subscribe(CHANNEL, (hash) => this.cache.delete(hash));
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** The record of a presented key, or undefined when it is unknown. Redis down and key not cached: 503. */
  async lookup(key: string): Promise<KeyRecord | undefined> {
    const hash = hashKey(key);
    const fixed = this.fixed.get(hash);
    if (fixed) return fixed;
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.record;
    const client = this.redis.client;
    if (!client) return undefined;
    let raw: string | null;
    try {
      raw = await client.get(RECORD_PREFIX + hash);
    } catch {
      // Unknown keys fail closed: an outage must not let an unchecked key in.
      throw new GatewayError(503, 'The key store is unavailable; try again shortly.', 'server_error', 'key_store_unavailable', null, {
        'retry-after': '1',
      });
    }
    const record = raw ? (JSON.parse(raw) as KeyRecord) : undefined;
    this.cache.set(hash, { record, until: now + (record ? this.config.security.keyCacheMs : NEGATIVE_CACHE_MS) });
    return record;
  }

  /** Creates a key; the returned `key` is shown once and never stored. */
  async create(fields: Omit<KeyRecord, 'id' | 'source' | 'createdAt'>): Promise<{ key: string; record: KeyRecord }> {
    const client = this.needRedis();
    const key = `gw-${randomBytes(32).toString('base64url')}`;
    const hash = hashKey(key);
    const record: KeyRecord = { ...fields, id: randomUUID(), source: 'admin', createdAt: new Date().toISOString() };
    await client
      .multi()
      .set(RECORD_PREFIX + hash, JSON.stringify(record))
      .set(ID_PREFIX + record.id, hash)
      .sadd(IDS, record.id)
      .exec();
    return { key, record };
  }

  async list(): Promise<KeyRecord[]> {
    const client = this.needRedis();
    const ids = await client.smembers(IDS);
    const records = await Promise.all(ids.map((id) => this.get(id)));
    const stored = records.filter((r): r is KeyRecord => r !== undefined);
    return [...this.configKeys(), ...stored];
  }

  async get(id: string): Promise<KeyRecord | undefined> {
    const configured = this.configKeys().find((r) => r.id === id);
    if (configured) return configured;
    const client = this.needRedis();
    const hash = await client.get(ID_PREFIX + id);
    const raw = hash && (await client.get(RECORD_PREFIX + hash));
    return raw ? (JSON.parse(raw) as KeyRecord) : undefined;
  }

  /** Applies `change` to a stored key and tells every replica to drop its cached copy. */
  async update(id: string, change: Partial<KeyRecord>): Promise<KeyRecord> {
    const client = this.needRedis();
    if (this.configKeys().some((r) => r.id === id)) {
      throw new GatewayError(409, `Key ${id} is declared in the config file; change it there.`, 'invalid_request_error', 'key_in_config');
    }
    const hash = await client.get(ID_PREFIX + id);
    const raw = hash && (await client.get(RECORD_PREFIX + hash));
    if (!hash || !raw) throw new GatewayError(404, `No key with id ${id}.`, 'not_found_error', 'key_not_found', 'id');
    const record: KeyRecord = { ...(JSON.parse(raw) as KeyRecord), ...change, id, source: 'admin' };
    await client.set(RECORD_PREFIX + hash, JSON.stringify(record));
    this.cache.delete(hash);
    await client.publish(CHANNEL, hash);
    return record;
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
