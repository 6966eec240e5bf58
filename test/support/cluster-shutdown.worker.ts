/**
 * A process that connects the gateway's Redis Cluster client to the cluster at argv[2] and shuts it down the
 * moment it has connected (its slots read, its ready check under way), as a gateway stopped during start-up
 * does. With nothing left running it exits by itself (redis-cluster e2e).
 */
import { Logger } from '@nestjs/common';
import { parseConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';

Logger.overrideLogger(false);
const redis = new RedisService(
  parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, { REDIS_URL: process.argv[2], REDIS_CLUSTER: 'true' }),
);
redis.client!.once('connect', () => void redis.onApplicationShutdown());
