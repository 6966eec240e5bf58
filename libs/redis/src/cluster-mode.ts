import type { Redis } from 'ioredis';

/** Whether the server behind `node` is a Redis Cluster node: INFO cluster's `cluster_enabled:1`. */
export async function clusterEnabled(node: Redis): Promise<boolean> {
  return /^cluster_enabled:1\b/m.test(await node.info('cluster'));
}

/**
 * Whether the server behind `node` is the primary of a cluster of one shard holding every slot (a managed
 * cluster with one shard, a one-node dev cluster, Dragonfly's emulated cluster mode): a plain client there is
 * never answered MOVED, so REDIS_CLUSTER unset works until the cluster is split. Unanswered (an ACL refusing
 * CLUSTER INFO): false, the cluster taken as split.
 */
export async function soleShard(node: Redis): Promise<boolean> {
  const [info, replication] = await Promise.all([
    node.call('CLUSTER', 'INFO').then(String, () => ''),
    node.info('replication').catch(() => ''),
  ]);
  return /^cluster_size:1\b/m.test(info) && /^cluster_slots_assigned:16384\b/m.test(info) && /^role:master\b/m.test(replication);
}

/** The warning for a sole shard used as a single Redis: it works, until the cluster gets a second shard. */
export const SOLE_SHARD_WARNING =
  'REDIS_URL names the only shard of a Redis Cluster (every slot on this node) and REDIS_CLUSTER is not set: it ' +
  'works as a single Redis while no slot moves; set REDIS_CLUSTER=true before the cluster is resharded or scaled out';

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
