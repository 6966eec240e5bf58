import type { RedisClient } from '@gateway/redis';

/** Sets KEYS[1] to ARGV[2] if it still holds ARGV[1]: every key change lands so, never over one it did not read. */
export const CAS_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]); return 1 end return 0`;
/** Deletes KEYS[1] if it still holds ARGV[1]: a rotation lets go of its key's lock, not of one taken after it expired. */
export const UNLOCK_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type Cas = {
  gatewayKeyCas(key: string, expected: string, value: string): Promise<number>;
  gatewayKeyUnlock(key: string, token: string): Promise<number>;
};

/** Defines the scripts as commands of a key change's writer (KeyStore.changing), once. */
export function defineCas(writer: RedisClient): void {
  if ('gatewayKeyCas' in writer) return;
  writer.defineCommand('gatewayKeyCas', { numberOfKeys: 1, lua: CAS_SCRIPT });
  writer.defineCommand('gatewayKeyUnlock', { numberOfKeys: 1, lua: UNLOCK_SCRIPT });
}

/**
 * Compare-and-set of `key` from `expected` to `value`: 1 when set. On the writer by its script (defineCas), on
 * the shared connection (settling a change, ChangeLanding) by EVAL.
 */
export function compareAndSet(client: RedisClient, key: string, expected: string, value: string): Promise<number> {
  return script(client, 'gatewayKeyCas', CAS_SCRIPT, key, expected, value);
}

/** Deletes the lock `key` if it still holds `token` (UNLOCK_SCRIPT). */
export function unlock(client: RedisClient, key: string, token: string): Promise<number> {
  return script(client, 'gatewayKeyUnlock', UNLOCK_SCRIPT, key, token);
}

/** A script of the writer's on `client`: by its defined command on the writer, by EVAL on the shared connection. */
function script(client: RedisClient, command: keyof Cas, lua: string, key: string, ...args: string[]): Promise<number> {
  if (command in client) return (client as unknown as Record<keyof Cas, (...a: string[]) => Promise<number>>)[command](key, ...args);
  return client.eval(lua, 1, key, ...args) as Promise<number>;
}
