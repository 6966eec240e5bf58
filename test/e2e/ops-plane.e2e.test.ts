import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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
