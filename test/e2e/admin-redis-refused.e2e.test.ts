import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configWith, GatewayProcess, gatewayOnOwnRedis } from '../support/gateway';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const MASTER = 'refused-master-key-0123456789';
const LIMITED = 'refused-limited-key-0123456789';

async function admin(gateway: GatewayProcess, method: string, path: string, body?: object) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  const id = res.headers.get('x-request-id');
  // Its access line comes after any line it logged: the log so far is complete.
  await gateway.logged('request', { where: (l) => l.reqId === id });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, any> };
}

/** The gateway's error-level log lines (pino's level 50) from `from` on. */
const errorLines = (gateway: GatewayProcess, from: number) => gateway.logs.slice(from).filter((l) => Number(l.level) >= 50);

// Found by an independent check (redis33): Redis answering a write with an error reply that means "not now" (OOM at
// maxmemory under noeviction, READONLY from a replica after a failover) was a bare 500 internal_error on the admin
// API, logged as unexpected; a PATCH or DELETE said Redis had not answered whether it was made.
describe('the admin API while Redis refuses writes', { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  const config = configWith({ security: { keys: [{ id: 'limited', keyEnv: 'LIMITED_KEY', rpm: 5 }] } });
  const own = gatewayOnOwnRedis(REDIS_SERVER!, config, { GATEWAY_MASTER_KEY: MASTER, LIMITED_KEY: LIMITED });

  /** Port 1: a master nobody serves, so the replica keeps its data, read-only. */
  const STATES = {
    full: { cause: /Redis is full \(maxmemory\)/, put: () => own.redis.config('SET', 'maxmemory', '1') },
    'a read-only replica': { cause: /Redis is a read-only replica/, put: () => own.redis.replicaof('127.0.0.1', 1) },
  };

  for (const [state, { cause, put }] of Object.entries(STATES)) {
    it(`while Redis is ${state}: each change is a retryable 503 redis_unavailable naming why, not made, nothing logged as an error`, async () => {
      const key = await admin(own.gateway, 'POST', '', { name: 'kept', rpm: 10 });
      assert.equal(key.status, 201);
      const from = own.gateway.logs.length;
      await put();
      try {
        const answers = {
          create: await admin(own.gateway, 'POST', '', { name: 'refused' }),
          patch: await admin(own.gateway, 'PATCH', `/${key.body.id}`, { rpm: 99 }),
          rotate: await admin(own.gateway, 'POST', `/${key.body.id}/rotate`),
          revoke: await admin(own.gateway, 'DELETE', `/${key.body.id}`),
        };
        for (const [call, answer] of Object.entries(answers)) {
          assert.equal(answer.status, 503, `${call}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.error.code, 'redis_unavailable', call);
          assert.match(answer.body.error.message, cause, call);
          assert.equal(answer.retryAfter, '1', call);
        }
        assert.deepEqual(errorLines(own.gateway, from), []);
      } finally {
        await own.redis.config('SET', 'maxmemory', '0');
        await own.redis.replicaof('NO', 'ONE');
      }
      const after = await admin(own.gateway, 'GET', `/${key.body.id}`);
      assert.equal(after.status, 200);
      assert.equal(after.body.rpm, 10, 'the PATCH was not made');
      assert.ok(!after.body.revoked, 'the revocation was not made');
      assert.equal(after.body.rotatedAt ?? null, null, 'the rotation was not made');
      const listed = await admin(own.gateway, 'GET', '');
      assert.deepEqual(
        listed.body.data.filter((k: { name: string }) => k.name === 'refused'),
        [],
        'the create was not made',
      );
    });
  }

  it('while Redis is full, a key with limits is served as failOpen says, and the warning names why', async () => {
    await own.redis.config('SET', 'maxmemory', '1');
    try {
      const res = await fetch(`${own.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${LIMITED}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hello' }] }),
      });
      assert.equal(res.status, 200, 'rate limits fail open by default');
      const [line] = await own.gateway.logged(/^Redis unavailable for rpm limits/);
      assert.match(String(line?.msg), /\(OOM command not allowed when used memory > 'maxmemory'.*\): rate limits fail open, budgets open$/);
    } finally {
      await own.redis.config('SET', 'maxmemory', '0');
    }
  });

  it('a Redis user without a command the admin API needs: a 500 redis_misconfigured naming the ACL, logged for the operator', async () => {
    const from = own.gateway.logs.length;
    await own.redis.call('ACL', 'SETUSER', 'default', '-sadd');
    try {
      const created = await admin(own.gateway, 'POST', '', { name: 'no-acl' });
      assert.equal(created.status, 500, JSON.stringify(created.body));
      assert.equal(created.body.error.code, 'redis_misconfigured');
      assert.match(created.body.error.message, /Redis user may not run this command \(its ACL\)/);
      assert.equal(created.retryAfter, null);
      assert.match(JSON.stringify(errorLines(own.gateway, from)), /NOPERM/);
    } finally {
      await own.redis.call('ACL', 'SETUSER', 'default', '+@all');
    }
  });
});
