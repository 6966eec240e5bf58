import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { collect, TIME_TOOL, WEATHER_TOOL } from '../support/chat';
import { FakeAnthropic } from '../support/fake-anthropic';
import { FakeGemini } from '../support/fake-gemini';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const skip = !SERVER && 'TEST_REDIS_SERVER unset (run npm test)';
const MASTER = 'test-master-key-0123456789';
const KEYS = { TEAM_A_KEY: 'team-a-secret-key-value', TEAM_B_KEY: 'team-b-secret-key-value' };
const VENDOR_KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake-key', FAKE_GEMINI_KEY: 'AIza-fake-key' };
const SIGNED = { type: 'thinking', thinking: 'The weather tool knows.', signature: 'sig-tool' };

type SentToClaude = { thinking?: unknown; messages: { role: string; content: { type: string }[] }[] };

/** The turn an OpenAI-format agent (opencode, llm, qwen-code) sends back: reasoning_content and bare tool calls, nothing else the gateway added. */
function echoedTurn(message: { content: string | null; reasoning?: string; calls: OpenAI.ChatCompletionMessageFunctionToolCall[] }) {
  const toolCalls = message.calls.map(({ id, function: f }) => ({ id, type: 'function' as const, function: f }));
  return [
    { role: 'assistant', content: message.content, reasoning_content: message.reasoning, tool_calls: toolCalls },
    ...toolCalls.map((call) => ({ role: 'tool', tool_call_id: call.id, content: 'sunny' })),
  ] as OpenAI.ChatCompletionMessageParam[];
}

describe('reasoning state kept for clients that drop it: per tenant, across replicas through Redis, fail-open', { skip }, () => {
  const anthropic = new FakeAnthropic(VENDOR_KEYS.FAKE_ANTHROPIC_KEY);
  const gemini = new FakeGemini(VENDOR_KEYS.FAKE_GEMINI_KEY);
  let redis: RedisServer;
  let probe: Redis;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const as = (gw: GatewayProcess, key: string): OpenAI => gw.client({ apiKey: key });
  const sentToClaude = () => anthropic.last().body as SentToClaude;
  const claude = { model: 'claude-tool', tools: [WEATHER_TOOL], reasoning_effort: 'high' as const };
  const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };

  /** Tenant `key`'s first turn on `gw` (created), and the history an agent sends back after it. */
  async function claudeLoop(gw: GatewayProcess, key: string): Promise<OpenAI.ChatCompletionMessageParam[]> {
    const first = await as(gw, key).chat.completions.create({ ...claude, messages: [question] });
    const message = first.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    const calls = message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    return [question, ...echoedTurn({ content: message.content, reasoning: message.reasoning_content, calls })];
  }

  before(async () => {
    redis = await RedisServer.start(SERVER!);
    probe = new Redis(redis.url);
    const config = configWith({
      providers: [
        { name: 'claude', type: 'anthropic', baseUrl: await anthropic.start(), apiKeyEnv: 'FAKE_ANTHROPIC_KEY' },
        { name: 'gem', type: 'gemini', baseUrl: await gemini.start(), apiKeyEnv: 'FAKE_GEMINI_KEY' },
      ],
      models: [
        { name: 'claude-tool', deployments: [{ provider: 'claude', model: 'claude-tool', capabilities: ['tools', 'reasoning'] }] },
        { name: 'gemini-signed', deployments: [{ provider: 'gem', model: 'gemini-signed', capabilities: ['tools', 'reasoning'] }] },
      ],
      security: {
        keys: [
          { id: 'team-a', keyEnv: 'TEAM_A_KEY' },
          { id: 'team-b', keyEnv: 'TEAM_B_KEY' },
        ],
      },
    });
    const env = { REDIS_URL: redis.url, GATEWAY_MASTER_KEY: MASTER, ...KEYS, ...VENDOR_KEYS };
    [a, b] = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    probe?.disconnect();
    await Promise.all([redis?.stop(), anthropic.stop(), gemini.stop()]);
  });

  it('two tenants with one tool-call id never get each other`s state', async () => {
    const history = await claudeLoop(a, KEYS.TEAM_A_KEY);
    assert.equal((history[2] as { tool_call_id: string }).tool_call_id, 'toolu_01');

    // Team B sends the same call id back (ids are the vendor's: nothing stops two tenants holding one).
    await as(a, KEYS.TEAM_B_KEY).chat.completions.create({ ...claude, messages: history });
    assert.equal(sentToClaude().thinking, undefined, 'not team A`s blocks: team B`s turn goes with thinking off');
    assert.equal(sentToClaude().messages[1].content[0].type, 'tool_use');

    await as(a, KEYS.TEAM_A_KEY).chat.completions.create({ ...claude, messages: history });
    assert.deepEqual(sentToClaude().thinking, { type: 'adaptive', display: 'summarized' });
    assert.deepEqual(sentToClaude().messages[1].content[0], SIGNED);
  });

  it('a second replica re-attaches what the first returned, from Redis: Claude`s signed blocks, Gemini`s signature', async () => {
    const history = await claudeLoop(a, KEYS.TEAM_A_KEY);
    const ttl = await probe.ttl('gw:reasoning:{team-a}:anthropic:toolu_01');
    assert.ok(ttl > 0 && ttl <= 3_600, `ttl ${ttl}`);
    await as(b, KEYS.TEAM_A_KEY).chat.completions.create({ ...claude, messages: history });
    assert.deepEqual(sentToClaude().thinking, { type: 'adaptive', display: 'summarized' });
    assert.deepEqual(sentToClaude().messages[1].content[0], SIGNED);

    // Gemini, streamed: `gemini-signed` refuses calls replayed without the signatures it gave them.
    const ask = { model: 'gemini-signed', tools: [WEATHER_TOOL, TIME_TOOL] };
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'both?' }];
    const first = await collect(await as(a, KEYS.TEAM_A_KEY).chat.completions.create({ ...ask, messages, stream: true }));
    const calls = first.calls.map(({ id, name, arguments: args }) => ({
      id,
      type: 'function' as const,
      function: { name, arguments: args },
    }));
    messages.push(...echoedTurn({ content: first.text, calls }));
    const second = await as(b, KEYS.TEAM_A_KEY).chat.completions.create({ ...ask, messages });
    assert.match(second.choices[0].message.content ?? '', /^tool results: /);
    assert.deepEqual(gemini.replayedSignatures(), [['gsig-P', null]]);
  });

  it('Redis down: answers as without the state (thinking off for that turn), no error; what a replica holds still serves', async () => {
    await redis.stop();
    const history = await claudeLoop(a, KEYS.TEAM_B_KEY);
    const second = await as(b, KEYS.TEAM_B_KEY).chat.completions.create({ ...claude, messages: history });
    assert.equal(second.choices[0].message.content, 'tool results: toolu_01=sunny');
    assert.equal(sentToClaude().thinking, undefined);

    // Replica b read team A's blocks from Redis before: it keeps them in process.
    await as(b, KEYS.TEAM_A_KEY).chat.completions.create({ ...claude, messages: history });
    assert.deepEqual(sentToClaude().messages[1].content[0], SIGNED);
  });
});
