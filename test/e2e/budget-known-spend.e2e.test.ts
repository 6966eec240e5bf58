import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

// Found by an independent check of keys, limits and budgets: without Redis the usage report showed no
// spend (`today: {}`) while the in-process budget refused the key for that spend; and failing open
// through a Redis outage, a key its replica had just refused for its spent budget was served again.

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const MASTER = 'known-spend-master-key-0123456789';
/** Two config keys with daily budgets: 3.5 and 6.5 requests' worth. */
const KEYS = { small: 'known-spend-small-key-0123456789', large: 'known-spend-large-key-0123456789' };
/** $0.01 a request (five completion tokens at $2000 a million, max_tokens 5, free input). */
const REQUEST_USD = 0.01;

const config = configWith({
  models: [{ name: 'metered', deployments: [{ provider: 'mock', model: 'metered', price: { input: 0, output: 2000 } }] }],
  security: {
    keys: [
      { id: 'small', keyEnv: 'SMALL_KEY', budget: { usd: 0.035, period: 'daily' } },
      { id: 'large', keyEnv: 'LARGE_KEY', budget: { usd: 0.065, period: 'daily' } },
    ],
  },
});
const env = { GATEWAY_MASTER_KEY: MASTER, SMALL_KEY: KEYS.small, LARGE_KEY: KEYS.large };

const chat = (gateway: GatewayProcess, key: keyof typeof KEYS) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS[key]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'metered', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });

/** Status (and error code) of each of `n` requests of `key`, one after another. */
async function answers(gateway: GatewayProcess, key: keyof typeof KEYS, n: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await chat(gateway, key);
    const body = (await res.json()) as { error?: { code: string } };
    seen.push(res.ok ? String(res.status) : `${res.status} ${body.error?.code}`);
  }
  return seen;
}

const REFUSED = '429 insufficient_quota';

describe('without Redis, the usage report shows the spend the budget is checked against', () => {
  let gateway: GatewayProcess;
  before(async () => (gateway = await GatewayProcess.start(config, { env })));
  after(() => gateway?.stop());

  it('by model and in total, today and this month', async () => {
    assert.deepEqual(await answers(gateway, 'small', 4), ['200', '200', '200', REFUSED]);
    const res = await fetch(`${gateway.opsUrl}/admin/keys/small/usage`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(res.status, 200);
    const { spendUsd } = (await res.json()) as { spendUsd: { day: string; today: Record<string, number>; month: Record<string, unknown> } };
    const spent = { metered: 3 * REQUEST_USD, _total: 3 * REQUEST_USD };
    const rounded = (figures: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(9)) : v]));
    assert.deepEqual(rounded(spendUsd.today), spent);
    assert.deepEqual(rounded(spendUsd.month), { period: spendUsd.day.slice(0, 7), ...spent });
  });
});

describe('failing open through a Redis outage (the default)', { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  let redis: RedisServer;
  let gateway: GatewayProcess;
  before(async () => {
    redis = await RedisServer.start(REDIS_SERVER!);
    gateway = await GatewayProcess.start(config, { env: { ...env, REDIS_URL: redis.url } });
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  it('a key its replica knows to be over budget stays refused; one within it is served until what it spent says otherwise', async () => {
    assert.deepEqual(await answers(gateway, 'small', 4), ['200', '200', '200', REFUSED]);
    assert.deepEqual(await answers(gateway, 'large', 2), ['200', '200']);
    await redis.stop();
    assert.deepEqual(await answers(gateway, 'small', 2), [REFUSED, REFUSED], 'refused for the spend Redis last reported');
    // $0.02 known: served unheld (fail open) while what it spent, counted in process, leaves room for $0.01 in $0.065.
    assert.deepEqual(await answers(gateway, 'large', 6), ['200', '200', '200', '200', REFUSED, REFUSED]);
  });
});
