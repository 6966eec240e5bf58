import 'reflect-metadata';
import { IsBoolean, IsOptional, IsString, ValidateBy } from 'class-validator';

/**
 * How the gateway connects to the Redis named by REDIS_URL (`redisUrl`): a single
 * server, or a Redis Cluster (Memorystore for Redis Cluster, Memorystore for Valkey in
 * cluster mode) whose other nodes are discovered from that one.
 */
export class RedisConfig {
  /** Redis Cluster protocol (env REDIS_CLUSTER=true); REDIS_URL is then any node or the discovery endpoint. */
  @IsOptional() @IsBoolean() cluster = false;
  /**
   * PEM file of the CA that signed the server certificate of a `rediss://` Redis (env
   * REDIS_TLS_CA_FILE), e.g. Memorystore's in-transit encryption CA. Trusted for Redis only.
   */
  @IsOptional() @IsString() tlsCaFile?: string;
}

/** What connectRedis can connect to: a URL with a host, `rediss:` for TLS. */
function isRedisUrl(value: unknown): boolean {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
}

/** The message leaves the value out: it may hold the Redis password. */
export function IsRedisUrl(): PropertyDecorator {
  return ValidateBy({
    name: 'isRedisUrl',
    validator: {
      validate: isRedisUrl,
      defaultMessage: () => 'REDIS_URL must be a redis:// or rediss:// URL with a host (redis://[:password@]host[:port][/db])',
    },
  });
}
