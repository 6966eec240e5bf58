import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/12`;
const MASTER = 'key-id-clash-master-key-0123456';
const CONFIG_SECRET = 'key-id-clash-config-secret-0123456';

const chat = (gateway: GatewayProcess, key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });

/**
 * A config key given the id of a key created through the admin API (an operator moving the key into the config file
 * under its id, in a rolling restart) started silently, and PATCH and DELETE of that id answered 409 key_in_config:
 * the API-created secret kept working with no way to revoke it short of another config change (change30 D2). Start-up
 * now names the clash, and changes by that id reach the stored key.
 */
describe(
  'a config key with the id of a key created through the admin API',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    let gateway: GatewayProcess | undefined;
    after(async () => {
      await gateway?.stop();
    });

    it('is named at start-up, and DELETE by the id revokes the API-created key; the config key works on', async () => {
      const redis = new Redis(REDIS_URL!);
      await redis.flushdb();
      redis.disconnect();
      const env = { REDIS_URL: REDIS_URL!, GATEWAY_MASTER_KEY: MASTER, CLASH_KEY: CONFIG_SECRET };
      gateway = await GatewayProcess.start(configWith(), { env });
      const created = await gateway.adminKeys(MASTER, 'POST', '', { name: 'made-through-the-api' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { id, key: apiSecret } = created.body as { id: string; key: string };
      await gateway.stop();

      gateway = await GatewayProcess.start(configWith({ security: { keys: [{ id, keyEnv: 'CLASH_KEY' }] } }), { env });
      assert.equal((await chat(gateway, apiSecret)).status, 200, 'the API-created secret works before the DELETE');

      const revoked = await gateway.adminKeys(MASTER, 'DELETE', `/${id}`);
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.equal((await chat(gateway, apiSecret)).status, 401, 'the API-created secret is revoked');
      assert.equal((await chat(gateway, CONFIG_SECRET)).status, 200, 'the config key works on');

      // A change by the id reaches the stored key (now revoked), not the config key's 409 key_in_config.
      const patched = await gateway.adminKeys(MASTER, 'PATCH', `/${id}`, { rpm: 5 });
      assert.equal(patched.body.error?.code, 'key_revoked', JSON.stringify(patched.body));

      const [line] = await gateway.logged(new RegExp(`^config key ${id} has the id of a key created through the admin API`));
      assert.equal(line?.level, 50, 'named at start-up, in an error line');
    });
  },
);
