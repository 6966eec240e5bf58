import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisMonitor } from './redis-monitor';

const TIMEOUT_MS = 30_000;

/**
 * Until `connections` connections (one per gateway replica) have each sent `count` checks of the spend
 * recovery's data marker `key` to `redis` from now on (SpendRecovery: `SET key … NX GET`, the first command on
 * a new connection, then one a second), watched with MONITOR, for up to 30 s. A replica copies its ledger as
 * it sends a check, so the second check after a write that Redis shows also covers the write's confirmation,
 * which reaches the replica after Redis ran the write. (A fixed wait of a check's period and a half was short
 * on a busy host, whose timers fire late.)
 */
export async function markerChecks(redis: Redis, key: string, connections: number, count = 2): Promise<void> {
  const monitor = await RedisMonitor.start(redis);
  const bySource = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  try {
    const checked = new Promise<boolean>((resolve) => {
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (String(args[0]).toUpperCase() !== 'SET' || args[1] !== key) return;
        bySource.set(source, (bySource.get(source) ?? 0) + 1);
        if ([...bySource.values()].filter((n) => n >= count).length >= connections) resolve(true);
      });
      timer = setTimeout(() => resolve(false), TIMEOUT_MS);
    });
    assert.ok(await checked, `checks of ${key} by connection: ${JSON.stringify([...bySource])}`);
  } finally {
    clearTimeout(timer);
    monitor.disconnect();
  }
}
