import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { limitKeys } from '../../libs/security/src/limit-keys';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess, twoGatewaysOnRedis } from '../support/gateway';

/**
 * A database of its own on the shared test Redis: this file starts from an empty one
 * (`flushdb`), and test files run two at a time; on database 0 the flush wiped another
 * file's keys mid-test (router.e2e's shared breaker, seen in CI).
 */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/9`;
const MASTER = 'test-master-key-0123456789';
const skip = !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)';

/** Five completion tokens at $2000 per million: $0.01 a request, reserved exactly (max_tokens 5, free input). */
const METERED = { provider: 'mock', model: 'metered', price: { input: 0, output: 2000 } };
const REQUEST_USD = 0.01;
const IP_FAILURES = 60;
const AUDITOR = 'auditor-admin-key-0123456789';
const OPS_BOT = 'ops-bot-admin-key-0123456789';

const config = configWith({
  // Long enough that a request sent once its reservation is seen in Redis comes while it is in flight, on a busy host too.
  providers: [{ name: 'slow', type: 'mock', mock: { latencyMs: 2_000 } }],
  models: [
    { name: 'priced', deployments: [{ provider: 'mock', model: 'priced', price: { input: 1000, output: 1000 } }] },
    { name: 'metered', deployments: [METERED] },
    // Declares no capabilities: text chat only.
    { name: 'slow', deployments: [{ provider: 'slow', model: 'slow' }] },
    { name: 'slow-metered', deployments: [{ ...METERED, provider: 'slow' }] },
    {
      name: 'priced-embedding',
      deployments: [{ provider: 'mock', model: 'mock-embedding', capabilities: ['embeddings'], price: { input: 1_000_000, output: 0 } }],
    },
  ],
  security: {
    keys: [{ id: 'team-a', keyEnv: 'TEAM_A_KEY', models: ['mock-1'], rpm: 1000 }],
    adminKeys: [
      { id: 'auditor', keyEnv: 'AUDITOR_KEY', role: 'read' },
      { id: 'ops-bot', keyEnv: 'OPS_BOT_KEY', role: 'manage' },
    ],
    ipFailuresPerMinute: IP_FAILURES,
    // Exactness under test: a Redis call that times out on a busy machine refuses (503) rather than admits.
    failOpen: { rateLimits: false, budgets: false },
  },
  // A series per key, so that a revoked key's can be seen to leave (by default keys made here share key="(other)").
  metrics: { keyLabel: 'all' },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; param: string | null; type: string } }).error;

/** `requestId`: how the access line names the request. */
async function admin(gateway: GatewayProcess, method: string, path: string, body?: object, key = MASTER, requestId?: string) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body && { 'content-type': 'application/json' }),
      ...(requestId && { 'x-request-id': requestId }),
    },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** The key's spend today as `gateway` reads it once it reached `usd` (spend is settled after the answer), or after ~30 s. */
async function spentReaching(gateway: GatewayProcess, id: string, usd: number): Promise<number> {
  let spent = 0;
  await eventually(async () => (spent = (await admin(gateway, 'GET', `/${id}/usage`)).body.spendUsd.today._total ?? 0) >= usd - 1e-9);
  return spent;
}

const chat = (gateway: GatewayProcess, key: string, model = 'mock', extra: object = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra }),
  });

describe('keys, limits and budgets across two gateway processes on one Redis', { skip }, () => {
  const pair = twoGatewaysOnRedis(config, REDIS_URL!, {
    GATEWAY_MASTER_KEY: MASTER,
    TEAM_A_KEY: 'team-a-secret-key-value',
    AUDITOR_KEY: AUDITOR,
    OPS_BOT_KEY: OPS_BOT,
  });
  let a: GatewayProcess;
  let b: GatewayProcess;
  let redis: Redis;
  before(() => ({ a, b, redis } = pair));

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
    await eventually(async () => {
      [statusA, statusB] = [(await chat(a, body.key)).status, (await chat(b, body.key)).status];
      return statusA === 401 && statusB === 401;
    });
    assert.deepEqual([statusA, statusB], [401, 401]);
    // Found by an independent check: a refused key was logged as `anonymous`. A secret the gateway knows names its key.
    const [refused] = await a.logged('request', { where: (l) => l.status === 401 && l.keyId === body.id });
    assert.equal(refused?.error, 'invalid_api_key');
  });

  // Found by an independent check: a revoked key's cost series stayed in /metrics until a restart.
  it("a revoked key's per-key series leave /metrics: at once where it was revoked, soon on the other process", async () => {
    const { body } = await admin(a, 'POST', '', { name: 'series' });
    assert.equal((await chat(a, body.key, 'priced')).status, 200);
    assert.equal((await chat(b, body.key, 'priced')).status, 200);
    const series = async (gateway: GatewayProcess) =>
      (await (await fetch(`${gateway.opsUrl}/metrics`)).text()).split('\n').filter((l) => l.includes(`key="${body.id}"`));
    assert.equal((await series(a)).length, 1, 'gateway_cost_usd_total of the key on a');
    assert.equal((await series(b)).length, 1, 'gateway_cost_usd_total of the key on b');
    assert.equal((await admin(a, 'DELETE', `/${body.id}`)).status, 200);
    assert.deepEqual(await series(a), []);
    assert.ok(await eventually(async () => (await series(b)).length === 0), 'b drops them once it hears of the revocation');
    assert.equal((await chat(a, MASTER, 'priced')).status, 200);
    assert.ok(
      (await series(a)).length === 0 && (await (await fetch(`${a.opsUrl}/metrics`)).text()).includes('key="master"'),
      'other keys keep theirs',
    );
  });

  it('PATCH of one field leaves every other field unchanged, field by field and by behaviour on both processes', async () => {
    const expiresAt = new Date(Date.now() + 6_000).toISOString();
    const fields = {
      name: 'full',
      owner: 'team-c',
      models: ['mock-1'],
      rpm: 100,
      tpm: 50_000,
      budget: { usd: 5, period: 'daily' },
      expiresAt,
      metadata: { env: 'ci' },
    };
    const created = await admin(a, 'POST', '', fields);
    assert.equal(created.status, 201);
    const { id, key } = created.body;
    const patched = await admin(a, 'PATCH', `/${id}`, { rpm: 200 });
    assert.equal(patched.status, 200);
    const read = (await admin(b, 'GET', `/${id}`)).body;
    assert.equal(read.rpm, 200);
    for (const field of [...Object.keys(fields).filter((f) => f !== 'rpm'), 'id', 'source', 'createdAt']) {
      assert.deepEqual(read[field], created.body[field], `${field} survives the PATCH`);
    }
    for (const gateway of [a, b]) {
      assert.equal((await chat(gateway, key, 'mock')).status, 200);
      const denied = await chat(gateway, key, 'priced');
      assert.equal(denied.status, 403, 'the allow-list still holds');
      assert.equal((await errorOf(denied)).code, 'model_not_allowed');
    }
    // A budget sent without its period changes the amount only (found by an independent check:
    // the period fell back to monthly, so a $5/day cap raised to $7 became $7/month).
    const budget = await admin(a, 'PATCH', `/${id}`, { budget: { usd: 7 } });
    assert.deepEqual(budget.body.budget, { usd: 7, period: 'daily' });
    assert.deepEqual((await admin(a, 'PATCH', `/${id}`, { budget: { usd: 7, period: 'monthly' } })).body.budget, {
      usd: 7,
      period: 'monthly',
    });
    assert.deepEqual((await admin(a, 'PATCH', `/${id}`, { budget: { usd: 5, period: 'daily' } })).body.budget, fields.budget);
    // null clears exactly the field named.
    const cleared = await admin(b, 'PATCH', `/${id}`, { owner: null });
    assert.equal(cleared.body.owner, undefined);
    assert.deepEqual([cleared.body.models, cleared.body.rpm, cleared.body.expiresAt], [['mock-1'], 200, expiresAt]);
    // One audit line per change: who, which key, what changed; never the key itself.
    const [update] = await a.logged('admin change', { where: (l) => l.action === 'update' && l.keyId === id });
    assert.deepEqual([update.actor, update.changes], ['master', { rpm: { from: 100, to: 200 } }]);
    const [clear] = await b.logged('admin change', { where: (l) => l.action === 'update' && l.keyId === id });
    assert.deepEqual(clear.changes, { owner: { from: 'team-c', to: null } });
    assert.ok(![...a.rawOutput, ...b.rawOutput].some((line) => line.includes(key)), 'the key is never logged');
    // The expiry survived too: once it passes, both processes refuse the key.
    await sleep(Date.parse(expiresAt) - Date.now() + 100);
    for (const gateway of [a, b]) {
      const expired = await chat(gateway, key, 'mock');
      assert.equal(expired.status, 401);
      assert.equal((await errorOf(expired)).code, 'expired_api_key');
    }
  });

  it('refuses a past expiresAt, unknown fields and inconsistent limits with a 400 naming the field', async () => {
    const past = new Date(Date.now() - 1_000).toISOString();
    const { body } = await admin(a, 'POST', '', { name: 'valid', rpm: 50 });
    const cases: [string, string, object, string][] = [
      ['POST', '', { expiresAt: past }, 'expiresAt'],
      ['POST', '', { expiresAt: 'tomorrow' }, 'expiresAt'],
      ['POST', '', { bogus: 1 }, 'bogus'],
      ['POST', '', { rpm: 100, tpm: 10 }, 'tpm'],
      ['POST', '', { models: [] }, 'models'],
      ['POST', '', { budget: { usd: 0 } }, 'budget.usd'],
      ['POST', '', { budget: { usd: 5, period: 'weekly' } }, 'budget.period'],
      ['POST', '', { metadata: { team: 42 } }, 'metadata.team'],
      ['PATCH', `/${body.id}`, { expiresAt: past }, 'expiresAt'],
      ['PATCH', `/${body.id}`, { tpm: 1 }, 'tpm'],
      ['PATCH', `/${body.id}`, { revoked: false }, 'revoked'],
      ['PATCH', `/${body.id}`, { id: 'mine' }, 'id'],
    ];
    for (const [method, path, request, param] of cases) {
      const res = await admin(a, method, path, request);
      assert.equal(res.status, 400, `${method} ${JSON.stringify(request)}`);
      assert.equal(res.body.error.param, param, `${method} ${JSON.stringify(request)}: ${res.body.error.message}`);
    }
    const { key: _shownOnce, ...stored } = body;
    assert.deepEqual((await admin(b, 'GET', `/${body.id}`)).body, stored, 'refused PATCHes changed nothing');
  });

  it('one RPM limit holds exactly across both processes under concurrent load', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'rpm', rpm: 100 });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(i % 2 ? a : b, body.key)));
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    const unavailable = results.filter((r) => r.status === 503).length;
    assert.ok(ok <= 100 && ok >= 100 - unavailable, `${ok} of 300 passed a 100 RPM limit (${unavailable} × 503)`);
    assert.equal(ok + limited.length + unavailable, 300);
    const first = limited[0];
    assert.ok(Number(first.headers.get('retry-after')) >= 1);
    assert.equal(first.headers.get('x-ratelimit-limit-requests'), '100');
    assert.equal(((await first.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');
    const passed = results.find((r) => r.status === 200)!;
    assert.equal(passed.headers.get('x-ratelimit-limit-requests'), '100');
    assert.match(passed.headers.get('x-ratelimit-remaining-requests') ?? '', /^\d+$/);
    assert.match(passed.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+s$/);
  });

  it('leased limits: both processes admit from their own slices, never past the limit, and unused slices come back', async () => {
    // 400 RPM is far enough from the limit for leases (a slice is at most 1/16 of what is left).
    const { body } = await admin(a, 'POST', '', { name: 'leased', rpm: 400, tpm: 1_000_000, budget: { usd: 100, period: 'daily' } });
    let passed = 0;
    // `a` leases a slice and uses a little of it; then a burst on `b` alone.
    for (let i = 0; i < 5; i++) passed += (await chat(a, body.key)).status === 200 ? 1 : 0;
    const burst = await Promise.all(Array.from({ length: 600 }, () => chat(b, body.key)));
    passed += burst.filter((r) => r.status === 200).length;
    assert.ok(passed <= 400, `${passed} passed a 400 RPM limit`);
    assert.equal(burst.filter((r) => r.status === 200 || r.status === 429 || r.status === 503).length, 600);
    // What `a` leased and did not use goes back to Redis when its lease ends (1 s): one
    // request at a time on `b`, the window then admits exactly its limit (in up to 400
    // requests, plus room for refusals while `a` holds part of it).
    const statuses: number[] = [];
    for (let i = 0; passed < 400 && i < 600; i++) {
      const res = await chat(b, body.key);
      statuses.push(res.status);
      if (res.status === 200) passed += 1;
      else {
        // Refused while `a` still leases part of the window: retry when its lease ends, not the window.
        if (res.status === 429) assert.equal(res.headers.get('retry-after'), '1');
        await sleep(50);
      }
    }
    assert.equal(passed, 400, `statuses after the burst: ${statuses.join(',')}`);
    assert.deepEqual([(await chat(a, body.key)).status, (await chat(b, body.key)).status], [429, 429]);
    for (const gateway of [a, b]) {
      const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
      assert.ok(Number(/^gateway_leased_admissions_total (\d+)/m.exec(metrics)?.[1]) >= 5, 'admitted from leases');
    }
  });

  it('TPM reserves the estimate up front and reconciles with actual usage', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'tpm', tpm: 1000 });
    // A slow request reserving ~900 tokens: a concurrent one needing 300 more must wait.
    const slow = chat(a, body.key, 'slow', { max_tokens: 900 });
    // Its reservation made (a fixed 150 ms was not always enough on a busy host).
    assert.ok(await eventually(async () => Number(await redis.get(limitKeys(body.id).tpmInFlight)) > 0), 'the slow request reserved');
    const blocked = await chat(b, body.key, 'mock', { max_tokens: 300 });
    assert.equal(blocked.status, 429);
    // Only the slow request's reservation is in the way: it comes back when that request ends, not at the window's end.
    assert.match(
      ((await blocked.json()) as { error: { message: string } }).error.message,
      /^Requests in flight reserve 9\d\d of this key's 1000 tokens per minute \(0 used by finished requests\); this one needs up to 3\d\d\. Retry shortly\.$/,
    );
    assert.equal(blocked.headers.get('retry-after'), '1');
    assert.equal(blocked.headers.get('x-ratelimit-limit-tokens'), '1000');
    assert.match(blocked.headers.get('x-ratelimit-remaining-tokens') ?? '', /^\d+$/);
    assert.ok(Number(blocked.headers.get('x-ratelimit-remaining-tokens')) < 300);
    assert.equal(blocked.headers.get('x-ratelimit-reset-tokens'), '1s');
    const done = await slow;
    assert.equal(done.status, 200);
    assert.equal(done.headers.get('x-ratelimit-limit-tokens'), '1000');
    const usage = ((await done.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    // Reconciled: the window now holds the real usage, so the second request fits.
    let used = 0;
    const windowTokens = async () => (used = (await admin(a, 'GET', `/${body.id}/usage`)).body.currentMinute.tokens);
    await eventually(async () => (await windowTokens()) === usage);
    assert.equal(used, usage);
    const second = await chat(b, body.key, 'mock', { max_tokens: 300 });
    assert.equal(second.status, 200);
    const settled = usage + ((await second.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    await eventually(async () => (await windowTokens()) === settled);
    assert.equal(used, settled);
    // Settled use and this request pass the limit: only the window's end helps, and both headers say when.
    const spent = await chat(a, body.key, 'mock', { max_tokens: 1000 - settled });
    assert.equal(spent.status, 429);
    assert.match(
      ((await spent.json()) as { error: { message: string } }).error.message,
      /^Rate limit reached for tokens: 1000 per minute\.$/,
    );
    const retryAfter = Number(spent.headers.get('retry-after'));
    assert.ok(retryAfter > 30 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(spent.headers.get('x-ratelimit-reset-tokens'), `${retryAfter}s`);
  });

  // What the README promises of TPM holds for /v1/embeddings too: its inputs' estimate is reserved, its usage settled.
  it('embeddings count against TPM: the estimate reserved, the usage settled, a request over the limit refused', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'tpm-embeddings', tpm: 1000 });
    const embed = (gateway: GatewayProcess, input: string) =>
      fetch(`${gateway.url}/v1/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${body.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-embedding', input }),
      });
    const first = await embed(a, 'tokens of an embedding '.repeat(60));
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-ratelimit-limit-tokens'), '1000');
    const used = ((await first.json()) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    assert.ok(used > 100, `usage ${used}`);
    let counted = 0;
    await eventually(async () => (counted = (await admin(a, 'GET', `/${body.id}/usage`)).body.currentMinute.tokens) === used);
    assert.equal(counted, used, "the window holds the embedding's usage");
    const over = await embed(b, 'more tokens than are left '.repeat(Math.ceil(((1000 - used + 50) * 4) / 26)));
    assert.equal(over.status, 429);
    assert.equal((await errorOf(over)).code, 'rate_limit_exceeded');
    const alone = await embed(b, 'more tokens than the limit '.repeat(200));
    assert.equal(alone.status, 429);
    assert.equal((await errorOf(alone)).code, 'request_exceeds_tpm');
  });

  it('20 concurrent requests against a budget of 2.5 requests pass at most 3 across both processes', async () => {
    const budget = 2.5 * REQUEST_USD;
    const { body } = await admin(a, 'POST', '', { name: 'budget', budget: { usd: budget, period: 'daily' } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 ? a : b, body.key, 'metered', { max_tokens: 5 })));
    const passed = results.filter((r) => r.status === 200).length;
    assert.ok(passed <= 3, `${passed} of 20 passed`);
    const unavailable = results.filter((r) => r.status === 503).length;
    assert.equal(passed + results.filter((r) => r.status === 429).length + unavailable, 20);
    for (const refused of results.filter((r) => r.status === 429)) {
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(refused.headers.get('x-ratelimit-limit-budget'), String(budget));
      assert.match(refused.headers.get('x-ratelimit-reset-budget') ?? '', /^\d+s$/);
      const { code } = await errorOf(refused);
      assert.ok(['insufficient_quota', 'rate_limit_exceeded'].includes(code));
      // Held by requests in flight, the budget frees up: SDKs may retry that one.
      assert.equal(refused.headers.get('x-should-retry'), code === 'insufficient_quota' ? 'false' : null);
    }
    // Settled: the spend recorded is what passed, and it stays within the budget plus one request.
    const spent = await spentReaching(a, body.id, passed * REQUEST_USD);
    assert.ok(Math.abs(spent - passed * REQUEST_USD) < 1e-9, `spent ${spent}`);
    assert.ok(spent <= budget + REQUEST_USD);
    const asked = Date.now();
    const after = await chat(b, body.key, 'metered', { max_tokens: 5 });
    const answered = Date.now();
    assert.equal(after.status, 429);
    const error = (await after.json()) as { error: { type: string; code: string; message: string } };
    assert.deepEqual([error.error.type, error.error.code], ['insufficient_quota', 'insufficient_quota']);
    // Spent for the day: Retry-After is the wait until the next UTC midnight, which the message names.
    const midnight = new Date(answered);
    midnight.setUTCHours(24, 0, 0, 0);
    const retryAfter = Number(after.headers.get('retry-after'));
    assert.ok(
      retryAfter >= Math.ceil((midnight.getTime() - answered) / 1000) && retryAfter <= Math.ceil((midnight.getTime() - asked) / 1000),
      `Retry-After ${retryAfter} s, midnight ${midnight.toISOString()}`,
    );
    assert.match(error.error.message, new RegExp(`resets at ${midnight.toISOString().replace('.000Z', 'Z')} \\(in ${retryAfter} s\\)`));
    assert.equal(after.headers.get('x-should-retry'), 'false', 'not before then: SDKs must not retry it at once');
  });

  // Found by an independent re-check: the message named the whole budget as what was left.
  it('a budget 429 while holds are in the way names what is left of the budget, as the header does', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'held', budget: { usd: 2.5 * REQUEST_USD, period: 'daily' } });
    assert.equal((await chat(a, body.key, 'metered', { max_tokens: 5 })).status, 200);
    assert.equal(await spentReaching(a, body.id, REQUEST_USD), REQUEST_USD);
    const slow = chat(a, body.key, 'slow-metered', { max_tokens: 5 });
    // Its budget hold made (a fixed 150 ms was not always enough on a busy host).
    assert.ok(await eventually(async () => (await redis.zcard(limitKeys(body.id).holds)) > 0), 'the slow request holds its cost');
    const held = await chat(a, body.key, 'metered', { max_tokens: 5 });
    assert.equal(held.status, 429);
    assert.equal(held.headers.get('retry-after'), '1');
    assert.equal(held.headers.get('x-ratelimit-remaining-budget'), '0.015');
    const { message } = ((await held.json()) as { error: { message: string } }).error;
    assert.match(message, /hold \$0\.01 of the \$0\.015 left of this key's daily budget of \$0\.025/);
    assert.equal((await slow).status, 200);
  });

  // Raised by an independent check: a leaked key could only be replaced by a new key, a new tenant (its
  // budget spent from zero, its stored responses lost to the client).
  it('rotating a key gives it a new secret: the old one stops on both processes at once, id, spend and stored responses stay', async () => {
    const { body: created } = await admin(a, 'POST', '', { name: 'rotated', budget: { usd: 1, period: 'daily' } });
    const old = created.key as string;
    // Both processes know (and cache) the old secret.
    for (const gateway of [a, b]) assert.equal((await chat(gateway, old, 'metered', { max_tokens: 5 })).status, 200);
    const stored = await a.client({ apiKey: old, maxRetries: 0 }).responses.create({ model: 'mock', input: 'remember this' });

    const rotated = await admin(b, 'POST', `/${created.id}/rotate`);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const { key: fresh, rotatedAt, ...record } = rotated.body;
    assert.match(fresh, /^gw-/);
    assert.notEqual(fresh, old);
    assert.ok(Date.parse(rotatedAt) > Date.parse(created.createdAt));
    const { key: _old, ...createdRecord } = created;
    assert.deepEqual(record, createdRecord, 'the same id and record');
    assert.deepEqual((await admin(a, 'GET', `/${created.id}`)).body, { ...record, rotatedAt });

    for (const gateway of [a, b]) {
      const refused = await chat(gateway, old, 'metered', { max_tokens: 5 });
      assert.equal(refused.status, 401, 'the old secret stops at once');
      assert.equal((await errorOf(refused)).code, 'invalid_api_key');
      assert.equal((await chat(gateway, fresh, 'metered', { max_tokens: 5 })).status, 200);
    }
    const client = a.client({ apiKey: fresh, maxRetries: 0 });
    assert.equal((await client.responses.retrieve(stored.id)).id, stored.id, 'stored responses stay the tenant’s');
    assert.equal(
      await spentReaching(a, created.id, 4 * REQUEST_USD),
      4 * REQUEST_USD,
      'spend before and after the rotation, on one budget',
    );

    // Changes follow the record to its new secret; a revoked key, a config key and an unknown id are refused.
    assert.equal((await admin(a, 'PATCH', `/${created.id}`, { rpm: 7 })).body.rpm, 7);
    assert.equal((await chat(b, fresh)).headers.get('x-ratelimit-limit-requests'), '7');
    assert.equal((await admin(a, 'POST', `/${created.id}/rotate`, undefined, AUDITOR)).status, 403);
    assert.equal((await admin(a, 'DELETE', `/${created.id}`)).status, 200);
    assert.equal((await chat(a, fresh)).status, 401);
    assert.deepEqual([(await admin(a, 'POST', `/${created.id}/rotate`)).body.error.code], ['key_revoked']);
    assert.equal((await admin(a, 'POST', '/team-a/rotate')).body.error.code, 'key_in_config');
    assert.equal((await admin(a, 'POST', '/no-such-key/rotate')).status, 404);
  });

  // Found by an independent check: a request that alone fits the budget but not what is left was told
  // the key "has used its budget", though a cheaper request is admitted at once.
  it('a budget 429 for a request dearer than what is left says so, and a cheaper one passes', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'left', budget: { usd: 2.5 * REQUEST_USD, period: 'daily' } });
    for (let i = 0; i < 2; i++) assert.equal((await chat(a, body.key, 'metered', { max_tokens: 5 })).status, 200);
    await spentReaching(a, body.id, 2 * REQUEST_USD);
    const refused = await chat(b, body.key, 'metered', { max_tokens: 5 });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('x-should-retry'), 'false', 'the same request waits for the reset');
    const { code, message } = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(code, 'insufficient_quota');
    assert.match(
      message,
      /^This request could cost up to \$0\.01, more than the \$0\.005 left of this key's daily budget of \$0\.025 \(\$0\.02 spent\): lower max_tokens and it may be admitted now; as it is, not before the budget resets at \S+Z \(in \d+ s\)\.$/,
    );
    assert.equal((await chat(b, body.key, 'metered', { max_tokens: 2 })).status, 200, 'a cheaper request is admitted');
  });

  it('a request whose worst case exceeds what is left of the budget is refused before any upstream call', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'small', budget: { usd: 0.01, period: 'monthly' } });
    // 1000 $/Mtok and max_tokens 256: $0.256 > $0.01. (Without max_tokens it is sent what the budget pays for
    // instead, and served: output-limits.e2e.test.ts.)
    const res = await chat(a, body.key, 'priced', { max_tokens: 256 });
    assert.equal(res.status, 429);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /lower max_tokens/);
    // Dearer than the whole budget, it fits in no period: waiting does not help, so no Retry-After.
    assert.equal(res.headers.get('retry-after'), null);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.equal((await admin(a, 'GET', `/${body.id}/usage`)).body.spendUsd.month._total, undefined, 'nothing spent');
    // The refusal names the fields the request's own API bounds its cost with (found by an independent check).
    const several = await chat(a, body.key, 'priced', { max_tokens: 100, n: 3 });
    assert.match(((await several.json()) as { error: { message: string } }).error.message, /lower max_tokens or n\.$/);
    await assert.rejects(
      a.client({ apiKey: body.key, maxRetries: 0 }).responses.create({ model: 'priced', input: 'hello', max_output_tokens: 100 }),
      (err: Error) => /lower max_output_tokens\.$/.test(err.message),
    );
    // Found by an independent re-check: an embeddings refusal said "lower max_tokens", a field it has not.
    await assert.rejects(
      a.client({ apiKey: body.key, maxRetries: 0 }).embeddings.create({ model: 'priced-embedding', input: 'hello there' }),
      (err: Error) => /lower the number or length of the inputs\.$/.test(err.message),
    );
  });

  it('requests of the wrong kind, or needing a capability no deployment declares, get 400', async () => {
    const client = a.client({ apiKey: MASTER });
    const kinds: [string, () => Promise<unknown>, string][] = [
      [
        'chat on an embeddings model',
        () => client.chat.completions.create({ model: 'mock-embedding', messages: [{ role: 'user', content: 'x' }] }),
        'model_not_supported',
      ],
      ['embeddings on a chat model', () => client.embeddings.create({ model: 'mock-1', input: 'x' }), 'model_not_supported'],
      [
        'tools on a model that declares none',
        () =>
          client.chat.completions.create({
            model: 'slow',
            messages: [{ role: 'user', content: 'x' }],
            tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
          }),
        'unsupported_capability',
      ],
      [
        'JSON mode on a model that declares none',
        () =>
          client.chat.completions.create({
            model: 'slow',
            messages: [{ role: 'user', content: 'x' }],
            response_format: { type: 'json_object' },
          }),
        'unsupported_capability',
      ],
      [
        'an image on a model that declares none',
        () =>
          client.chat.completions.create({
            model: 'slow',
            messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
          }),
        'unsupported_capability',
      ],
    ];
    for (const [what, request, code] of kinds) {
      const err = await request().then(
        () => assert.fail(`${what}: answered`),
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
      assert.deepEqual([err.status, err.code], [400, code], what);
    }
    // The same requests on models that declare what they need are served.
    assert.ok((await client.embeddings.create({ model: 'mock-embedding', input: 'x' })).data.length);
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    assert.ok((await client.chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'x' }], tools })).id);
  });

  it('PATCHes racing a DELETE on both processes never undo the revocation', async () => {
    const { body } = await admin(a, 'POST', '', { name: 'race', rpm: 1 });
    const patches = Array.from({ length: 20 }, (_, i) => admin(i % 2 ? a : b, 'PATCH', `/${body.id}`, { rpm: i + 2 }));
    const revoked = await admin(b, 'DELETE', `/${body.id}`);
    const answers = await Promise.all(patches);
    assert.equal(revoked.status, 200);
    assert.ok(
      answers.every((r) => r.status === 200 || r.status === 409),
      JSON.stringify(answers.map((r) => r.status)),
    );
    assert.equal((await admin(a, 'GET', `/${body.id}`)).body.revoked, true);
  });

  it('role-scoped admin keys: read keys only read, manage keys manage, and the audit line names them', async () => {
    // Access lines found by request id: log lines come in batches, a previous test's may come after this one starts.
    const created = await admin(a, 'POST', '', { name: 'by-bot' }, OPS_BOT, 'actor-create');
    assert.equal(created.status, 201);
    const [line] = await a.logged('admin change', { where: (l) => l.action === 'create' && l.keyId === created.body.id });
    assert.equal(line.actor, 'ops-bot');
    const [access] = await a.logged('request', { where: (l) => l.reqId === 'actor-create' });
    assert.deepEqual([access?.actor, access?.keyId], ['ops-bot', 'anonymous'], 'the access line names who made an admin request');
    assert.equal((await admin(b, 'GET', '', undefined, AUDITOR)).status, 200);
    assert.equal((await admin(b, 'GET', `/${created.body.id}/usage`, undefined, AUDITOR)).status, 200);
    for (const [method, path, body] of [
      ['POST', '', { name: 'nope' }],
      ['PATCH', `/${created.body.id}`, { rpm: 5 }],
      ['DELETE', `/${created.body.id}`, undefined],
    ] as const) {
      const res = await admin(b, method, path, body, AUDITOR, `actor-refused-${method}`);
      assert.deepEqual([res.status, res.body.error.code], [403, 'admin_read_only'], method);
    }
    const refused = await b.logged('request', { where: (l) => String(l.reqId).startsWith('actor-refused-'), count: 3 });
    assert.deepEqual(
      refused.map((l) => [l.status, l.actor]),
      [
        [403, 'auditor'],
        [403, 'auditor'],
        [403, 'auditor'],
      ],
      'the access line of a refused change names who tried it',
    );
    assert.equal((await admin(b, 'GET', `/${created.body.id}`)).body.revoked, undefined, 'the read key changed nothing');
  });

  // Found by an independent check: 30 revoked keys on /v1 locked the master key out of the admin API from that address.
  it('failed /v1 authentications count apart from the admin API: past the limit /v1 says 429, the admin API still answers the master key', async () => {
    let res: Response | undefined;
    for (let i = 0; i < IP_FAILURES + 5 && res?.status !== 429; i++) res = await chat(i % 2 ? a : b, `gw-wrong-key-${i}`);
    assert.equal(res!.status, 429);
    assert.equal(res!.headers.get('x-ratelimit-limit-auth-failures'), String(IP_FAILURES));
    for (const gateway of [a, b]) {
      assert.equal((await chat(gateway, 'gw-wrong-key')).status, 429, 'the count is shared through Redis');
      assert.equal((await admin(gateway, 'GET', '')).status, 200, 'the master key works from that address');
      const wrong = await fetch(`${gateway.opsUrl}/admin/keys`, { headers: { authorization: 'Bearer wrong-master-key' } });
      assert.equal(wrong.status, 401, "the admin API's own count is untouched");
    }
  });

  // Last: blocks this address on the admin API for a minute.
  it('failed admin authentications count per address: 429 with Retry-After, then even the master key waits', async () => {
    let res: Response | undefined;
    const statuses: number[] = [];
    for (let i = 0; i < IP_FAILURES + 5 && res?.status !== 429; i++) {
      res = await fetch(`${b.opsUrl}/admin/keys`, { headers: { authorization: `Bearer wrong-master-key-${i}` } });
      statuses.push(res.status);
    }
    assert.equal(statuses[0], 401);
    assert.equal(res!.status, 429);
    assert.ok(Number(res!.headers.get('retry-after')) >= 1);
    assert.equal(res!.headers.get('x-ratelimit-limit-auth-failures'), String(IP_FAILURES));
    assert.equal(res!.headers.get('x-ratelimit-remaining-auth-failures'), '0');
    assert.equal((await admin(b, 'GET', '')).status, 429, 'a blocked address learns nothing from a right guess');
    // The count is shared through Redis: the other process refuses the next failure at once.
    const other = await fetch(`${a.opsUrl}/admin/keys`, { headers: { authorization: 'Bearer wrong-master-key' } });
    assert.equal(other.status, 429);
    assert.equal(other.headers.get('x-ratelimit-limit-auth-failures'), String(IP_FAILURES));
    assert.equal((await admin(a, 'GET', '')).status, 429, 'blocked on both processes');
    // /v1 keys from the same address still work (no NAT lock-out on the public API).
    assert.equal((await chat(a, 'team-a-secret-key-value')).status, 200);
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
