import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER_KEY = 'sk-gw-master-0123456789abcdef';
const TEAM_KEY = 'sk-team-a-0123456789abcdef';
const ADMIN_KEY = 'sk-admin-0123456789abcdef';
const PROVIDER_KEY = 'sk-upstream-0123456789';

const config = (baseUrl: string) =>
  configWith({
    providers: [{ name: 'fake', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_UPSTREAM_KEY' }],
    models: [{ name: 'fake-ok', deployments: [{ provider: 'fake', model: 'ok' }] }],
    security: { keys: [{ id: 'team-a', keyEnv: 'TEAM_A_KEY' }], adminKeys: [{ id: 'ops', keyEnv: 'OPS_ADMIN_KEY', role: 'read' }] },
  });

const chat = (gateway: GatewayProcess, key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake-ok', messages: [{ role: 'user', content: 'hi' }] }),
  });

/**
 * Secrets from a Secret made with `kubectl create secret --from-file` end in the file's line break. Found by an
 * independent check (ops28 D1): such a master key or team key started with auth on and every request, admin API
 * included, got a 401; such a provider key turned the provider on and every call failed with a 502 blaming the
 * network (undici refused the header). The whitespace around a secret is dropped; whitespace inside is refused.
 */
describe('secrets with whitespace around them (a file line break) work as the key they hold', () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(config(await upstream.start()), {
      env: {
        GATEWAY_MASTER_KEY: `${MASTER_KEY}\n`,
        TEAM_A_KEY: `  ${TEAM_KEY}\r\n`,
        OPS_ADMIN_KEY: `${ADMIN_KEY}\n`,
        FAKE_UPSTREAM_KEY: `${PROVIDER_KEY}\n`,
      },
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  it('the master key and a team key answer on /v1; the provider gets its key without the line break', async () => {
    const master = await chat(gateway, MASTER_KEY);
    assert.equal(master.status, 200, await master.clone().text());
    assert.equal(upstream.last().headers.authorization, `Bearer ${PROVIDER_KEY}`);
    const team = await chat(gateway, TEAM_KEY);
    assert.equal(team.status, 200, await team.clone().text());
  });

  it('the master key and an admin key reach the admin API', async () => {
    assert.equal((await gateway.adminKeys(MASTER_KEY, 'GET', '')).status, 200);
    assert.equal((await gateway.adminKeys(ADMIN_KEY, 'GET', '')).status, 200);
  });
});

describe('a secret with whitespace inside: exit 78, naming the variable, never its value', () => {
  const cases: [string, string][] = [
    ['GATEWAY_MASTER_KEY', 'sk-gw-master 0123456789abcdef'],
    ['TEAM_A_KEY', 'sk-team-a\n0123456789abcdef'],
    ['OPS_ADMIN_KEY', 'sk-admin\t0123456789abcdef'],
    ['FAKE_UPSTREAM_KEY', 'sk-upstream 0123456789'],
  ];
  for (const [name, value] of cases) {
    it(name, async () => {
      const env = { GATEWAY_MASTER_KEY: MASTER_KEY, TEAM_A_KEY: TEAM_KEY, [name]: value };
      const gateway = await GatewayProcess.start(config('http://127.0.0.1:1'), { expectExit: true, env });
      if (gateway.exitCode === null) await gateway.stop();
      assert.equal(await gateway.waitForExit(), 78);
      const output = gateway.rawOutput.join('\n');
      assert.match(output, new RegExp(`^ai-gateway: invalid gateway config \\(\\S+\\): ${name}: the key has whitespace inside`, 'm'));
      for (const part of value.split(/\s/)) assert.ok(!output.includes(part), `the value stays out of the output:\n${output}`);
    });
  }
});
