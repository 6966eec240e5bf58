import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'ops-plane-master-key-0123456789';

describe('the ops plane: /metrics and /admin on their own listener, never on the public port', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith(), { env: { GATEWAY_MASTER_KEY: MASTER } });
  });
  after(() => gateway?.stop());

  it('listens on two different ports', () => {
    assert.notEqual(new URL(gateway.url).port, new URL(gateway.opsUrl).port);
  });

  for (const path of ['/metrics', '/admin/keys', '/admin/keys/some-id', '/admin/keys/some-id/usage']) {
    it(`the public port answers ${path} with an OpenAI-shaped 404, with or without the master key`, async () => {
      for (const headers of [{}, { authorization: `Bearer ${MASTER}` }]) {
        const res = await fetch(`${gateway.url}${path}`, { headers });
        assert.equal(res.status, 404);
        const body = (await res.json()) as { error: { code: string; type: string } };
        assert.equal(body.error.code, 'not_found');
        assert.doesNotMatch(JSON.stringify(body), /gateway_|# HELP/);
      }
    });
  }

  /** Status and `Allow` of `method path` on `base`, sent with the master key. */
  async function answer(base: string, method: string, path: string): Promise<[number, string | null]> {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${MASTER}` } });
    await res.arrayBuffer();
    return [res.status, res.headers.get('allow')];
  }

  it('the public port answers another method on an ops route with a 404 too, naming no ops route', async () => {
    for (const [method, path] of [
      ['PUT', '/metrics'],
      ['DELETE', '/admin/keys'],
      ['PUT', '/admin/keys/abc'],
      ['POST', '/admin/keys/abc/usage'],
      ['PUT', '/%61dmin/keys'],
    ]) {
      assert.deepEqual(await answer(gateway.url, method, path), [404, null], `${method} ${path}`);
    }
  });

  it("a 405's Allow names only routes of the listener the request came in on", async () => {
    assert.deepEqual(await answer(gateway.opsUrl, 'PUT', '/metrics'), [405, 'GET']);
    assert.deepEqual(await answer(gateway.opsUrl, 'PUT', '/admin/keys/abc'), [405, 'GET, PATCH, DELETE']);
    assert.deepEqual(await answer(gateway.url, 'DELETE', '/v1/models'), [405, 'GET']);
    assert.deepEqual(await answer(gateway.opsUrl, 'DELETE', '/v1/models'), [404, null]);
  });

  it('a path with an empty segment is a 404 under any method, not a 405', async () => {
    for (const [base, method, path] of [
      [gateway.url, 'GET', '/v1/models/'],
      [gateway.url, 'POST', '/v1/models/'],
      [gateway.opsUrl, 'GET', '/admin/keys//usage'],
      [gateway.opsUrl, 'GET', '/admin/keys/'],
      [gateway.opsUrl, 'DELETE', '/admin/keys/'],
    ]) {
      assert.deepEqual(await answer(base, method, path), [404, null], `${method} ${path}`);
    }
  });

  it('the ops port serves the Prometheus scrape without a key', async () => {
    const res = await fetch(`${gateway.opsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^# HELP gateway_/m);
  });

  it('the ops port serves the admin API behind the master key', async () => {
    assert.equal((await fetch(`${gateway.opsUrl}/admin/keys`)).status, 401);
  });

  it('the ops port does not serve the model API', async () => {
    const res = await fetch(`${gateway.opsUrl}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER}` } })).status, 200);
  });

  it('probes answer on both ports, and / answers on the public port for L7 health checks', async () => {
    for (const base of [gateway.url, gateway.opsUrl]) {
      assert.equal((await fetch(`${base}/health`)).status, 200);
      assert.equal((await fetch(`${base}/ready`)).status, 200);
    }
    assert.equal((await fetch(`${gateway.url}/`)).status, 200);
  });
});

// Found by an independent check: with auth on, anonymous callers of the public port read internal state from
// the probes (Redis reachability, the embedder's state); the load balancer's health check needs only the status.
describe('probes: with auth on, the public port says only up or down; the ops port keeps the details', () => {
  type Report = { status: string; details?: Record<string, { status: string; [key: string]: unknown }> };
  const probe = async (url: string): Promise<[number, Report]> => {
    const res = await fetch(url);
    return [res.status, (await res.json()) as Report];
  };

  it('auth on: {"status":"ok"} on the public port, Terminus details on the ops port; the same 503 while draining', async () => {
    // A drain delay long enough to read the probes during it; the process is killed after.
    const gateway = await GatewayProcess.start(configWith(), { env: { GATEWAY_MASTER_KEY: MASTER, SHUTDOWN_DELAY_MS: '60000' } });
    try {
      for (const path of ['/health', '/ready']) {
        assert.deepEqual(await probe(`${gateway.url}${path}`), [200, { status: 'ok' }], path);
        const [status, ops] = await probe(`${gateway.opsUrl}${path}`);
        assert.equal(status, 200, path);
        assert.equal(ops.status, 'ok');
        assert.ok(ops.details && Object.keys(ops.details).length > 0, `${path} details on the ops port`);
      }
      const [, ready] = await probe(`${gateway.opsUrl}/ready`);
      assert.deepEqual(ready.details!.redis, { status: 'up', configured: false });
      gateway.signal('SIGTERM');
      assert.ok(await eventually(async () => (await fetch(`${gateway.url}/ready`)).status === 503), 'not ready once draining');
      assert.deepEqual(await probe(`${gateway.url}/ready`), [503, { status: 'error' }]);
      const [status, draining] = await probe(`${gateway.opsUrl}/ready`);
      assert.equal(status, 503);
      assert.deepEqual(draining.details!.gateway, { status: 'down', message: 'draining for shutdown' });
      assert.deepEqual(await probe(`${gateway.url}/health`), [200, { status: 'ok' }], 'still live while draining');
    } finally {
      gateway.signal('SIGKILL');
      await gateway.waitForExit();
    }
  });

  it('auth off (a laptop, loopback): the public port gives the details too', async () => {
    const gateway = await GatewayProcess.start(configWith());
    try {
      const [status, ready] = await probe(`${gateway.url}/ready`);
      assert.equal(status, 200);
      assert.deepEqual(ready.details!.redis, { status: 'up', configured: false });
    } finally {
      await gateway.stop();
    }
  });
});
