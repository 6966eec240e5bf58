import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { apiError } from '../support/chat';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;

/**
 * Found by an independent check (recheck28b) of the linked stored responses: a continuation whose previous response
 * was deleted (or expired) while it was answered was reported stored (`x-gateway-response-stored: true`), but its
 * conversation was gone: its input_items 404, continuing it previous_response_not_found. Stored whole before links,
 * it survived. Now it is not stored, and says so; in Redis and in process.
 */
for (const store of ['in process', 'Redis'] as const) {
  describe(
    `a continuation whose previous response goes while it is answered (${store})`,
    { skip: store === 'Redis' && !SERVER && 'TEST_REDIS_SERVER unset' },
    () => {
      const upstream = new FakeOpenAI();
      let redis: RedisServer | undefined;
      let gateway: GatewayProcess;
      let client: OpenAI;

      before(async () => {
        const url = await upstream.start();
        if (store === 'Redis') redis = await RedisServer.start(SERVER!);
        gateway = await GatewayProcess.start(
          configWith({
            providers: [{ name: 'fake', type: 'openai-compatible', baseUrl: `${url}/v1`, apiKeyEnv: 'FAKE_KEY' }],
            models: [{ name: 'held', deployments: [{ provider: 'fake', model: 'held-b' }] }],
          }),
          { env: { FAKE_KEY: 'sk-fake', ...(redis && { REDIS_URL: redis.url }) } },
        );
        client = gateway.client();
      });
      after(async () => {
        await gateway?.stop();
        await upstream.stop();
        await redis?.stop();
      });

      it('is answered but not stored, and says so; its id is not found', async () => {
        const first = await client.responses.create({ model: 'mock', input: 'remember 42' });
        const asked = upstream.received.length;
        const pending = client.responses.create({ model: 'held', input: 'and then?', previous_response_id: first.id }).withResponse();
        // The continuation read its conversation and is with the upstream: the response it continues goes now.
        assert.ok(await eventually(async () => upstream.received.length > asked));
        await client.responses.delete(first.id);
        upstream.release('b');
        const { data: second, response } = await pending;
        assert.equal(second.status, 'completed');
        assert.equal(response.headers.get('x-gateway-response-stored'), 'false');
        assert.equal((await apiError(client.responses.retrieve(second.id))).status, 404);
        const continued = await apiError(client.responses.create({ model: 'mock', input: 'x', previous_response_id: second.id }));
        assert.ok(continued instanceof OpenAI.BadRequestError, String(continued));
        assert.equal(continued.code, 'previous_response_not_found');
      });
    },
  );
}
