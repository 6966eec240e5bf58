import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const skip = !SERVER && 'TEST_REDIS_SERVER unset (run npm test)';
const MASTER = 'test-master-key-0123456789';
const KEYS = { TEAM_A_KEY: 'team-a-secret-key-value', TEAM_B_KEY: 'team-b-secret-key-value' };
const TTL = 120;

describe('stored responses in Redis, across two gateway replicas and two tenants', { skip }, () => {
  let redis: RedisServer;
  let probe: Redis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const as = (gw: GatewayProcess, key: string): OpenAI => gw.client({ apiKey: key });

  before(async () => {
    redis = await RedisServer.start(SERVER!);
    probe = new Redis(redis.url);
    const config = configWith({
      security: {
        keys: [
          { id: 'team-a', keyEnv: 'TEAM_A_KEY' },
          { id: 'team-b', keyEnv: 'TEAM_B_KEY' },
        ],
      },
      responses: { ttlSeconds: TTL },
    });
    const env = { REDIS_URL: redis.url, GATEWAY_MASTER_KEY: MASTER, ...KEYS };
    [a, b] = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    probe?.disconnect();
    await redis?.stop();
  });

  it('a response stored on one replica is fetched and continued on the other, by its tenant only', async () => {
    const first = await as(a, KEYS.TEAM_A_KEY).responses.create({
      model: 'mock',
      input: 'My name is Zed and I like long prompts.',
      store: true,
    });
    const fetched = await as(b, KEYS.TEAM_A_KEY).responses.retrieve(first.id);
    assert.deepEqual(fetched.output, first.output);

    const alone = await as(b, KEYS.TEAM_A_KEY).responses.create({ model: 'mock', input: 'What is my name?', store: false });
    const continued = await as(b, KEYS.TEAM_A_KEY).responses.create({
      model: 'mock',
      input: 'What is my name?',
      previous_response_id: first.id,
    });
    assert.ok(continued.usage!.input_tokens > alone.usage!.input_tokens, 'the earlier turn was part of the prompt');

    const other = as(b, KEYS.TEAM_B_KEY);
    assert.equal((await apiError(other.responses.retrieve(first.id))).status, 404);
    const err = await apiError(other.responses.create({ model: 'mock', input: 'x', previous_response_id: first.id }));
    assert.deepEqual([err.status, err.code, err.param], [400, 'previous_response_not_found', 'previous_response_id']);
    assert.equal((await apiError(other.responses.delete(first.id))).status, 404);
    await as(a, KEYS.TEAM_A_KEY).responses.retrieve(first.id); // still there: team-b could not delete it
  });

  it("one key per response and the tenant's counts, tagged by tenant (cluster-safe), with the configured TTL", async () => {
    const res = await as(a, KEYS.TEAM_B_KEY).responses.create({ model: 'mock', input: 'tagged', store: true });
    const key = `gw:resp:{team-b}:${res.id}`;
    const ttl = await probe.ttl(key);
    assert.ok(ttl > 0 && ttl <= TTL, `ttl ${ttl}`);
    for (const k of await probe.keys('gw:resp:*'))
      assert.match(k, /^gw:resp:\{team-[ab]\}:(resp_[0-9a-f]{36}|~expiries|~sizes|~bytes|~children)$/);
  });

  it('an AI SDK conversation and tool loop whose requests alternate between the replicas', async () => {
    let n = 0;
    const provider = createOpenAI({
      baseURL: `${a.url}/v1`,
      apiKey: KEYS.TEAM_A_KEY,
      fetch: (url, init) => fetch(String(url).replace(a.url, n++ % 2 ? b.url : a.url), init),
    });
    const prompt = { role: 'user' as const, content: 'My name is Zed.' };
    const first = await generateText({ model: provider('mock'), messages: [prompt] });
    // Served by the other replica: the earlier answer is an item_reference it reads from Redis.
    const second = await generateText({
      model: provider('mock'),
      messages: [prompt, ...first.response.messages, { role: 'user', content: 'Name?' }],
    });
    assert.ok(second.usage.inputTokens! > first.usage.inputTokens!, 'the referenced answer was part of the prompt');
    const result = await generateText({
      model: provider('mock'),
      prompt: 'Weather in Paris?',
      tools: {
        get_weather: tool({
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
          execute: async () => 'sunny-42',
        }),
      },
      stopWhen: stepCountIs(3),
    });
    assert.equal(n, 4, 'each replica served two requests');
    assert.equal(result.steps.length, 2);
    assert.match(result.text, /The tool returned: .*sunny-42/);
  });

  it('with Redis down: answers are still served, continuing one is a 503 in OpenAI shape', async () => {
    const client = as(a, KEYS.TEAM_A_KEY);
    const kept = await client.responses.create({ model: 'mock', input: 'before the outage', store: true });
    await redis.stop();
    try {
      const res = await client.responses.create({ model: 'mock', input: 'during the outage', store: true });
      assert.equal(res.status, 'completed');
      const err = await apiError(client.responses.create({ model: 'mock', input: 'x', previous_response_id: kept.id }));
      assert.equal(err.status, 503);
      assert.equal(err.code, 'response_store_unavailable');
      assert.equal(
        (err.error as { message: string }).message,
        'The response store is unavailable; stored responses cannot be read or deleted now. Try again shortly.',
        "no Redis client internals (ioredis's 'Stream isn't writeable…')",
      );
    } finally {
      await redis.start();
    }
  });
});
