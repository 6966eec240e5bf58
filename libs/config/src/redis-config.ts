import 'reflect-metadata';
import { IsBoolean, IsOptional, IsString, ValidateBy } from 'class-validator';

/**
 * How the gateway connects to the Redis named by REDIS_URL (`redisUrl`): a single
 * server, or a Redis Cluster (Memorystore for Redis Cluster, Memorystore for Valkey in
 * cluster mode) whose other nodes are discovered from that one.
 */
export class RedisConfig {
  /**
   * Redis Cluster protocol (env REDIS_CLUSTER=true); REDIS_URL is then any node or the discovery
   * endpoint, or several nodes separated by commas (the first that answers tells the others).
   */
  @IsOptional() @IsBoolean() cluster = false;
  /**
   * PEM file of the CA that signed the server certificate of a `rediss://` Redis (env
   * REDIS_TLS_CA_FILE), e.g. Memorystore's in-transit encryption CA. Trusted for Redis only.
   */
  @IsOptional() @IsString() tlsCaFile?: string;
}

/**
 * The URLs of REDIS_URL: one, or on a Redis Cluster several seed nodes separated by commas, so a
 * gateway finds the cluster while one of them is down (ioredis tries them in turn). Split only at a
 * comma that starts another URL: a password may hold a comma (`redis://:a,b@host`).
 */
export function redisUrls(value: string): string[] {
  return value.split(/,(?=\s*rediss?:\/\/)/i).map((url) => url.trim());
}

/**
 * What connectRedis can connect to: URLs with a host, `rediss:` for TLS. Several share their
 * scheme and credentials, which every node takes (they are one cluster's).
 */
function isRedisUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const urls = redisUrls(value);
  if (!urls.every((url) => URL.canParse(url))) return false;
  const parsed = urls.map((url) => new URL(url));
  const same = (url: URL) =>
    url.protocol === parsed[0].protocol && url.username === parsed[0].username && url.password === parsed[0].password;
  return parsed.every((url) => (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' && same(url));
}

/** The message leaves the value out: it may hold the Redis password. */
export function IsRedisUrl(): PropertyDecorator {
  return ValidateBy({
    name: 'isRedisUrl',
    validator: {
      validate: isRedisUrl,
      defaultMessage: () =>
        'REDIS_URL must be a redis:// or rediss:// URL with a host (redis://[:password@]host[:port][/db]), or with REDIS_CLUSTER=true ' +
        'several separated by commas, with the same scheme and credentials',
    },
  });
}
