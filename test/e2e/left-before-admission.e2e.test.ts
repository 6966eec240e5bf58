import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { FaultProxy } from '../support/fault-proxy';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

// A client that left while its request waited on something before admission (here: a Responses request
// reading its previous response from Redis, with no key) must not be sent upstream: the close that aborts
// the client signal came before the pipeline took the signal, so only admission's check of the closed
// response (AdmissionService.taken) stops it. Without that check the answer was paid for with no one to read it.

const SERVER = process.env.TEST_REDIS_SERVER;

describe(
  'a client that left before the upstream call is not sent upstream',
  { skip: !SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    const upstream = new FakeOpenAI();
    let server: RedisServer;
    let proxy: FaultProxy;
    let gateway: GatewayProcess;

    before(async () => {
      const baseUrl = await upstream.start();
      server = await RedisServer.start(SERVER!);
      proxy = await FaultProxy.start(server.port);
      gateway = await GatewayProcess.start(
        configWith({
          providers: [{ name: 'compat', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
          models: [{ name: 'm', deployments: [{ provider: 'compat', model: 'ok' }] }],
          cache: { enabled: false },
        }),
        { env: { FAKE_KEY: 'sk-fake', REDIS_URL: proxy.url } },
      );
    });
    after(async () => {
      await gateway?.stop();
      await proxy?.stop();
      await server?.stop();
      await upstream.stop();
    });

    it('a Responses request whose client left while its previous response was read', async () => {
      const first = await gateway.client().responses.create({ model: 'm', input: 'first turn', store: true });
      const asked = () => upstream.received.filter((r) => JSON.stringify(r.body).includes('left while held')).length;

      proxy.hold();
      try {
        const req = httpRequest(`${gateway.url}/v1/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'left-while-held' },
        });
        req.on('error', () => undefined);
        req.end(JSON.stringify({ model: 'm', input: 'left while held', previous_response_id: first.id }));
        assert.ok(await eventually(async () => proxy.heldCommands.includes(first.id)), 'the previous response is being read');
        req.destroy();
        const [line] = await gateway.logged('request', { where: (l) => l.reqId === 'left-while-held', timeoutMs: 10_000 });
        assert.equal(line?.status, 499);
      } finally {
        proxy.release();
      }
      // A request sent after it, on the same Redis connection, is answered after the one that left went on:
      // by then that one has either been sent upstream or not at all.
      const next = await gateway.client().responses.create({ model: 'm', input: 'the next turn', previous_response_id: first.id });
      assert.equal(next.status, 'completed');
      assert.equal(asked(), 0, 'the request whose client left reached the upstream');
    });
  },
);
