import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * A page at an allowed origin (`security.corsOrigins`) calls every API README lists, found wrong by an independent
 * check (docs32): the preflight allowed GET, HEAD and POST only, so a browser could not DELETE a stored response, and
 * no answer header (request id, cost, rate limits) was readable by the page. The mock provider, no Redis.
 */
const ORIGIN = 'https://app.example';

describe('CORS for an allowed origin', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith({ security: { corsOrigins: [ORIGIN] } }));
  });
  after(() => gateway?.stop());

  const preflight = (path: string, method: string, origin = ORIGIN) =>
    fetch(`${gateway.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
    });

  it('the preflight allows DELETE of a stored response, and the page deletes it', async () => {
    const created = await fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', input: 'hi' }),
    });
    const { id } = (await created.json()) as { id: string };
    const asked = await preflight(`/v1/responses/${id}`, 'DELETE');
    assert.equal(asked.status, 204);
    assert.equal(asked.headers.get('access-control-allow-origin'), ORIGIN);
    assert.ok(
      asked.headers.get('access-control-allow-methods')?.split(/,\s*/).includes('DELETE'),
      asked.headers.get('access-control-allow-methods') ?? '',
    );
    const deleted = await fetch(`${gateway.url}/v1/responses/${id}`, { method: 'DELETE', headers: { origin: ORIGIN } });
    assert.deepEqual([deleted.status, ((await deleted.json()) as { deleted?: boolean }).deleted], [200, true]);
    assert.equal(deleted.headers.get('access-control-allow-origin'), ORIGIN);
  });

  it('an answer`s headers are exposed to the page; another origin is not allowed', async () => {
    const answered = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(answered.status, 200);
    assert.ok(answered.headers.get('x-request-id'));
    assert.equal(answered.headers.get('access-control-expose-headers'), '*');
    const other = await preflight('/v1/chat/completions', 'POST', 'https://elsewhere.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
