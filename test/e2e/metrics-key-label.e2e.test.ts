import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess } from '../support/gateway';

/** A database of its own on the shared test Redis, emptied first. */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/7`;
const MASTER = 'metrics-key-label-master-key-0123456789';
const TEAM = 'metrics-key-label-team-key-0123456789';
const KEYS = 12;
const MODELS = ['priced-a', 'priced-b', 'priced-c', 'priced-d'];

const config = (keyLabel?: string) => ({
  ...configWith({
    models: MODELS.map((name) => ({ name, deployments: [{ provider: 'mock', model: name, price: { input: 1000, output: 1000 } }] })),
    security: { keys: [{ id: 'team', keyEnv: 'TEAM_KEY' }] },
  }),
  ...(keyLabel && { metrics: { keyLabel } }),
});

/** The `key` label of each gateway_cost_usd_total series, `(none)` for a series without one. */
async function costSeriesKeys(gateway: GatewayProcess): Promise<string[]> {
  const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('gateway_cost_usd_total{'))
    .map((line) => /[{,]key="([^"]*)"/.exec(line)?.[1] || '(none)');
}

/** `KEYS` keys made through the admin API, then a priced request of each key (and the configured one, and the master key) to every model. */
async function traffic(gateway: GatewayProcess): Promise<string[]> {
  const made: { id: string; key: string }[] = [];
  for (let i = 0; i < KEYS; i++) {
    const res = await fetch(`${gateway.opsUrl}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `k${i}` }),
    });
    assert.equal(res.status, 201);
    made.push((await res.json()) as { id: string; key: string });
  }
  for (const key of [...made.map((k) => k.key), TEAM, MASTER]) {
    const answers = await Promise.all(
      MODELS.map((model) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
        }),
      ),
    );
    assert.deepEqual(
      answers.map((res) => res.status),
      MODELS.map(() => 200),
    );
  }
  return made.map((k) => k.id);
}

// Found by an independent soak: with a key label per key, ~1,000 keys made through the admin API × 12 models
// made 13k series, and the scrape, built in one go on the event loop, held every request for 230-400 ms.
describe('the key label of the per-key series', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let redis: Redis;
  const started: GatewayProcess[] = [];
  const start = async (keyLabel?: string) => {
    const gateway = await GatewayProcess.start(config(keyLabel), {
      env: { REDIS_URL: REDIS_URL!, GATEWAY_MASTER_KEY: MASTER, TEAM_KEY: TEAM },
    });
    started.push(gateway);
    return gateway;
  };

  before(async () => {
    redis = new Redis(REDIS_URL!);
    await redis.flushdb();
  });
  after(async () => {
    await Promise.all(started.map((g) => g.stop()));
    redis?.disconnect();
  });

  it('by default, a series per configured key and model; keys made through the admin API share key="(other)", however many', async () => {
    const gateway = await start();
    const ids = await traffic(gateway);
    const keys = await costSeriesKeys(gateway);
    assert.equal(keys.length, MODELS.length * 3, `series by key: ${keys.join(', ')}`);
    assert.deepEqual(new Set(keys), new Set(['team', 'master', '(other)']));
    assert.ok(!ids.some((id) => keys.includes(id)), 'no series names a key made through the admin API');
  });

  it('keyLabel none: one series per provider and model, with no key label', async () => {
    const gateway = await start('none');
    await traffic(gateway);
    assert.deepEqual(
      await costSeriesKeys(gateway),
      MODELS.map(() => '(none)'),
    );
  });

  it('keyLabel all: a series per key and model, as many as the keys made', async () => {
    const gateway = await start('all');
    const ids = await traffic(gateway);
    const keys = await costSeriesKeys(gateway);
    assert.equal(keys.length, MODELS.length * (KEYS + 2));
    assert.deepEqual(new Set(keys), new Set([...ids, 'team', 'master']));
  });
});
