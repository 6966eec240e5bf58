import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/free-port';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * The README's Claude Code shell (ANTHROPIC_BASE_URL at the gateway) starting the gateway: its
 * providers call the gateway itself. Each request must end with a 508 after a bounded number
 * of hops, in the caller's protocol, rather than recurse until the client gives up.
 */
describe('a provider whose base URL leads back to the gateway', () => {
  let gateway: GatewayProcess;
  before(async () => {
    const port = await freePort();
    const self = `http://127.0.0.1:${port}`;
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'self-openai', type: 'openai-compatible', baseUrl: `${self}/v1` },
          { name: 'self-anthropic', type: 'anthropic', baseUrl: self, apiKeyEnv: 'SELF_KEY' },
        ],
        models: [
          { name: 'looped', deployments: [{ provider: 'self-openai', model: 'looped', price: { input: 1, output: 1 } }] },
          { name: 'claude-looped', deployments: [{ provider: 'self-anthropic', model: 'claude-looped', price: { input: 1, output: 1 } }] },
        ],
      }),
      { env: { PORT: String(port), SELF_KEY: 'gw-unused-while-auth-is-off' } },
    );
  });
  after(() => gateway?.stop());

  /** Access-log lines of requests that reached `route`. */
  const served = (route: string) => gateway.logs.filter((l) => l.msg === 'request' && l.route === route).length;

  it('an OpenAI request ends in a 508 loop_detected after 5 gateway requests (4 hops)', async () => {
    const before = served('/v1/chat/completions');
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'looped', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 508);
    assert.equal(res.headers.get('x-should-retry'), 'false', 'SDKs must not retry a loop');
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'loop_detected');
    assert.match(body.error.message, /base URL leads back to a gateway/);
    await gateway.logged('request', { where: (l) => l.route === '/v1/chat/completions', count: before + 5 });
    assert.equal(served('/v1/chat/completions') - before, 5);
  });

  it('an Anthropic request through an anthropic provider ends in a 508 of Anthropic shape, as bounded', async () => {
    const before = served('/v1/messages');
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-looped', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 508);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'api_error');
    assert.match(body.error.message, /x-gateway-hops/);
    await gateway.logged('request', { where: (l) => l.route === '/v1/messages', count: before + 5 });
    assert.equal(served('/v1/messages') - before, 5);
  });

  it('a request that has made fewer hops is served as usual', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gateway-hops': '3' },
      body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
  });
});
