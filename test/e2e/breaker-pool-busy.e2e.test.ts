import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'master-key-0123456789abcdef';
const HOLDER_KEY = 'tenant-holder-key-0123456789abcdef';
const OTHER_KEY = 'tenant-other-key-0123456789abcdef';

// Found by an independent check (fair31, defect 1): one tenant's long streams held every one of a provider's
// maxConnections; another tenant's requests waited in the gateway's own queue for a connection, timed out at attemptMs
// as 504 "The upstream did not answer within N ms" (it never had them), and those waits counted as the deployment's
// failures: its breaker opened, and that tenant got 503 no_healthy_deployment from a healthy upstream. Seen failing before
// the fix: the waits were 504 upstream_timeout, and once the connection was free the request was refused 503.
describe("router: another tenant's requests wait for a connection one tenant's streams hold", () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;

  before(async () => {
    const baseUrl = await upstream.start();
    const config = configWith({
      // One connection: the holder's stream takes it. Two groups on the one provider share its pool, not their breakers.
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY', maxConnections: 1 }],
      models: [
        { name: 'long', deployments: [{ provider: 'fake', model: 'stall' }] },
        { name: 'shared', deployments: [{ provider: 'fake', model: 'ok' }] },
      ],
      router: {
        retry: { attemptsPerDeployment: 1 },
        timeouts: { attemptMs: 500, deadlineMs: 5_000 },
        breaker: { consecutiveFailures: 2, cooldownMs: 30_000 },
      },
      security: {
        keys: [
          { id: 'tenant-holder', keyEnv: 'HOLDER_KEY' },
          { id: 'tenant-other', keyEnv: 'OTHER_KEY' },
        ],
      },
    });
    gateway = await GatewayProcess.start(config, {
      env: { FAKE_KEY: 'sk-fake', GATEWAY_MASTER_KEY: MASTER, HOLDER_KEY, OTHER_KEY },
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const ask = (key: string, model: string, stream: boolean, signal?: AbortSignal) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hello' }] }),
      signal,
    });

  it('they get 503 connections_busy, not the upstream timeout, and the breaker stays closed for when one frees', async () => {
    const holder = new AbortController();
    const held = await ask(HOLDER_KEY, 'long', true, holder.signal);
    assert.equal(held.status, 200, "the holder's stream began: it holds the only connection");
    const waits = [];
    for (let i = 0; i < 3; i++) {
      const res = await ask(OTHER_KEY, 'shared', false);
      const body = (await res.json()) as { error: { code: string; message: string } };
      waits.push({ status: res.status, code: body.error.code, retryAfter: res.headers.get('retry-after') });
      assert.match(body.error.message, /not sent upstream/);
    }
    assert.deepEqual(waits, Array(3).fill({ status: 503, code: 'connections_busy', retryAfter: '1' }));
    holder.abort();
    await held.body?.cancel().catch(() => undefined);
    // The connection frees once the gateway has cut the holder's stream upstream; the breaker never opened.
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      const res = await ask(OTHER_KEY, 'shared', false);
      status = res.status;
      const text = await res.text();
      assert.doesNotMatch(text, /no_healthy_deployment/, 'the waits did not open the breaker');
    }
    assert.equal(status, 200, 'served once the connection was free');
    assert.equal(await gateway.metric('gateway_circuit_breaker_state', 'deployment="shared/0"'), 0);
  });
});
