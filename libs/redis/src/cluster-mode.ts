import type { Redis } from 'ioredis';

/** Whether the server behind `node` is a Redis Cluster node: INFO cluster's `cluster_enabled:1`. */
export async function clusterEnabled(node: Redis): Promise<boolean> {
  return /^cluster_enabled:1\b/m.test(await node.info('cluster'));
}

/**
 * The configuration error when REDIS_CLUSTER (`configured`) does not match what the server at REDIS_URL is
 * (`enabled`), naming both settings and what to set; undefined when they match. Either way round, the gateway
 * would run with Redis unusable for most keys (MOVED on a cluster node read as a single Redis; no slot map from a
 * single Redis read as a cluster), its limits, budgets, keys and cache failing open, and look healthy.
 */
export function clusterModeMismatch(configured: boolean, enabled: boolean): string | undefined {
  if (configured === enabled) return undefined;
  return enabled
    ? 'REDIS_URL names a Redis Cluster node (INFO cluster: cluster_enabled:1) but REDIS_CLUSTER is not set: keys held by ' +
        'the other nodes would answer MOVED, and rate limits, budgets, keys and the cache would fail open. ' +
        'Set REDIS_CLUSTER=true (redis.cluster: true)'
    : 'REDIS_CLUSTER=true (redis.cluster) but REDIS_URL names a Redis that is not a cluster node (INFO cluster: ' +
        'cluster_enabled:0): the cluster client cannot read a slot map, and rate limits, budgets, keys and the cache ' +
        'would fail open. Unset REDIS_CLUSTER, or point REDIS_URL at a node of the cluster';
}
