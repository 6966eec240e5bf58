import type { Redis } from 'ioredis';

/** What a Redis node says of its eviction (INFO memory, stats). */
export interface Eviction {
  /** Bytes; 0: no limit, so nothing is ever evicted. */
  maxmemory: number;
  policy: string;
  /** Keys it evicted at maxmemory since it started. */
  evictedKeys: number;
}

/** `node`'s eviction state, in one INFO call. */
export async function evictionOf(node: Redis): Promise<Eviction> {
  const info = String(await node.call('INFO', 'memory', 'stats'));
  const field = (name: string) => new RegExp(`^${name}:([^\\r\\n]*)`, 'm').exec(info)?.[1] ?? '';
  return { maxmemory: Number(field('maxmemory')), policy: field('maxmemory_policy'), evictedKeys: Number(field('evicted_keys')) };
}

/**
 * What a policy other than `noeviction` removes at maxmemory besides the cache's entries, by the policy's prefix: none
 * of it is told to the gateway, so each loss lifts a limit (or counts spend twice) silently.
 */
export function evictionRisk(policy: string): string | undefined {
  if (policy.startsWith('volatile-'))
    return "keys with a TTL: rate windows, budget holds and spend (a key's limits and budget then count from zero)";
  if (policy.startsWith('allkeys-')) {
    return (
      'any key: rate windows, budget holds, spend, admin-created keys (their holders get 401) and the data marker ' +
      '(its loss is taken for a Redis restarted empty: the spend written again, counted twice)'
    );
  }
  return undefined;
}
