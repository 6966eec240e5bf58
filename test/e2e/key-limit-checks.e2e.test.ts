import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess } from '../support/gateway';

// Raised by an independent check of keys (session 23, keys2 doubtful points b, c, e, g): budgets of 1e308 USD
// accepted, `tpm` checked against the key's own `rpm` only (not security.defaultRpm / defaultTpm), and the
// list of keys a 503 without Redis while each config key could be read.

/** A database of its own on the shared test Redis (see security.e2e.test.ts). */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/15`;
const MASTER = 'test-master-key-limit-checks-0123';
const TEAM_KEY = 'team-a-secret-key-limit-checks';
const DEFAULT_RPM = 60;
const DEFAULT_TPM = 1_000;

const config = configWith({
  security: {
    defaultRpm: DEFAULT_RPM,
    defaultTpm: DEFAULT_TPM,
    keys: [{ id: 'team-a', keyEnv: 'TEAM_A_KEY', models: ['mock-1'], rpm: 100, tpm: 5_000, budget: { usd: 5, period: 'daily' } }],
  },
});

async function admin(gateway: GatewayProcess, method: string, path: string, body?: object) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

describe(
  'admin API: budgets within a sane range, tpm checked against the rpm in force',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    let gateway: GatewayProcess;
    before(async () => {
      const redis = new Redis(REDIS_URL!);
      await redis.flushdb();
      redis.disconnect();
      gateway = await GatewayProcess.start(config, { env: { GATEWAY_MASTER_KEY: MASTER, TEAM_A_KEY: TEAM_KEY, REDIS_URL: REDIS_URL! } });
    });
    after(() => gateway?.stop());

    /** A 400 naming `param`, its message matching `message`. */
    async function refused(method: string, path: string, body: object, param: string, message: RegExp) {
      const res = await admin(gateway, method, path, body);
      assert.equal(res.status, 400, `${method} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.param, param, JSON.stringify(body));
      assert.match(res.body.error.message, message);
    }

    it('a budget of more than $1,000,000 a period is refused naming budget.usd; up to it, or any amount above $0, is taken', async () => {
      const { body: key } = await admin(gateway, 'POST', '', { name: 'budgets' });
      for (const usd of [1e308, 1_000_000.01, 1e7]) {
        await refused('POST', '', { budget: { usd, period: 'daily' } }, 'budget.usd', /must not be greater than 1000000/);
        await refused('PATCH', `/${key.id}`, { budget: { usd } }, 'budget.usd', /must not be greater than 1000000/);
      }
      await refused('POST', '', { budget: { usd: 0 } }, 'budget.usd', /greater than 0/);
      for (const usd of [1_000_000, 1e-9, 0.5]) {
        const res = await admin(gateway, 'PATCH', `/${key.id}`, { budget: { usd } });
        assert.deepEqual([res.status, res.body.budget], [200, { usd, period: 'monthly' }], String(usd));
      }
    });

    it('tpm below the rpm in force is refused, the key’s or security.defaultRpm, naming the field sent', async () => {
      // No rpm of its own: the key is held to defaultRpm (60), which a tpm of 30 would make unreachable.
      await refused('POST', '', { tpm: 30 }, 'tpm', /at least rpm \(60, security\.defaultRpm\)/);
      // No tpm of its own: the key is held to defaultTpm (1,000).
      await refused('POST', '', { rpm: 5_000 }, 'rpm', /at most tpm \(1000, security\.defaultTpm\)/);
      const { body: key } = await admin(gateway, 'POST', '', { rpm: 10, tpm: 100 });
      assert.equal(key.tpm, 100);
      await refused('PATCH', `/${key.id}`, { rpm: 500 }, 'rpm', /at most tpm \(100\)/);
      await refused('PATCH', `/${key.id}`, { tpm: 5 }, 'tpm', /at least rpm \(10\)/);
      // Clearing a limit puts the default in force, which is checked as well.
      await refused('PATCH', `/${key.id}`, { rpm: null, tpm: 30 }, 'tpm', /at least rpm \(60, security\.defaultRpm\)/);
      await refused('PATCH', `/${key.id}`, { tpm: null, rpm: 5_000 }, 'rpm', /at most tpm \(1000, security\.defaultTpm\)/);
      const { body: fast } = await admin(gateway, 'POST', '', { rpm: 2_000, tpm: 4_000 });
      await refused('PATCH', `/${fast.id}`, { tpm: null }, 'tpm', /security\.defaultTpm \(1000\), which must be at least rpm \(2000\)/);
      const { body: slow } = await admin(gateway, 'POST', '', { rpm: 5, tpm: 30 });
      await refused('PATCH', `/${slow.id}`, { rpm: null }, 'rpm', /security\.defaultRpm \(60\), which must be at most tpm \(30\)/);
      // What is consistent is taken.
      const ok = await admin(gateway, 'PATCH', `/${key.id}`, { rpm: null, tpm: 60 });
      assert.deepEqual([ok.status, ok.body.rpm, ok.body.tpm], [200, undefined, 60]);
      assert.equal((await admin(gateway, 'POST', '', { rpm: 1_000 })).status, 201);
    });
  },
);

describe('admin API without Redis: config keys are listed, read-only', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(config, { env: { GATEWAY_MASTER_KEY: MASTER, TEAM_A_KEY: TEAM_KEY } });
  });
  after(() => gateway?.stop());

  it('GET /admin/keys lists the config keys and says keys created through the API are not listed; changes still need Redis', async () => {
    const list = await admin(gateway, 'GET', '');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const single = await admin(gateway, 'GET', '/team-a');
    assert.equal(single.status, 200);
    assert.deepEqual(list.body, { object: 'list', data: [single.body] });
    assert.equal(list.headers.get('x-gateway-keys-listed'), 'config-only');
    const created = await admin(gateway, 'POST', '', { name: 'x' });
    assert.deepEqual([created.status, created.body.error.code], [503, 'redis_required']);
  });
});
