import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL;
const MASTER = 'test-master-key-0123456789';
const skip = !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)';

const config = configWith({
  providers: [{ name: 'slow', type: 'mock', mock: { latencyMs: 400 } }],
  models: [
    { name: 'priced', deployments: [{ provider: 'mock', model: 'priced', price: { input: 1000, output: 1000 } }] },
    { name: 'slow', deployments: [{ provider: 'slow', model: 'slow' }] },
  ],
  security: {
    keys: [{ id: 'team-a', keyEnv: 'TEAM_A_KEY', models: ['mock-1'], rpm: 1000 }],
    ipFailuresPerMinute: 20,
  },
});

async function admin(gateway: GatewayProcess, method: string, path: string, body?: object, key = MASTER) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const chat = (gateway: GatewayProcess, key: string, model = 'mock', extra: object = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra }),
  });

describe('keys, limits and budgets across two gateway processes on one Redis', { skip }, () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  let redis: Redis;

  before(async () => {
    redis = new Redis(REDIS_URL!);
    await redis.flushdb();
    const env = { REDIS_URL: REDIS_URL!, GATEWAY_MASTER_KEY: MASTER, TEAM_A_KEY: 'team-a-secret-key-value' };
    [a, b] = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    redis?.disconnect();
  });

  describe('authentication failures are OpenAI-shaped', () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ['no Authorization header', {}, 401, 'missing_api_key'],
      ['a non-Bearer scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 401, 'missing_api_key'],
      ['an unknown key', { authorization: 'Bearer gw-not-a-real-key' }, 401, 'invalid_api_key'],
      ['an empty bearer', { authorization: 'Bearer ' }, 401, 'missing_api_key'],
    ];
    for (const [name, headers, status, code] of cases) {
      it(`${name} -> ${status} ${code}`, async () => {
        const res = await fetch(`${a.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] }),
        });
        assert.equal(res.status, status);
        const json = (await res.json()) as { error: Record<string, unknown> };
        assert.equal(json.error.code, code);
        assert.equal(json.error.type, 'invalid_request_error');
      });
    }

    it('a config key works for its models and gets 403 for others', async () => {
      assert.equal((await chat(a, 'team-a-secret-key-value', 'mock')).status, 200);
      const denied = await chat(a, 'team-a-secret-key-value', 'priced');
      assert.equal(denied.status, 403);
      assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'model_not_allowed');
    });

    it('the master key works on /v1 too, and probes need no key', async () => {
      assert.equal((await chat(a, MASTER)).status, 200);
      assert.equal((await fetch(`${a.url}/health`)).status, 200);
      assert.equal((await fetch(`${a.opsUrl}/metrics`)).status, 200);
    });

    it('the admin API needs the master key', async () => {
      assert.equal((await admin(a, 'GET', '', undefined, 'team-a-secret-key-value')).status, 401);
      assert.equal((await admin(a, 'GET', '', undefined, 'nope')).body.error.code, 'invalid_api_key');
    });
  });

  it('creates a key shown once, stores only its hash, lists and reads it', async () => {
    const created = await admin(a, 'POST', '', { name: 'ci', owner: 'team-b', rpm: 50, metadata: { env: 'test' } });
    assert.equal(created.status, 201);
    assert.match(created.body.key, /^gw-[A-Za-z0-9_-]{43}$/);
    const listed = await admin(b, 'GET', '');
    const entry = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
    assert.equal(entry.name, 'ci');
    assert.equal(entry.key, undefined, 'the key is never shown again');
    const dump =
      JSON.stringify(await redis.keys('gateway:key*')) +
      JSON.stringify(await Promise.all((await redis.keys('gateway:key:*')).map((k) => redis.get(k))));
    assert.ok(!dump.includes(created.body.key), 'Redis holds no plain key');
    assert.equal((await chat(b, created.body.key)).status, 200, 'the other process accepts it');
    assert.equal((await admin(a, 'GET', `/${created.body.id}`)).body.owner, 'team-b');
    assert.equal((await admin(a, 'POST', '', { rpm: -1 })).status, 400, 'validated DTO');
    assert.equal((await admin(a, 'POST', '', { bogus: 1 })).body.error.param, 'bogus');
  });

  it('revocation is seen by both processes within seconds', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'revoke-me' });
    assert.equal((await chat(a, body.key)).status, 200);
    assert.equal((await chat(b, body.key)).status, 200, 'b has it cached now');
    assert.equal((await admin(a, 'DELETE', `/${body.id}`)).body.revoked, true);
    let statusA = 0;
    let statusB = 0;
    for (let i = 0; i < 40 && (statusA !== 401 || statusB !== 401); i++) {
      [statusA, statusB] = [(await chat(a, body.key)).status, (await chat(b, body.key)).status];
      if (statusA !== 401 || statusB !== 401) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual([statusA, statusB], [401, 401]);
  });

  it('an expired key is refused', async () => {
    const { body } = await admin(a, 'POST', '', { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const res = await chat(a, body.key);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'expired_api_key');
  });

  it('one RPM limit holds within 2% across both processes under concurrent load', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'rpm', rpm: 100 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(i % 2 ? a : b, body.key)));
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    assert.ok(ok >= 98 && ok <= 102, `${ok} of 300 passed a 100 RPM limit`);
    assert.equal(ok + limited.length, 300);
    const first = limited[0];
    assert.ok(Number(first.headers.get('retry-after')) >= 1);
    assert.equal(first.headers.get('x-ratelimit-limit-requests'), '100');
    assert.equal(((await first.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');
    const passed = results.find((r) => r.status === 200)!;
    assert.equal(passed.headers.get('x-ratelimit-limit-requests'), '100');
    assert.match(passed.headers.get('x-ratelimit-remaining-requests') ?? '', /^\d+$/);
    assert.match(passed.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
  });

  it('TPM reserves the estimate up front and reconciles with actual usage', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'tpm', tpm: 1000 });
    // A slow request reserving ~900 tokens: a concurrent one needing 300 more must wait.
    const slow = chat(a, body.key, 'slow', { max_tokens: 900 });
    await new Promise((r) => setTimeout(r, 150));
    const blocked = await chat(b, body.key, 'mock', { max_tokens: 300 });
    assert.equal(blocked.status, 429);
    assert.match(((await blocked.json()) as { error: { message: string } }).error.message, /tokens/);
    assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
    const done = await slow;
    assert.equal(done.status, 200);
    assert.equal(done.headers.get('x-ratelimit-limit-tokens'), '1000');
    const usage = ((await done.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    // Reconciled: the window now holds the real usage, so the second request fits.
    let used = 0;
    for (let i = 0; i < 20; i++) {
      used = (await admin(a, 'GET', `/${body.id}/usage`)).body.currentMinute.tokens;
      if (used === usage) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(used, usage);
    assert.equal((await chat(b, body.key, 'mock', { max_tokens: 300 })).status, 200);
  });

  it('a spent budget gives 429 insufficient_quota until the period resets', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'budget', budget: { usd: 0.01, period: 'daily' } });
    assert.equal((await chat(a, body.key, 'priced')).status, 200, 'the first request spends (price 1000 $/Mtok)');
    let res: Response | undefined;
    for (let i = 0; i < 30; i++) {
      res = await chat(b, body.key, 'priced');
      if (res.status === 429) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(res!.status, 429);
    const error = ((await res!.json()) as { error: { type: string; code: string } }).error;
    assert.deepEqual([error.type, error.code], ['insufficient_quota', 'insufficient_quota']);
    assert.ok(Number(res!.headers.get('retry-after')) > 0);
    const usage = await admin(a, 'GET', `/${body.id}/usage`);
    assert.ok(usage.body.spendUsd.today._total >= 0.01);
    // A new period starts with no spend: emulate the day rolling over by clearing it.
    await redis.del(...(await redis.keys(`gateway:spend:*:${body.id}`)));
    let after = 0;
    for (let i = 0; i < 30 && after !== 200; i++) {
      after = (await chat(a, body.key, 'priced')).status;
      if (after !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after, 200);
  });

  it('repeated failed authentications from one address get 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await chat(b, `gw-wrong-${i}`)).status);
    assert.ok(statuses.slice(0, 5).every((s) => s === 401));
    assert.equal(statuses[statuses.length - 1], 429);
  });
});

describe('auth off without a master key', () => {
  it('serves anonymously on loopback and says so at start-up', async () => {
    const gateway = await GatewayProcess.start(configWith());
    try {
      const [warning] = await gateway.logged(/^auth is off/);
      assert.ok(warning, 'start-up log says auth is off');
      const res = await gateway
        .client({ apiKey: 'anything' })
        .chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'x' }] });
      assert.ok(res.id);
      assert.equal((await fetch(`${gateway.opsUrl}/admin/keys`)).status, 403, 'no admin API without a master key');
    } finally {
      await gateway.stop();
    }
  });
});
