import 'reflect-metadata';
import { IsBoolean, IsOptional, IsString } from 'class-validator';

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

/** Environment variables that override `redis.*`. */
export function redisFromEnv(raw: unknown, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const redis = { ...((raw as object) ?? {}) } as Record<string, unknown>;
  if (env.REDIS_CLUSTER) redis.cluster = env.REDIS_CLUSTER === 'true' || env.REDIS_CLUSTER === '1';
  if (env.REDIS_TLS_CA_FILE) redis.tlsCaFile = env.REDIS_TLS_CA_FILE;
  return redis;
}
