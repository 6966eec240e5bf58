import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { configWith, GatewayProcess, twoGatewaysOnRedis } from '../support/gateway';
import { invitedExchange, RawConnection } from '../support/raw-connection';

// Found by an independent check of the admin API (two replicas on one Redis): key bombs that blocked
// the event loop for minutes, keys named like Object.prototype's members accepted or dropped,
// `__proto__` reported as unparsable JSON, edits of revoked keys, model entries naming nothing,
// unsafe integers, and a budget set on a key that had just spent on another replica not enforced.

/** A database of its own on the shared test Redis (see security.e2e.test.ts). */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/12`;
const MASTER = 'test-master-key-admin-bodies-0123';
const skip = !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)';
/** $0.01 a request (five completion tokens at $2000 a million, max_tokens 5, free input). */
const METERED = { provider: 'mock', model: 'metered', price: { input: 0, output: 2000 } };

const config = configWith({
  models: [{ name: 'metered', aliases: ['metered-alias'], deployments: [METERED] }],
  // Long leases: spend summed in process stays unwritten for the whole test unless something writes it.
  security: { limitLeaseMs: 60_000, failOpen: { rateLimits: false, budgets: false } },
});

/** A raw JSON body to the admin API (the text as given, so keys JSON.stringify would drop or reorder get through). */
async function admin(gateway: GatewayProcess, method: string, path: string, body?: object | string) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: typeof body === 'string' ? body : body && JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const post = (gateway: GatewayProcess, path: string, body: string, key = MASTER) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });

const chat = (gateway: GatewayProcess, key: string) =>
  post(
    gateway,
    '/v1/chat/completions',
    JSON.stringify({ model: 'metered', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    key,
  );

/** `n` members `"k0":"v",…`. */
const members = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(',');

describe('admin API bodies and budget changes, two processes on one Redis', { skip }, () => {
  const pair = twoGatewaysOnRedis(config, REDIS_URL!, { GATEWAY_MASTER_KEY: MASTER });
  let a: GatewayProcess;
  let b: GatewayProcess;
  before(() => ({ a, b } = pair));

  it('an object with more keys than any field takes is refused before it is parsed, on the admin API and /v1', async () => {
    const bomb = members(200_000);
    const cases: [Promise<Response>, string][] = [
      [
        fetch(`${a.opsUrl}/admin/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
          body: `{${bomb}}`,
        }),
        'admin top level',
      ],
      [
        post(a, '/v1/chat/completions', `{"model":"metered","messages":[{"role":"user","content":"hi"}],"metadata":{${bomb}}}`),
        'chat metadata',
      ],
      [post(a, '/v1/responses', `{"model":"metered","input":"hi",${bomb}}`), 'responses top level'],
      [post(a, '/v1/embeddings', `{"model":"mock-embedding","input":"hi",${bomb}}`), 'embeddings top level'],
    ];
    for (const [sent, where] of cases) {
      const res = await sent;
      assert.equal(res.status, 400, where);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'json_too_many_keys', where);
      assert.match(error.message, /more than 10000 keys/);
    }
    const messages = await post(a, '/v1/messages', `{"model":"metered","max_tokens":5,"messages":[],"metadata":{${bomb}}}`);
    assert.equal(messages.status, 400);
    const anthropic = (await messages.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(anthropic.type, 'error', "Anthropic's shape on /v1/messages");
    assert.match(anthropic.error.message, /more than 10000 keys/);
  });

  it('admin bodies under that bound are refused by their shape, naming the field, before the DTO is walked', async () => {
    const cases: [string, string][] = [
      [`{${members(5_000)}}`, 'k0'],
      [`{"budget":{"usd":5,${members(5_000)}}}`, 'budget.k0'],
      [`{"metadata":{${members(5_000)}}}`, 'metadata'],
      [`{"models":${JSON.stringify(Array.from({ length: 5_000 }, () => 'metered'))}}`, 'models'],
    ];
    for (const [body, param] of cases) {
      const res = await admin(a, 'POST', '', body);
      assert.equal(res.status, 400, param);
      assert.equal(res.body.error.param, param, res.body.error.message);
    }
  });

  it("fields named like Object.prototype's members: unknown ones refused, metadata entries kept", async () => {
    const { body: key } = await admin(a, 'POST', '', { name: 'proto' });
    for (const field of ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      for (const [method, path] of [
        ['POST', ''],
        ['PATCH', `/${key.id}`],
      ]) {
        const res = await admin(a, method, path, `{"name":"p","${field}":{"rpm":5}}`);
        assert.equal(res.status, 400, `${method} ${field}`);
        assert.equal(res.body.error.param, field);
      }
    }
    const metadata = { toString: 'a', constructor: 'b', prototype: 'c', hasOwnProperty: 'd', valueOf: 'e', team: 'x' };
    const created = await admin(a, 'POST', '', { name: 'meta', metadata });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.metadata, metadata);
    assert.deepEqual((await admin(b, 'GET', `/${created.body.id}`)).body.metadata, metadata, 'stored as sent');
    const patched = await admin(b, 'PATCH', `/${created.body.id}`, { metadata: { valueOf: 'f' } });
    assert.deepEqual(patched.body.metadata, { valueOf: 'f' });
  });

  it('`__proto__` anywhere is a 400 naming where it is, not "could not parse"', async () => {
    const cases: [string, string, string][] = [
      ['/admin/keys', '{"name":"p","__proto__":{"rpm":5}}', '__proto__'],
      ['/admin/keys', '{"metadata":{"team":"x","__proto__":"v"}}', 'metadata.__proto__'],
      ['/admin/keys', '{"budget":{"usd":5,"constructor":{"prototype":{"x":1}}}}', 'budget.constructor.prototype'],
    ];
    for (const [path, body, param] of cases) {
      const res = await fetch(`${a.opsUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
        body,
      });
      const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
      assert.deepEqual([res.status, error.code, error.param], [400, 'forbidden_key', param], error.message);
    }
    const res = await post(
      a,
      '/v1/chat/completions',
      '{"model":"metered","messages":[{"role":"user","content":"hi","__proto__":{"x":1}}]}',
    );
    const { error } = (await res.json()) as { error: { code: string; param: string } };
    assert.deepEqual([res.status, error.code, error.param], [400, 'forbidden_key', 'messages[0].__proto__']);
  });

  it('a revoked key cannot be edited: 409 key_revoked, the record unchanged', async () => {
    const { body: key } = await admin(a, 'POST', '', { name: 'gone', rpm: 10 });
    assert.equal((await admin(a, 'DELETE', `/${key.id}`)).status, 200);
    const before = (await admin(b, 'GET', `/${key.id}`)).body;
    const res = await admin(b, 'PATCH', `/${key.id}`, { rpm: 20, name: 'back' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'key_revoked');
    assert.deepEqual((await admin(a, 'GET', `/${key.id}`)).body, before);
  });

  it('models entries must name a served model, alias or prefix, each once; limits must be safe integers; budget must be an object', async () => {
    const { body: key } = await admin(a, 'POST', '', { name: 'checks' });
    const cases: [string, string, object | string, string, RegExp][] = [
      ['POST', '', { models: ['metered', 'nope-model'] }, 'models[1]', /unknown model "nope-model"/],
      ['PATCH', `/${key.id}`, { models: [''] }, 'models[0]', /unknown model ""/],
      ['POST', '', { models: ['gpt-*'] }, 'models[0]', /no model matches "gpt-\*"/],
      // Found by an independent check: stored as sent, twice.
      ['POST', '', { models: ['metered', 'meter*', 'metered'] }, 'models[2]', /"metered" is listed twice \(also models\[0\]\)/],
      ['PATCH', `/${key.id}`, { models: ['meter*', 'meter*'] }, 'models[1]', /"meter\*" is listed twice/],
      ['POST', '', '{"rpm":9007199254740993}', 'rpm', /must not be greater than 9007199254740991/],
      ['PATCH', `/${key.id}`, '{"tpm":1e308}', 'tpm', /must not be greater than 9007199254740991/],
      ['POST', '', { budget: [] }, 'budget', /must be an object .*got an array/],
      ['PATCH', `/${key.id}`, { budget: 5 }, 'budget', /must be an object .*got a number/],
    ];
    for (const [method, path, body, param, message] of cases) {
      const res = await admin(a, method, path, body);
      assert.equal(res.status, 400, `${method} ${JSON.stringify(body)}`);
      assert.equal(res.body.error.param, param);
      assert.match(res.body.error.message, message);
    }
    for (const models of [['metered', 'metered-alias'], ['meter*'], ['*']]) {
      assert.equal((await admin(b, 'PATCH', `/${key.id}`, { models })).status, 200, JSON.stringify(models));
    }
    // A budget without a period is monthly, as in config (README, Admin API).
    const created = await admin(a, 'POST', '', { budget: { usd: 1 } });
    assert.deepEqual([created.status, created.body.budget], [201, { usd: 1, period: 'monthly' }]);
  });

  it("a budget set on a key that just spent elsewhere counts that spend on every replica from the PATCH's answer", async () => {
    const { body: key } = await admin(a, 'POST', '', { name: 'late budget' });
    for (let i = 0; i < 5; i++) assert.equal((await chat(a, key.key)).status, 200);
    // $0.05 spent on a, summed in its process (no limits: written a lease period, here a minute, later).
    const patched = await admin(b, 'PATCH', `/${key.id}`, { budget: { usd: 0.03, period: 'daily' } });
    assert.equal(patched.status, 200);
    const usage = await admin(b, 'GET', `/${key.id}/usage`);
    assert.ok(Math.abs(usage.body.spendUsd.today._total - 0.05) < 1e-9, `spend written: ${JSON.stringify(usage.body.spendUsd.today)}`);
    for (const replica of [b, a]) {
      const res = await chat(replica, key.key);
      assert.equal(res.status, 429, replica === b ? 'the replica that served none of it' : 'the replica that served it');
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'insufficient_quota');
    }
  });

  // Found by a check: the admin API's key was checked by a Nest guard, after the body: a wrong or missing admin key
  // got `100 Continue` before its 401. It is checked before the body now, as /v1's is.
  const adminBody = '{"name":"continue-check"}';
  const adminHead = (auth: string) =>
    `POST /admin/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${auth}Expect: 100-continue\r\nContent-Length: ${adminBody.length}\r\n\r\n`;
  for (const [name, auth] of [
    ['no admin key', ''],
    ['a wrong admin key', 'Authorization: Bearer not-an-admin-key-0123456789\r\n'],
  ]) {
    it(`the admin API, ${name}: the 401, without inviting the body`, async () => {
      const connection = new RawConnection(a.opsUrl);
      connection.write(adminHead(auth));
      // Until the refusal, or the invitation that is not to come (the test then fails on the statuses, not a timeout).
      const answer = await connection.until(/"code":"[a-z_]+"\}\}$|^HTTP\/1\.1 100 /);
      assert.deepEqual(connection.statuses(), [401], answer.slice(0, 300));
      assert.match(answer, /"code":"invalid_api_key"/);
      connection.close();
    });
  }

  it('the admin API, the master key: invited, then the key is created', async () => {
    const head = adminHead(`Authorization: Bearer ${MASTER}\r\n`);
    assert.deepEqual(await invitedExchange(a.opsUrl, head, adminBody, /"name":"continue-check"[^]*\}$/), [100, 201]);
  });
});
