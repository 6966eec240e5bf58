import 'reflect-metadata';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { afterEach, describe, it, mock } from 'node:test';
import { parseConfig } from '@gateway/config';
import { MetricsService } from '../../libs/metrics/src/metrics.service';
import { RedisService } from '../../libs/redis/src/redis.service';
import { hashKey, KeyHashes } from '../../libs/security/src/key-hashes';
import { KeyStore } from '../../libs/security/src/key-store.service';

/** Counts SHA-256 computations (hashKey's one-shot crypto.hash) from now on. */
function countHashes(): () => number {
  const spy = mock.method(crypto, 'hash');
  return () => spy.mock.callCount();
}

describe('key hashes kept for keys the store knows', () => {
  afterEach(() => mock.restoreAll());

  it('hashes a key until it is kept, then not again; the oldest kept key is forgotten past the bound', () => {
    const hashes = new KeyHashes(2);
    const hashed = countHashes();
    assert.equal(hashes.of('a'), hashKey('a'));
    assert.equal(hashes.of('a'), hashKey('a'));
    const before = hashed();
    hashes.keep('a', hashes.of('a'));
    hashes.keep('b', hashes.of('b'));
    const kept = hashed();
    assert.equal(hashes.of('a'), hashKey('a'));
    assert.equal(hashes.of('b'), hashKey('b'));
    assert.equal(hashed(), kept + 2, 'only the two comparisons hashed: the kept keys were not hashed again');
    assert.equal(kept, before + 2);
    hashes.keep('c', hashes.of('c'));
    const afterC = hashed();
    hashes.of('b');
    hashes.of('c');
    assert.equal(hashed(), afterC, 'b and c kept');
    hashes.of('a');
    assert.equal(hashed(), afterC + 1, 'a, the oldest, was forgotten to make room for c');
  });

  it('a config key is hashed once over many lookups; an unknown key each time (guesses are not kept)', async () => {
    await withConfigKey(async (store, key) => {
      const hashed = countHashes();
      for (let i = 0; i < 5; i++) assert.equal((await store.lookup(key))?.id, 'team');
      assert.equal(hashed(), 1, 'the known key was hashed once');
      for (let i = 0; i < 3; i++) assert.equal(await store.lookup('sk-a-guess'), undefined);
      assert.equal(hashed(), 4, 'the unknown key was hashed at every lookup');
    });
  });
});

describe('key lookups the process answers itself', () => {
  // The /v1 hook calls done() at once for these: no promise and no tick on the request path (BENCHMARKS.md, session 22).
  it('a configured key is answered at once, not as a promise', async () => {
    await withConfigKey((store, key) => {
      const known = store.lookup(key);
      assert.ok(!(known instanceof Promise));
      assert.equal(known?.id, 'team');
    });
  });
});

/** A KeyStore without Redis whose config declares the key `team` (its variable set while `use` runs). */
async function withConfigKey(use: (store: KeyStore, key: string) => void | Promise<void>): Promise<void> {
  const key = 'sk-team-key-hashes-test';
  // A declared key's variable must be set (else start-up stops).
  const config = parseConfig(
    {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
      security: { keys: [{ id: 'team', keyEnv: 'KEY_HASHES_TEST_KEY' }] },
    },
    { KEY_HASHES_TEST_KEY: key },
  );
  process.env.KEY_HASHES_TEST_KEY = key;
  try {
    await use(new KeyStore(config, new RedisService(config), new MetricsService()), key);
  } finally {
    delete process.env.KEY_HASHES_TEST_KEY;
  }
}
