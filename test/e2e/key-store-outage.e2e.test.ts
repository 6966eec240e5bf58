import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
/**
 * How long Redis stays down. The issue asks for 30 s; the default is shorter because
 * the behaviour is the same once the key cache (200 ms here) has expired many times
 * over. KEY_OUTAGE_MS=30000 runs the full length.
 */
const OUTAGE_MS = Number(process.env.KEY_OUTAGE_MS ?? 5_000);
const MASTER = 'outage-master-key-0123456789';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const chat = (gateway: GatewayProcess, key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hello' }] }),
  });

async function createKey(gateway: GatewayProcess, name: string): Promise<{ id: string; key: string }> {
  const res = await fetch(`${gateway.opsUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  assert.equal(res.status, 201);
  return (await res.json()) as { id: string; key: string };
}

async function statuses(gateways: GatewayProcess[], key: string): Promise<number[]> {
  return Promise.all(gateways.map(async (g) => (await chat(g, key)).status));
}

/** Polls until both processes answer `status` for `key` (Redis pub/sub and reconnects are asynchronous), for up to ~30 s. */
async function eventually(gateways: GatewayProcess[], key: string, status: number): Promise<number[]> {
  let seen: number[] = [];
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    seen = await statuses(gateways, key);
    if (seen.every((s) => s === status) || Date.now() > deadline) return seen;
  }
}

describe(
  'key lookups through a Redis outage, two gateway processes',
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let redis: RedisServer;
    let gateways: GatewayProcess[];

    before(async () => {
      redis = await RedisServer.start(REDIS_SERVER!);
      const config = configWith({ security: { keyCacheMs: 200 } });
      const env = { REDIS_URL: redis.url, GATEWAY_MASTER_KEY: MASTER };
      gateways = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
    });
    after(async () => {
      await Promise.all(gateways?.map((g) => g.stop()) ?? []);
      await redis?.stop();
    });

    it(`known keys keep working for ${OUTAGE_MS} ms without Redis, unknown keys get 503, revoked keys stay revoked`, async () => {
      const known = await createKey(gateways[0], 'known');
      const revoked = await createKey(gateways[0], 'revoked');
      assert.deepEqual(await statuses(gateways, known.key), [200, 200]);
      assert.deepEqual(await statuses(gateways, revoked.key), [200, 200]);
      const res = await fetch(`${gateways[0].opsUrl}/admin/keys/${revoked.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${MASTER}` },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await eventually(gateways, revoked.key, 401), [401, 401]);

      await redis.stop();
      const end = Date.now() + OUTAGE_MS;
      let rounds = 0;
      while (Date.now() < end || rounds < 2) {
        assert.deepEqual(await statuses(gateways, known.key), [200, 200], `known key, round ${rounds}`);
        assert.deepEqual(await statuses(gateways, revoked.key), [401, 401], `revoked key, round ${rounds}`);
        for (const gateway of gateways) {
          const unknown = await chat(gateway, `gw-never-seen-${rounds}-${gateway.pid}`);
          assert.equal(unknown.status, 503, `unknown key, round ${rounds}`);
          assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'key_store_unavailable');
          assert.equal(unknown.headers.get('retry-after'), '1');
        }
        rounds++;
        await sleep(500);
      }
      // Found by an independent check (obs31, 5): these lines said keyId "anonymous", the id of requests without a key.
      for (const gateway of gateways) {
        const refused = await gateway.logged('request', { where: (l) => l.error === 'key_store_unavailable', count: rounds });
        assert.deepEqual([...new Set(refused.map((l) => l.keyId))], ['(unverified)']);
      }
      for (const gateway of gateways) {
        assert.ok((await gateway.metric('gateway_key_lookups_stale_total', 'result="served"')) > 0, 'stale lookups are counted');
        assert.ok((await gateway.metric('gateway_key_lookups_stale_total', 'result="refused"')) > 0, 'refused lookups are counted');
      }

      // Redis is back, empty (no persistence): its answer wins over the last known record.
      await redis.start();
      assert.deepEqual(await eventually(gateways, known.key, 401), [401, 401]);
    });
  },
);
