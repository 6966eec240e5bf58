import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { settle } from '../support/cache';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/13`;
const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];

/**
 * cache.toolCallResponses turned from true to false by a rolling restart: replicas on the new config served the
 * tool-call answers stored under the old one (hit-exact, the old call ids) for the rest of their TTL, as the setting
 * was checked only when storing (change30 D4). It is checked when serving too.
 */
describe(
  'cache.toolCallResponses turned off: stored tool calls are no longer served',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    const upstream = new FakeOpenAI();
    let baseUrl: string;
    let gateway: GatewayProcess | undefined;
    const start = (toolCallResponses: boolean) =>
      GatewayProcess.start(
        configWith({
          providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
          models: [{ name: 'tool', deployments: [{ provider: 'fake', model: 'tool', capabilities: ['tools'] }] }],
          cache: { enabled: true, toolCallResponses, semantic: { enabled: false } },
        }),
        { env: { REDIS_URL: REDIS_URL! } },
      );
    const call = async (stream: boolean) => {
      const client = gateway!.client();
      const messages = [{ role: 'user' as const, content: 'What is the weather in Paris?' }];
      const { response, data } = await client.chat.completions.create({ model: 'tool', messages, tools, stream }).withResponse();
      if (stream) for await (const _ of data as AsyncIterable<unknown>);
      return response.headers.get('x-gateway-cache');
    };

    before(async () => {
      baseUrl = await upstream.start();
      const redis = new Redis(REDIS_URL!);
      await redis.flushdb();
      redis.disconnect();
    });
    after(async () => {
      await gateway?.stop();
      await upstream.stop();
    });

    it('stored while on (hit-exact), a miss, whole or streamed, once off', async () => {
      gateway = await start(true);
      assert.equal(await call(false), 'miss');
      await settle();
      assert.equal(await call(false), 'hit-exact', 'stored while on');
      await gateway.stop();

      gateway = await start(false);
      assert.deepEqual([await call(false), await call(true)], ['miss', 'miss']);
    });
  },
);
