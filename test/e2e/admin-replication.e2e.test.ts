import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const MASTER = 'replication-master-key-0123456789';

/** A key change through the admin API, with the header that counts nodes whose replica did not acknowledge it. */
async function change(gateway: GatewayProcess, method: string, path: string, body?: object) {
  const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, any>,
    unreplicated: res.headers.get('x-gateway-unreplicated-nodes'),
  };
}

// Found by an independent check (Redis Cluster): Redis replicates asynchronously, so a key created, changed
// or revoked through the admin API, answered, and then lost with its master before the replica had it
// (a failover right after) was gone: a revocation undone. The admin writes now wait for a replica (WAIT 1).
describe('admin key changes wait for a Redis replica', { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let replicaClient: Redis;
  let gateway: GatewayProcess;

  before(async () => {
    [primary, replica] = await Promise.all([RedisServer.start(REDIS_SERVER!), RedisServer.start(REDIS_SERVER!)]);
    replicaClient = new Redis(replica.url);
    await replica.replicate(primary);
    gateway = await GatewayProcess.start(configWith(), { env: { REDIS_URL: primary.url, GATEWAY_MASTER_KEY: MASTER } });
  });
  after(async () => {
    replica?.resume();
    await gateway?.stop();
    replicaClient?.disconnect();
    await Promise.all([primary?.stop(), replica?.stop()]);
  });

  it('a create, PATCH and revocation are on the replica when answered; a replica that does not acknowledge is named, the change made', async () => {
    const created = await change(gateway, 'POST', '', { name: 'replicated' });
    assert.equal(created.status, 201);
    assert.equal(created.unreplicated, null, 'the replica acknowledged it');
    assert.equal(await replicaClient.sismember('gateway:keys', created.body.id), 1, 'the replica has the new key when the answer comes');

    replica.freeze(); // connected, acknowledging nothing: as a replica far behind, or cut off
    try {
      const patched = await change(gateway, 'PATCH', `/${created.body.id}`, { rpm: 60 });
      assert.equal(patched.status, 200, 'the change is made all the same');
      assert.equal(patched.body.rpm, 60);
      assert.equal(patched.unreplicated, '1', 'the answer says one node has no replica acknowledging it');
      const revoked = await change(gateway, 'DELETE', `/${created.body.id}`);
      assert.equal(revoked.status, 200);
      assert.equal(revoked.unreplicated, '1');
      const another = await change(gateway, 'POST', '', { name: 'unreplicated' });
      assert.equal(another.status, 201);
      assert.equal(another.unreplicated, '1');
    } finally {
      replica.resume();
    }
    const warned = await gateway.logged(/no Redis replica acknowledged it/, { count: 3 });
    assert.equal(warned.length, 3, 'one warning per change');
  });

  // Found by a re-check: every change shared one connection, and WAIT blocks its connection, so with the replica
  // paused a change queued behind two others' WAITs timed out, a 503 "Redis is not answering" (a create half made,
  // a revocation not applied). Each change now has a connection of its own while it runs.
  it('changes arriving together while the replica is paused: each made and answered 2xx with the header, none queued behind another', async () => {
    const existing = await change(gateway, 'POST', '', { name: 'to-revoke' });
    assert.equal(existing.status, 201);
    const primaryClient = new Redis(primary.url);
    replica.freeze();
    let answers: Awaited<ReturnType<typeof change>>[];
    try {
      const creates = (names: string[]) => names.map((name) => change(gateway, 'POST', '', { name }));
      const first = creates(['together-0', 'together-1', 'together-2']);
      // The rest arrive once a change is in its WAIT: blocked there (as a provisioning job's creates meet an operator's revocation).
      for (const deadline = Date.now() + 60_000; !/ cmd=wait /.test(String(await primaryClient.call('CLIENT', 'LIST')));) {
        assert.ok(Date.now() < deadline, 'no change waited for the replica within 60 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      const later = [...creates(['together-3', 'together-4', 'together-5']), change(gateway, 'DELETE', `/${existing.body.id}`)];
      answers = await Promise.all([...first, ...later]);
    } finally {
      replica.resume();
      primaryClient.disconnect();
    }
    assert.deepEqual(
      answers.map((answer) => [answer.status, answer.unreplicated]),
      [...Array.from({ length: 6 }, () => [201, '1']), [200, '1']],
      'every change made, each naming the node whose replica did not acknowledge it',
    );
    const listed = await change(gateway, 'GET', '');
    const ids = new Set((listed.body.data as { id: string }[]).map((key) => key.id));
    for (const created of answers.slice(0, 6)) assert.ok(ids.has(created.body.id), `${created.body.name} is listed`);
    const revoked = await change(gateway, 'GET', `/${existing.body.id}`);
    assert.equal(revoked.body.revoked, true, 'the revocation is applied');
  });

  it('a Redis that refuses ROLE and WAIT (an ACL, a managed service) is not waited for: no header, one warning', async () => {
    const primaryClient = new Redis(primary.url);
    await primaryClient.call('ACL', 'SETUSER', 'no-wait', 'on', '>no-wait-password', '~*', '&*', '+@all', '-role', '-wait');
    primaryClient.disconnect();
    const limited = await GatewayProcess.start(configWith(), {
      env: { REDIS_URL: `redis://no-wait:no-wait-password@127.0.0.1:${primary.port}`, GATEWAY_MASTER_KEY: MASTER },
    });
    try {
      for (const name of ['refused-1', 'refused-2']) {
        const created = await change(limited, 'POST', '', { name });
        assert.equal(created.status, 201);
        assert.equal(created.unreplicated, null);
      }
      assert.equal((await limited.logged(/refused ROLE or WAIT/)).length, 1);
    } finally {
      await limited.stop();
    }
  });
});
