import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { ProviderConfig } from '../../libs/config/src/gateway-config';
import { anthropicClient } from '../../libs/providers/src/anthropic/client';
import { HOPS_HEADER } from '../../libs/providers/src/gateway-hops';
import { PooledFetch } from '../../libs/providers/src/translation/transport';
import { eventually } from '../support/eventually';
import { CACHE_WRITE_USAGE, COUNT_TOKENS_BASE, FakeAnthropic } from '../support/fake-anthropic';
import { FakeGemini } from '../support/fake-gemini';
import { FakeOpenAI, PARALLEL_CALLS, THOUGHT } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const KEY = 'gw-team-key-0123456789';
const NARROW_KEY = 'gw-narrow-key-0123456789';
const TIGHT_KEY = 'gw-tight-key-0123456789';
/** A monthly budget of $0.015: a search request's tokens fit in it, not with its searches. */
const THRIFTY_KEY = 'gw-thrifty-key-0123456789';
/** Allowed one priced Claude model, 2 requests a minute and a budget no message fits in. */
const COUNTED_KEY = 'gw-counted-key-0123456789';
const OPENAI_KEY = 'sk-fake-openai';
const ANTHROPIC_KEY = 'sk-ant-upstream-secret-42';
const GEMINI_KEY = 'gemini-upstream-secret-42';

/** One upstream family: the gateway models that reach it, and what its fake answers. */
interface Vendor {
  name: string;
  echo: string;
  tool: string;
  upstream: () => FakeOpenAI | FakeAnthropic | FakeGemini;
  /** The echo answer to `hello gateway`. */
  answer: RegExp;
  /** The tool the fake calls and the input it sends. */
  call: { name: string; input: Record<string, unknown> };
}

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic(ANTHROPIC_KEY);
const gemini = new FakeGemini(GEMINI_KEY);

const VENDORS: Vendor[] = [
  {
    name: 'OpenAI-family upstream',
    echo: 'oa-echo',
    tool: 'oa-tool',
    upstream: () => openai,
    answer: /^fake answer to: hello gateway$/,
    call: { name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
  },
  {
    name: 'Anthropic upstream',
    echo: 'claude-echo',
    tool: 'claude-tool',
    upstream: () => anthropic,
    answer: /^echo: hello gateway$/,
    call: { name: 'get_weather', input: { city: 'Paris', unit: 'celsius', days: [1, 2, 3], note: 'say "hi" {ok}' } },
  },
  {
    name: 'Gemini upstream',
    echo: 'gemini-echo',
    tool: 'gemini-tool',
    upstream: () => gemini,
    answer: /hello gateway/,
    call: { name: 'get_weather', input: {} },
  },
];

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
};

/** Anthropic's web search, a server tool its API runs. */
const WEB_SEARCH: Anthropic.WebSearchTool20250305 = { type: 'web_search_20250305', name: 'web_search', max_uses: 2 };
/** Tools as Claude Code or an SDK user declares them: one Anthropic runs, one whose input it defines, a client tool. */
const SERVER_TOOLS: Anthropic.ToolUnion[] = [WEB_SEARCH, { type: 'bash_20250124', name: 'bash' }, WEATHER];
const SEARCH_ANSWER = ['server_tool_use', 'web_search_tool_result', 'text'];
const searching = (model: string) => ({
  model,
  max_tokens: 500,
  tools: SERVER_TOOLS,
  messages: [{ role: 'user' as const, content: 'gateway news' }] as Anthropic.MessageParam[],
});

const CAPABLE = ['tools', 'json', 'vision', 'reasoning'];
/** A model whose first deployment is an OpenAI-family one and its second an Anthropic one. */
const OA_THEN_CLAUDE = {
  name: 'oa-then-claude',
  deployments: [
    { provider: 'oa', model: 'ok', capabilities: CAPABLE },
    { provider: 'ant', model: 'claude-echo', capabilities: CAPABLE },
  ],
};

/** Upstream errors that repeat the key they were sent: [provider, upstream model, the provider's key]. */
const ECHO_KEY: [string, string, string][] = [
  ...['echo-key-400', 'echo-key-401', 'echo-key-500'].map((model): [string, string, string] => ['oa', model, OPENAI_KEY]),
  ['ant', 'claude-echo-key-authentication_error', ANTHROPIC_KEY],
  ['ant', 'claude-echo-key-invalid_request_error', ANTHROPIC_KEY],
  ['gem', 'gemini-echo-key-UNAUTHENTICATED', GEMINI_KEY],
  ['gem', 'gemini-echo-key-INVALID_ARGUMENT', GEMINI_KEY],
];
const ECHO_KEY_ASKS = ['chat', 'chat-stream', 'messages', 'messages-stream'] as const;

let gateway: GatewayProcess;
let openaiUrl = '';
let anthropicUrl = '';
let client: Anthropic;

before(async () => {
  const [oaUrl, antUrl, gemUrl] = await Promise.all([openai.start(), anthropic.start(), gemini.start()]);
  [openaiUrl, anthropicUrl] = [oaUrl, antUrl];
  /** A model whose deployments are tried in order, each a [provider, upstream model]. */
  const chain = (name: string, ...deployments: [string, string][]) => ({
    name,
    deployments: deployments.map(([provider, model]) => ({ provider, model, capabilities: CAPABLE })),
  });
  const deploy = (name: string, provider: string, model: string) => chain(name, [provider, model]);
  gateway = await GatewayProcess.start(
    configWith({
      providers: [
        { name: 'oa', type: 'openai-compatible', baseUrl: oaUrl, apiKeyEnv: 'FAKE_OA_KEY' },
        { name: 'ant', type: 'anthropic', baseUrl: antUrl, apiKeyEnv: 'FAKE_ANT_KEY' },
        { name: 'gem', type: 'gemini', baseUrl: gemUrl, apiKeyEnv: 'FAKE_GEM_KEY' },
        { name: 'keyless', type: 'openai', apiKeyEnv: 'SURELY_UNSET_KEY_FOR_TEST' },
        { name: 'oa-omit', type: 'openai-compatible', baseUrl: oaUrl, apiKeyEnv: 'FAKE_OA_KEY', omitMessageFields: ['reasoning_content'] },
      ],
      models: [
        deploy('oa-echo', 'oa', 'ok'),
        deploy('oa-no-usage', 'oa', 'no-usage'),
        deploy('oa-tool-cut', 'oa', 'tool-cut'),
        deploy('oa-tool-cut-member', 'oa', 'tool-cut-member'),
        deploy('oa-tool-badargs', 'oa', 'tool-badargs'),
        // Its only provider is disabled (no key), as is every model the virtual model routes to.
        deploy('oa-keyless', 'keyless', 'gpt-4o'),
        deploy('oa-tool', 'oa', 'tool'),
        deploy('parallel-noindex', 'oa', 'parallel-noindex'),
        deploy('parallel-sameindex', 'oa', 'parallel-sameindex'),
        deploy('oa-429', 'oa', 'status-429'),
        deploy('oa-cut', 'oa', 'cut'),
        deploy('oa-midstream-key-chat', 'oa', 'midstream-echo-key'),
        deploy('oa-midstream-key-messages', 'oa', 'midstream-echo-key'),
        deploy('claude-echo', 'ant', 'claude-echo'),
        deploy('claude-tool', 'ant', 'claude-tool'),
        deploy('claude-think', 'ant', 'claude-think'),
        deploy('claude-midstream', 'ant', 'claude-midstream-error'),
        deploy('claude-midstream-key', 'ant', 'claude-midstream-key'),
        deploy('claude-midstream-garbage', 'ant', 'claude-midstream-garbage'),
        deploy('claude-cut', 'ant', 'claude-cut'),
        chain('claude-early-then-echo', ['ant', 'claude-early-error'], ['oa', 'ok']),
        chain('claude-overloaded-then-echo', ['ant', 'claude-overloaded-after-start'], ['oa', 'ok']),
        chain('claude-block-error-then-claude', ['ant', 'claude-overloaded-after-block'], ['ant', 'claude-echo']),
        deploy('claude-overloaded', 'ant', 'claude-error-overloaded_error'),
        // Its count fails (a 500): count_tokens answers the estimate.
        deploy('claude-count-fails', 'ant', 'claude-error-api_error'),
        // Overloaded upstreams, each vendor's way, on models no other test uses (failures open breakers).
        deploy('oa-503', 'oa', 'status-503'),
        deploy('oa-529', 'oa', 'status-529'),
        deploy('claude-529', 'ant', 'claude-error-overloaded_error'),
        deploy('gemini-unavailable', 'gem', 'gemini-error-UNAVAILABLE'),
        // Upstream errors that repeat the provider key they were sent: one model for each way of
        // asking, since an auth failure cools its deployment down.
        // An upstream model of its own for each way of asking: a 401 keeps the upstream model out on every group that
        // calls it on that account (shared health, README Routing), and each of them must see the upstream's error.
        ...ECHO_KEY.flatMap(([provider, model]) => ECHO_KEY_ASKS.map((ask) => deploy(`${model}-${ask}`, provider, `${model}.${ask}`))),
        OA_THEN_CLAUDE,
        {
          name: 'claude-bounded',
          deployments: [
            { provider: 'oa', model: 'ok', contextWindow: 128_000, maxOutputTokens: 16_384 },
            { provider: 'ant', model: 'claude-echo', contextWindow: 200_000, maxOutputTokens: 64_000 },
          ],
        },
        {
          name: 'claude-priced',
          deployments: [
            {
              provider: 'ant',
              model: 'claude-echo',
              capabilities: CAPABLE,
              price: { input: 3, cachedInput: 0.3, output: 15, webSearch: 10 },
            },
          ],
        },
        {
          name: 'claude-cache-priced',
          deployments: [
            // Cache reads and writes at Anthropic's rates, which the config fills in (0.1x, 1.25x, 2x input).
            { provider: 'ant', model: 'claude-cache-write', capabilities: CAPABLE, price: { input: 3, output: 15 } },
          ],
        },
        deploy('gemini-echo', 'gem', 'gemini-echo'),
        deploy('gemini-no-usage', 'gem', 'gemini-no-usage'),
        deploy('gemini-tool', 'gem', 'gemini-tool'),
        deploy('gemini-think', 'gem', 'gemini-think'),
        deploy('gemini-safety', 'gem', 'gemini-finish-SAFETY'),
        deploy('gemini-signed', 'gem', 'gemini-signed'),
        deploy('oa-tool-stop', 'oa', 'tool-stop'),
        deploy('oa-tool-first', 'oa', 'tool-first'),
        deploy('oa-think-tool', 'oa', 'tool-think'),
        deploy('oa-omit-strict', 'oa-omit', 'strict'),
        // An Anthropic deployment that fails (a 500: the next one answers), then another vendor's.
        chain('claude-then-strict', ['ant', 'claude-error-api_error'], ['oa', 'strict']),
        chain('claude-then-gemini', ['ant', 'claude-error-api_error'], ['gem', 'gemini-echo']),
        // Gemini serves a tool call, then is unavailable: the tool loop's next turn falls back to Claude.
        chain('gemini-blip-then-claude', ['gem', 'gemini-tool-blip'], ['ant', 'claude-echo']),
      ],
      virtualModels: [{ name: 'auto-keyless', default: 'oa-keyless', rules: [{ name: 'r', match: { task: 'x' }, model: 'oa-keyless' }] }],
      cache: { enabled: false },
      security: {
        keys: [
          { id: 'team', keyEnv: 'TEAM_KEY' },
          { id: 'narrow', keyEnv: 'NARROW_KEY', models: ['oa-echo'] },
          { id: 'tight', keyEnv: 'TIGHT_KEY', rpm: 2 },
          { id: 'thrifty', keyEnv: 'THRIFTY_KEY', budget: { usd: 0.015, period: 'monthly' } },
          { id: 'counted', keyEnv: 'COUNTED_KEY', models: ['claude-priced'], rpm: 2, budget: { usd: 0.000001, period: 'monthly' } },
        ],
      },
    }),
    {
      env: {
        GATEWAY_MASTER_KEY: 'gw-master-key-0123456789',
        TEAM_KEY: KEY,
        NARROW_KEY,
        TIGHT_KEY,
        THRIFTY_KEY,
        COUNTED_KEY,
        FAKE_OA_KEY: OPENAI_KEY,
        FAKE_ANT_KEY: ANTHROPIC_KEY,
        FAKE_GEM_KEY: GEMINI_KEY,
      },
    },
  );
  client = new Anthropic({ baseURL: gateway.url, apiKey: KEY, maxRetries: 0 });
});

after(async () => {
  await gateway?.stop();
  await Promise.all([openai.stop(), anthropic.stop(), gemini.stop()]);
});

/** Raw POST with Anthropic's headers, for what the SDK hides (status, body, auth variants). */
async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

for (const vendor of VENDORS) {
  describe(`Messages API through the gateway, ${vendor.name} (official @anthropic-ai/sdk)`, () => {
    it('messages.create: text answer, stop_reason and usage in Anthropic`s shape', async () => {
      const message = await client.messages.create({
        model: vendor.echo,
        max_tokens: 200,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'hello gateway' }],
      });
      assert.equal(message.type, 'message');
      assert.equal(message.role, 'assistant');
      assert.match(message.id, /^msg_/);
      assert.equal(message.content.length, 1);
      assert.equal(message.content[0].type, 'text');
      assert.match((message.content[0] as Anthropic.TextBlock).text, vendor.answer);
      assert.equal(message.stop_reason, 'end_turn');
      assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0, JSON.stringify(message.usage));
    });

    it('messages.stream: text deltas and a final message equal to the streamed text', async () => {
      const stream = client.messages.stream({
        model: vendor.echo,
        max_tokens: 200,
        messages: [{ role: 'user', content: 'hello gateway' }],
      });
      let streamed = '';
      const types: string[] = [];
      stream.on('text', (delta) => (streamed += delta));
      stream.on('streamEvent', (event) => types.push(event.type));
      const final = await stream.finalMessage();
      assert.match(streamed, vendor.answer);
      // An Anthropic upstream's stream is passed through as sent: its text blocks carry `citations: null`, as Anthropic's do.
      const block = vendor.upstream() === anthropic ? { type: 'text', text: streamed, citations: null } : { type: 'text', text: streamed };
      assert.deepEqual(final.content, [block]);
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(final.usage.output_tokens > 0);
      assert.deepEqual([types[0], types.at(-2), types.at(-1)], ['message_start', 'message_delta', 'message_stop']);
    });

    it('tools round trip: tool_use out (created and streamed alike), tool_result back to the upstream', async () => {
      const params = {
        model: vendor.tool,
        max_tokens: 200,
        tools: [WEATHER],
        tool_choice: { type: 'any' as const },
        messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      };
      const created = await client.messages.create(params);
      const streamed = await client.messages.stream(params).finalMessage();
      for (const message of [created, streamed]) {
        assert.equal(message.stop_reason, 'tool_use');
        const use = message.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
        assert.ok(use, JSON.stringify(message.content));
        assert.equal(use.name, vendor.call.name);
        assert.match(use.id, /^[A-Za-z0-9_-]+$/);
        if (Object.keys(vendor.call.input).length) assert.deepEqual(use.input, vendor.call.input);
      }
      const use = created.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
      const followUp = await client.messages.create({
        model: vendor.echo,
        max_tokens: 200,
        tools: [WEATHER],
        messages: [
          ...params.messages,
          { role: 'assistant', content: created.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18 degrees and sunny' }] },
        ],
      });
      assert.equal(followUp.stop_reason, 'end_turn');
      // What the upstream got: the result, in its own format, tied to the call it answers.
      const sent = JSON.stringify(vendor.upstream().last().body);
      assert.match(sent, /18 degrees and sunny/);
      if (vendor.upstream() !== gemini) assert.ok(sent.includes(use.id), sent);
    });

    // Found by an independent check with the Claude Code CLI, which defers some of its tools (WebFetch,
    // WebSearch, …) behind its ToolSearch tool: the tool_reference blocks it returns were a 400 everywhere.
    it('tool search: a tool_result of tool_reference blocks goes on; the deferred tool reaches the upstream', async () => {
      const search: Anthropic.Tool = { name: 'ToolSearch', input_schema: { type: 'object', properties: { query: { type: 'string' } } } };
      const cron: Anthropic.Tool = {
        name: 'CronList',
        description: 'Lists cron jobs',
        input_schema: { type: 'object' },
        defer_loading: true,
      };
      const found: Anthropic.ToolResultBlockParam = {
        type: 'tool_result',
        tool_use_id: 'toolu_01search',
        content: [{ type: 'tool_reference', tool_name: 'CronList' }],
      };
      const messages: Anthropic.MessageParam[] = [
        { role: 'user', content: 'List my cron jobs' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_01search', name: 'ToolSearch', input: { query: 'select:CronList' } }],
        },
        { role: 'user', content: [found] },
      ];
      const beta = { headers: { 'anthropic-beta': 'advanced-tool-use-2025-11-20' } };
      const answer = await client.messages.create({ model: vendor.echo, max_tokens: 200, tools: [search, cron], messages }, beta);
      assert.equal(answer.stop_reason, 'end_turn');
      const sent = vendor.upstream().last().body;
      if (vendor.upstream() === anthropic) {
        assert.deepEqual((sent.messages as Anthropic.MessageParam[])[2].content, [found], 'Anthropic gets the block as sent');
        assert.deepEqual((sent.tools as Anthropic.Tool[])[1], cron);
      } else {
        assert.match(JSON.stringify(sent), /Tool loaded: CronList/);
        assert.match(JSON.stringify(sent), /Lists cron jobs/, 'the deferred tool is declared');
      }
    });

    it('countTokens: the vendor`s count where it has one (Anthropic), else the gateway`s estimate', async () => {
      const params = {
        model: vendor.echo,
        system: 'Be brief.',
        messages: [{ role: 'user' as const, content: 'hello gateway '.repeat(50) }],
        tools: [WEATHER],
      };
      const { data: counted, response } = await client.messages.countTokens(params).withResponse();
      const short = await client.messages.countTokens({ model: vendor.echo, messages: [{ role: 'user', content: 'hi' }] });
      assert.ok(counted.input_tokens > short.input_tokens && short.input_tokens > 0, `${counted.input_tokens} vs ${short.input_tokens}`);
      const upstream = vendor.upstream() === anthropic;
      assert.match(response.headers.get('x-gateway-token-count') ?? '', upstream ? /^upstream; deployment=/ : /^estimate$/);
      // The Anthropic fake counts from COUNT_TOKENS_BASE: its number, not an estimate, came back.
      assert.equal(counted.input_tokens > COUNT_TOKENS_BASE, upstream);
      if (upstream) assert.deepEqual(anthropic.last().body, { model: 'claude-echo', messages: [{ role: 'user', content: 'hi' }] });
    });
  });
}

/** A history with what the chat params cannot carry: cache_control on blocks, a tool_result with is_error. */
const HISTORY: Anthropic.MessageParam[] = [
  { role: 'user', content: [{ type: 'text', text: 'Weather?', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
  { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } }] },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'service down', is_error: true }] },
];

describe('Messages API: Anthropic upstreams get the client`s own body', () => {
  it('cache_control and is_error reach the Anthropic API intact; the sampling fields it refuses (temperature, top_k) are dropped', async () => {
    await client.messages.create({
      model: 'claude-echo',
      max_tokens: 50,
      system: [{ type: 'text', text: 'Long shared prefix', cache_control: { type: 'ephemeral' } }],
      messages: HISTORY,
      // Anthropic refuses tool_use / tool_result blocks in a request without tools (so does the fake).
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      ...({ temperature: 0.2, top_k: 5 } as object),
    });
    const sent = anthropic.last().body;
    assert.deepEqual(sent.system, [{ type: 'text', text: 'Long shared prefix', cache_control: { type: 'ephemeral' } }]);
    assert.deepEqual(sent.messages, HISTORY);
    assert.equal(sent.model, 'claude-echo');
    assert.equal('temperature' in sent || 'top_k' in sent, false);
  });

  it('thinking: signed thinking blocks come back (created and streamed) and go back upstream with their signature', async () => {
    const params = {
      model: 'claude-think',
      max_tokens: 4000,
      thinking: { type: 'enabled' as const, budget_tokens: 2048 },
      messages: [{ role: 'user' as const, content: 'Six times seven?' }],
    };
    const created = await client.messages.create(params);
    const streamed = await client.messages.stream(params).finalMessage();
    const thought = { type: 'thinking', thinking: 'Six times seven is forty-two.', signature: 'sig-fake-123' };
    // Both as the upstream sent them (its streamed text block carries `citations: null`).
    assert.deepEqual(created.content, [thought, { type: 'text', text: '42' }]);
    assert.deepEqual(streamed.content, [thought, { type: 'text', text: '42', citations: null }]);
    await client.messages.create({
      ...params,
      messages: [...params.messages, { role: 'assistant', content: created.content }, { role: 'user', content: 'And times eight?' }],
    });
    assert.deepEqual((anthropic.last().body.messages as Anthropic.MessageParam[])[1].content, created.content);
  });

  // Found by an independent check: the unsigned block went to Anthropic as the client sent it back
  // (Claude Code does), and Anthropic answered 400 "Invalid signature" to that turn and every later one.
  it('thinking another vendor did comes back unsigned, and is left out when a later turn goes to Anthropic (messages and count)', async () => {
    const thinking = { type: 'enabled' as const, budget_tokens: 2048 };
    const ask: Anthropic.MessageParam[] = [{ role: 'user', content: 'Six times seven?' }];
    const other = await client.messages.create({ model: 'gemini-think', max_tokens: 4000, thinking, messages: ask });
    assert.deepEqual(other.content[0], { type: 'thinking', thinking: 'Six times seven is forty-two.', signature: '' });
    const signed = await client.messages.create({ model: 'claude-think', max_tokens: 4000, thinking, messages: ask });
    const messages: Anthropic.MessageParam[] = [
      ...ask,
      { role: 'assistant', content: other.content },
      { role: 'user', content: 'And times eight?' },
      { role: 'assistant', content: signed.content },
      { role: 'user', content: 'And times nine?' },
    ];
    const sent = () => anthropic.last().body.messages as Anthropic.MessageParam[];
    for (const send of [
      () => client.messages.create({ model: 'claude-think', max_tokens: 4000, thinking, messages }),
      () => client.messages.stream({ model: 'claude-think', max_tokens: 4000, thinking, messages }).finalMessage(),
      () => client.messages.countTokens({ model: 'claude-think', thinking, messages }),
    ]) {
      await send();
      assert.deepEqual(sent()[1].content, other.content.slice(1), 'the unsigned block is left out');
      assert.deepEqual(sent()[3].content, signed.content, 'signed thinking goes back as it came');
    }
  });
});

describe('Messages API: Claude`s signed thinking never reaches another vendor', () => {
  // Found by an independent check: on a fallback from an Anthropic deployment, the history's signed
  // thinking went to the OpenAI-format one as a `thinking_blocks` message field, which strict servers
  // refuse (OpenAI 400, Mistral 422 extra_forbidden), and a 4xx does not fall back.
  it('a turn that falls back from Anthropic to an OpenAI-format or Gemini deployment sends the history without it', async () => {
    const thinking = { type: 'enabled' as const, budget_tokens: 2048 };
    const ask: Anthropic.MessageParam[] = [{ role: 'user', content: 'Six times seven?' }];
    const signed = await client.messages.create({ model: 'claude-think', max_tokens: 4000, thinking, messages: ask });
    const messages: Anthropic.MessageParam[] = [
      ...ask,
      { role: 'assistant', content: signed.content },
      { role: 'user', content: 'And eight?' },
    ];
    for (const stream of [false, true]) {
      const { data, response } = await client.messages
        .create({ model: 'claude-then-strict', max_tokens: 4000, thinking, messages, stream })
        .withResponse();
      if (stream) for await (const _ of data as AsyncIterable<unknown>);
      assert.equal(response.headers.get('x-gateway-deployment'), 'claude-then-strict/1');
      assert.deepEqual((openai.last().body.messages as object[])[1], { role: 'assistant', content: '42' });
    }
    await client.messages.create({ model: 'claude-then-gemini', max_tokens: 4000, thinking, messages });
    assert.equal(JSON.stringify(gemini.last().body).includes('sig-fake-123'), false);
  });
});

// Found by an independent check with the Claude Code CLI: DeepSeek's (and Kimi's) thinking mode answers
// with reasoning_content, which comes to the client as unsigned thinking; the gateway left it out of the
// next turn, and DeepSeek refuses a tool-call turn without it (400 "Missing reasoning_content field"), so
// every Claude Code tool loop on it failed at its second step.
describe('Messages API: another vendor`s reasoning goes back to OpenAI-format upstreams', () => {
  const thinking = { type: 'enabled' as const, budget_tokens: 2048 };
  const ask: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
  const request = (model: string, messages: Anthropic.MessageParam[]) => ({
    model,
    max_tokens: 4000,
    thinking,
    tools: [WEATHER],
    messages,
  });
  const assistantSent = () => (openai.last().body.messages as Record<string, unknown>[]).find((m) => m.role === 'assistant')!;

  it('created and streamed: the unsigned thinking block returns as its turn`s reasoning_content; the tool loop goes on', async () => {
    for (const stream of [false, true]) {
      const first = stream
        ? await client.messages.stream(request('oa-think-tool', ask)).finalMessage()
        : await client.messages.create(request('oa-think-tool', ask));
      assert.deepEqual(first.content[0], { type: 'thinking', thinking: THOUGHT, signature: '' });
      const call = first.content.find((b) => b.type === 'tool_use')!;
      const messages: Anthropic.MessageParam[] = [
        ...ask,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
      ];
      const next = await client.messages.create(request('oa-think-tool', messages));
      assert.equal(next.stop_reason, 'end_turn', stream ? 'streamed' : 'created');
      assert.equal(assistantSent().reasoning_content, THOUGHT);
      // A provider whose server refuses the field (omitMessageFields) is not sent it.
      await client.messages.create(request('oa-omit-strict', messages));
      assert.equal('reasoning_content' in assistantSent(), false);
    }
  });
});

// Found by an independent check: the signature was lost, and Gemini got the placeholder every turn.
describe('Messages API: a Gemini tool call`s thought signature comes back to it', () => {
  // `gemini-signed` signs its first call only, as Gemini signs parallel calls, and refuses the next
  // turn unless each call comes back with its own signature (the placeholder, or one on the wrong call, is a 400).
  it('created and streamed: a thinking block the gateway signed carries it; Anthropic never gets that block', async () => {
    const TIME = { name: 'get_time', input_schema: { type: 'object' as const, properties: { zone: { type: 'string' } } } };
    const ask = {
      model: 'gemini-signed',
      max_tokens: 200,
      tools: [WEATHER, TIME],
      messages: [{ role: 'user' as const, content: 'Both?' }],
    };
    for (const first of [await client.messages.create(ask), await client.messages.stream(ask).finalMessage()]) {
      assert.deepEqual(
        first.content.map((b) => b.type),
        ['text', 'thinking', 'tool_use', 'tool_use'],
      );
      assert.equal(first.stop_reason, 'tool_use');
      const signed = first.content[1] as Anthropic.ThinkingBlock;
      assert.equal(signed.thinking, '');
      assert.match(signed.signature, /^gateway-gemini:/);
      const uses = first.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      const history: Anthropic.MessageParam[] = [
        ...ask.messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: `${u.name} done` })) },
      ];
      const next = await client.messages.create({ ...ask, messages: history });
      assert.match((next.content[0] as Anthropic.TextBlock).text, /^tool results: get_weather/);
      assert.deepEqual(gemini.replayedSignatures(), [['gsig-P', null]]);

      // The same history on an Anthropic deployment: the gateway's signature is no Anthropic one (a 400 there).
      await client.messages.create({ ...ask, model: 'claude-echo', messages: history });
      const sent = (anthropic.last().body.messages as Anthropic.MessageParam[])[1].content as Anthropic.ContentBlockParam[];
      assert.deepEqual(
        sent.map((b) => b.type),
        ['text', 'tool_use', 'tool_use'],
      );
    }
  });
});

// Found by an independent check: thinking stayed on without a block Anthropic can check (400, which does not fail over).
describe('Messages API: a thinking tool loop Gemini began and Claude continues after a fallback', () => {
  it('goes to Claude with thinking off for that turn, created and streamed', async () => {
    const ask = {
      model: 'gemini-blip-then-claude',
      max_tokens: 4000,
      thinking: { type: 'enabled' as const, budget_tokens: 2048 },
      tools: [WEATHER],
      messages: [{ role: 'user' as const, content: 'Weather in Paris?' }] as Anthropic.MessageParam[],
    };
    const first = await client.messages.stream(ask).finalMessage();
    assert.deepEqual(
      first.content.map((b) => b.type),
      ['thinking', 'tool_use'],
    );
    const use = first.content[1] as Anthropic.ToolUseBlock;
    const messages: Anthropic.MessageParam[] = [
      ...ask.messages,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] },
    ];
    for (const next of [
      await client.messages.create({ ...ask, messages }),
      await client.messages.stream({ ...ask, messages }).finalMessage(),
    ]) {
      assert.equal((next.content[0] as Anthropic.TextBlock).text, `tool results: ${use.id}=sunny`);
      assert.ok(!('thinking' in anthropic.last().body), 'the turn has no thinking block Anthropic can check, so no thinking');
    }
  });
});

// Found by an independent check: end_turn, and a client looping `while stop_reason == "tool_use"` stopped.
// Found by an independent check: translated streams said input_tokens 0 in message_start, and
// LangChain's ChatAnthropic reads the prompt's count only there (Anthropic's own streams carry it).
describe('Messages API: a translated stream`s message_start carries the prompt`s input_tokens', () => {
  const PROMPT = 'count the tokens of this prompt, please '.repeat(10);
  /** message_start's usage and the final message's (message_delta merged in by the SDK). */
  async function streamedUsage(model: string) {
    const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] });
    let start: Anthropic.Usage | undefined;
    stream.on('streamEvent', (event) => {
      if (event.type === 'message_start') start = { ...event.message.usage };
    });
    const final = await stream.finalMessage();
    return { start: start!, final: final.usage };
  }
  const estimate = async (model: string) =>
    (await client.messages.countTokens({ model, messages: [{ role: 'user', content: PROMPT }] })).input_tokens;

  it('Gemini: the count of its first chunk; message_delta the exact split (cache reads apart)', async () => {
    const { start, final } = await streamedUsage('gemini-echo');
    // The fake's chunks before the last carry promptTokenCount 12 alone; its last 12 with 4 cached.
    assert.equal(start.input_tokens, 12, JSON.stringify(start));
    assert.equal(start.output_tokens, 0);
    assert.equal(final.input_tokens, 8);
    assert.equal(final.cache_read_input_tokens, 4);
  });

  it('an upstream that counts at the end (OpenAI-format, Gemini without usage): the gateway`s estimate; message_delta the upstream`s', async () => {
    const { start, final } = await streamedUsage('oa-echo');
    const estimated = await estimate('oa-echo');
    assert.ok(estimated > 20, `${estimated}`);
    assert.equal(start.input_tokens, estimated, JSON.stringify(start));
    assert.equal(final.input_tokens, 11, 'the fake`s own prompt_tokens');
    const uncounted = await streamedUsage('gemini-no-usage');
    assert.equal(uncounted.start.input_tokens, await estimate('gemini-no-usage'));
    assert.equal(uncounted.final.input_tokens, uncounted.start.input_tokens, 'no count came: message_delta repeats the estimate, not 0');
  });

  // Found by a check of Claude Code: such an upstream's answers said 0/0 created (0 input, 13 streamed), while the gateway billed an estimate.
  it('an upstream that never counts: created and streamed alike carry the estimate the gateway bills, output included', async () => {
    const ask = { model: 'oa-no-usage', max_tokens: 100, messages: [{ role: 'user' as const, content: PROMPT }] };
    const res = await client.messages.create(ask).withResponse();
    const created = res.data;
    const { final: streamed } = await streamedUsage('oa-no-usage');
    const text = created.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    assert.equal(created.usage.input_tokens, await estimate('oa-no-usage'), JSON.stringify(created.usage));
    // Output estimated from the answer's characters (README "Cost": four to a token).
    assert.equal(created.usage.output_tokens, Math.ceil(text.length / 4), JSON.stringify(created.usage));
    assert.ok(created.usage.output_tokens > 0);
    assert.deepEqual(
      [streamed.input_tokens, streamed.output_tokens],
      [created.usage.input_tokens, created.usage.output_tokens],
      'streamed or not, one estimate',
    );
    assert.match(res.response.headers.get('x-gateway-cost-usd') ?? 'estimated', /estimated/);
  });
});

// Found by an independent check: parallel calls streamed without `index`, or all with `index: 0`, came out as one
// tool_use block (the first call's id and name, both arguments as its input), the second call lost.
describe('Messages API: parallel calls an OpenAI-format upstream streams without distinct indexes', () => {
  for (const model of ['parallel-noindex', 'parallel-sameindex']) {
    it(`${model}: each call is its own tool_use block, with its own id, name and input`, async () => {
      const tools = ['get_weather', 'get_time'].map((name) => ({ ...WEATHER, name }));
      const ask = { model, max_tokens: 200, tools, messages: [{ role: 'user' as const, content: 'Weather in Paris, time in Berlin?' }] };
      const message = await client.messages.stream(ask).finalMessage();
      assert.deepEqual(
        message.content.map((b) => (b.type === 'tool_use' ? { call_id: b.id, name: b.name, arguments: JSON.stringify(b.input) } : b)),
        PARALLEL_CALLS,
      );
    });
  }
});

describe('Messages API: stop_reason of a message that calls tools', () => {
  // Found by a check of Claude Code: created, a 500 the SDKs retried (paying for the same cut answer);
  // streamed, a 200 whose input the SDK read from the broken JSON.
  it('a call cut by the output limit: max_tokens, its whole members as input (as the SDK reads a stream), created and streamed alike', async () => {
    for (const [model, input] of [
      ['oa-tool-cut-member', { city: 'Paris' }],
      ['oa-tool-cut', {}],
    ] as const) {
      const ask = { model, max_tokens: 20, tools: [WEATHER], messages: [{ role: 'user' as const, content: 'Weather?' }] };
      for (const message of [await client.messages.create(ask), await client.messages.stream(ask).finalMessage()]) {
        assert.equal(message.stop_reason, 'max_tokens', model);
        const call = message.content.find((b) => b.type === 'tool_use');
        assert.deepEqual(call?.input, input, model);
      }
    }
  });

  it('arguments that are no JSON object though not cut: the upstream`s invalid answer, created and streamed alike', async () => {
    const ask = { model: 'oa-tool-badargs', max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user' as const, content: 'Weather?' }] };
    const refused = (err: unknown) =>
      err instanceof Anthropic.APIError &&
      (err.error as { error?: { type?: string } } | undefined)?.error?.type === 'api_error' &&
      /tool call arguments that are not a JSON object/.test(err.message);
    await assert.rejects(client.messages.create(ask), (err) => refused(err) && (err as { status?: number }).status === 500);
    await assert.rejects(client.messages.stream(ask).finalMessage(), refused);
    const res = await post('/v1/messages', ask);
    assert.equal(res.status, 500);
    assert.notEqual(res.body.error.type, 'internal_error');
  });
  it('is tool_use when the OpenAI-format upstream finished with stop (a forced named tool_choice), created and streamed', async () => {
    const ask = {
      model: 'oa-tool-stop',
      max_tokens: 200,
      tools: [WEATHER],
      tool_choice: { type: 'tool' as const, name: 'get_weather' },
      messages: [{ role: 'user' as const, content: 'Weather?' }],
    };
    for (const message of [await client.messages.create(ask), await client.messages.stream(ask).finalMessage()]) {
      assert.deepEqual(
        message.content.map((b) => b.type),
        ['tool_use'],
      );
      assert.equal(message.stop_reason, 'tool_use');
    }
    // Chat Completions clients get the OpenAI-format upstream's answer as it was.
    const chat = await gateway
      .client({ apiKey: KEY })
      .chat.completions.create({ model: 'oa-tool-stop', messages: [{ role: 'user', content: 'Weather?' }] });
    assert.equal(chat.choices[0].finish_reason, 'stop');
  });
});

// Found by an independent re-check: Messages allows tool names of 128 characters, and one of 70 went to an
// OpenAI-format upstream as it was (OpenAI refuses a function name over 64).
describe('Messages API: a tool name over 64 characters, on an OpenAI-format upstream', () => {
  const LONG = `mcp__${'crm_server_'.repeat(5)}lookup_customer_by_id`;
  const tool = { name: LONG, description: 'Looks up a customer.', input_schema: { type: 'object' as const, properties: {} } };
  type Sent = { tools: { function: { name: string } }[]; tool_choice?: { function: { name: string } }; messages: Record<string, any>[] };

  it('goes upstream fitted to 64 characters, and the model`s call comes back by the declared name, created and streamed', async () => {
    assert.ok(LONG.length > 64);
    const ask = {
      model: 'oa-tool-first',
      max_tokens: 200,
      tools: [WEATHER, tool].reverse(),
      tool_choice: { type: 'tool' as const, name: LONG },
      messages: [{ role: 'user' as const, content: 'Customer 7?' }],
    };
    for (const message of [await client.messages.create(ask), await client.messages.stream(ask).finalMessage()]) {
      const sent = openai.last().body as Sent;
      const fitted = sent.tools[0].function.name;
      assert.match(fitted, /^[a-zA-Z0-9_-]{1,64}$/);
      assert.equal(sent.tools[1].function.name, 'get_weather', 'a name that fits is kept');
      assert.equal(sent.tool_choice?.function.name, fitted);
      assert.deepEqual(
        message.content.map((b) => b.type === 'tool_use' && b.name),
        [LONG],
      );
    }
  });

  it('a call of it in history goes upstream by the same fitted name', async () => {
    await client.messages.create({
      model: 'oa-tool-first',
      max_tokens: 200,
      tools: [tool],
      messages: [
        { role: 'user', content: 'Customer 7?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: LONG, input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Ada' }] },
      ],
    });
    const sent = openai.last().body as Sent;
    assert.match(sent.messages[1].tool_calls[0].function.name, /^[a-zA-Z0-9_-]{1,64}$/);
    assert.equal(sent.messages[1].tool_calls[0].function.name, sent.tools[0].function.name);
  });
});

/** The same request sent to the fake directly and through the gateway: the bodies the client reads. */
async function both(body: object) {
  const send = (url: string, headers: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
      body: JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, type: res.headers.get('content-type'), text: await res.text() }));
  const direct = await send(`${anthropicUrl}/v1/messages`, { authorization: `Bearer ${ANTHROPIC_KEY}` });
  const through = await send(`${gateway.url}/v1/messages`, { authorization: `Bearer ${KEY}` });
  return { direct, through };
}

describe('Messages API: an Anthropic upstream`s answer is passed through', () => {
  const question = (model: string, stream: boolean) => ({
    model,
    max_tokens: 4000,
    stream,
    ...(model === 'claude-think' && { thinking: { type: 'enabled', budget_tokens: 2048 } }),
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
    tools: [WEATHER],
  });

  for (const model of ['claude-echo', 'claude-tool', 'claude-think'])
    for (const stream of [false, true])
      it(`${model}, ${stream ? 'streamed' : 'created'}: byte for byte what Anthropic sent`, async () => {
        const { direct, through } = await both(question(model, stream));
        assert.equal(direct.status, 200, direct.text);
        assert.equal(through.status, 200, through.text);
        assert.equal(through.text, direct.text);
        assert.match(through.type ?? '', stream ? /^text\/event-stream/ : /^application\/json/);
      });

  it('usage is accounted from the passed-through stream and body', async () => {
    for (const stream of [false, true]) {
      const res = await client.messages
        .create({ model: 'claude-echo', max_tokens: 50, messages: [{ role: 'user', content: `usage ${stream}` }], stream })
        .asResponse();
      await res.text();
      const [line] = await gateway.logged('request', { where: (l) => l.reqId === res.headers.get('x-request-id') });
      assert.ok(line, `an access line for the ${stream ? 'streamed' : 'created'} request`);
      // Anthropic counts input, cache reads and cache writes apart; the prompt is their sum (11 + 5 + 2).
      assert.deepEqual([line.promptTokens, line.completionTokens, line.stream], [18, 7, stream]);
    }
  });

  it('a stream cut before message_stop ends with an Anthropic error event; an error as the first event fails over', async () => {
    const cut = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        model: 'claude-cut',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'hello gateway, how are you?' }],
      }),
    }).then((res) => res.text());
    const events = cut.split('\n\n').filter(Boolean);
    assert.match(events[0], /^event: message_start/);
    assert.match(events.at(-1)!, /^event: error\ndata: .*"type":"api_error"/);
    assert.equal(cut.includes('message_stop'), false);

    const early = await client.messages.create({
      model: 'claude-early-then-echo',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const event of early)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    assert.equal(text, 'fake answer to: hi', 'the OpenAI-family deployment answered after the Anthropic one sent an error event first');

    // Found by an independent check: an overloaded error after message_start (as Anthropic sends
    // one) reached the client, the message_start already sent.
    const overloaded = await client.messages
      .create({ model: 'claude-overloaded-then-echo', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse();
    text = '';
    for await (const event of overloaded.data)
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    assert.equal(text, 'fake answer to: hi');
    assert.match(overloaded.response.headers.get('x-gateway-fallbacks') ?? '', /claude-overloaded-then-echo\/0=/);
  });

  // Found by an independent check: an `error` event after message_start and the first block's empty
  // content_block_start (the order Anthropic streams them in) reached the client, though nothing of the answer had
  // been sent and another deployment could answer; chat and Responses fell back for the same fault.
  it('a stream whose error event comes after an empty content_block_start, before any text, fails over; nothing is sent twice', async () => {
    const asked = () => anthropic.received.filter((r) => r.body.model === 'claude-overloaded-after-block').length;
    const before = asked();
    const { data, response } = await client.messages
      .create({ model: 'claude-block-error-then-claude', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse();
    const types: string[] = [];
    let text = '';
    for await (const event of data) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    assert.ok(asked() > before, 'the first deployment was asked');
    assert.match(response.headers.get('x-gateway-fallbacks') ?? '', /^claude-block-error-then-claude\/0=upstream_overloaded/);
    assert.equal(text, 'echo: hi');
    assert.deepEqual(
      types.filter((t) => t === 'message_start' || t === 'content_block_start'),
      ['message_start', 'content_block_start'],
      'nothing of the failed attempt reached the client',
    );
  });
});

describe('Messages API: Anthropic`s server tools, served by Anthropic deployments only', () => {
  const types = (message: Anthropic.Message) => message.content.map((b) => b.type);

  it('created and streamed: the search Anthropic ran comes back as it sent it; the upstream got the tools as declared', async () => {
    const created = await client.messages.create(searching('claude-echo'));
    assert.deepEqual(types(created), SEARCH_ANSWER);
    assert.deepEqual(anthropic.last().body.tools, SERVER_TOOLS);
    const streamed = await client.messages.stream(searching('claude-echo')).finalMessage();
    assert.deepEqual(types(streamed), SEARCH_ANSWER);
    assert.deepEqual(streamed.content.slice(0, 2), created.content.slice(0, 2));
    assert.deepEqual(streamed.usage.server_tool_use, { web_search_requests: 1, web_fetch_requests: 0 });
    assert.deepEqual(anthropic.last().body.tools, SERVER_TOOLS);
    for (const stream of [false, true]) {
      const { direct, through } = await both({ ...searching('claude-echo'), stream });
      assert.equal(through.status, 200, through.text);
      assert.equal(through.text, direct.text);
      assert.match(through.text, /"type":"web_search_tool_result"/);
    }
  });

  it('a model whose first deployment is OpenAI-family sends it to its Anthropic one, and count_tokens asks that one', async () => {
    const plain = await client.messages.create({ ...searching('oa-then-claude'), tools: [WEATHER] }).withResponse();
    assert.equal(plain.response.headers.get('x-gateway-deployment'), 'oa-then-claude/0', 'without server tools the first one answers');
    const asked = openai.received.length;
    for (const stream of [false, true]) {
      const { data, response } = await client.messages.create({ ...searching('oa-then-claude'), stream }).withResponse();
      assert.equal(response.headers.get('x-gateway-deployment'), 'oa-then-claude/1');
      if (!stream) assert.deepEqual(types(data as Anthropic.Message), SEARCH_ANSWER);
      else for await (const _ of data as AsyncIterable<unknown>);
    }
    assert.equal(openai.received.length, asked, 'the OpenAI-family deployment was not asked');
    // Found by an independent check (api32): the count was in gateway_requests_total under deployment and provider
    // "none", though Anthropic counted it and the header names the deployment (README: "none" when no upstream was tried).
    const labels =
      'route="/v1/messages/count_tokens",model="oa-then-claude",deployment="oa-then-claude/1",provider="ant",status="200",cache="none"';
    const before = await gateway.metric('gateway_requests_total', labels);
    const counted = await client.messages
      .countTokens({ model: 'oa-then-claude', tools: SERVER_TOOLS, messages: searching('x').messages })
      .withResponse();
    assert.equal(counted.response.headers.get('x-gateway-token-count'), 'upstream; deployment=oa-then-claude/1');
    assert.ok(
      await eventually(async () => (await gateway.metric('gateway_requests_total', labels)) === before + 1),
      'counted under the deployment that counted',
    );
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === counted.response.headers.get('x-request-id') });
    assert.deepEqual([line.deployment, line.provider], ['oa-then-claude/1', 'ant']);
    assert.ok(counted.data.input_tokens > COUNT_TOKENS_BASE);
    assert.deepEqual(anthropic.last().body.tools, SERVER_TOOLS);
    // Found by an independent check (recheck32b): a count Anthropic failed, answered by the estimate, was labelled with
    // the deployment as if it had counted.
    const estimated = await client.messages.countTokens({ model: 'claude-count-fails', messages: searching('x').messages }).withResponse();
    assert.equal(estimated.response.headers.get('x-gateway-token-count'), 'estimate');
    const [estimateLine] = await gateway.logged('request', { where: (l) => l.reqId === estimated.response.headers.get('x-request-id') });
    assert.deepEqual([estimateLine.deployment, estimateLine.provider, estimateLine.attempts], [undefined, undefined, 1]);
  });

  it('fallbacks stay on Anthropic deployments: an Anthropic failure is not answered by the OpenAI-family one after it', async () => {
    const asked = openai.received.length;
    await assert.rejects(
      client.messages.create({ ...searching('claude-early-then-echo'), stream: true }),
      (err: unknown) => err instanceof Anthropic.APIError && err.status === 529,
    );
    assert.equal(openai.received.length, asked);
  });

  it('a model with no Anthropic deployment: a 400 in Anthropic`s shape naming the tool (messages and count_tokens)', async () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const res = await post(path, searching('oa-echo'));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.deepEqual([res.body.type, res.body.error.type], ['error', 'invalid_request_error']);
      assert.match(
        res.body.error.message,
        /^tools\[0\]\.type 'web_search_20250305' .*; model oa-echo routes to no 'anthropic' deployment\.$/,
      );
    }
    // A history with a server tool's blocks, the tool no longer declared: named at its first block.
    const first = await client.messages.create(searching('claude-echo'));
    const res = await post('/v1/messages', {
      model: 'gemini-echo',
      max_tokens: 50,
      messages: [...searching('x').messages, { role: 'assistant', content: first.content }, { role: 'user', content: 'more?' }],
    });
    assert.equal(res.status, 400);
    assert.match(
      res.body.error.message,
      /^messages\[1\]\.content\[0\]\.type 'server_tool_use' .*; model gemini-echo routes to no 'anthropic' deployment\.$/,
    );
  });

  // Found by an independent check: these were refused with a 400 even on a model served by Anthropic alone,
  // and a document by URL went to OpenAI-format upstreams as an image_url part (OpenAI 400s).
  it('content only Anthropic reads goes to its Anthropic deployment as sent; a model with none: a 400 naming the block', async () => {
    const content: [Anthropic.ContentBlockParam, string][] = [
      [
        { type: 'search_result', source: 'https://docs.example/a', title: 'A', content: [{ type: 'text', text: 'fact' }] },
        "type 'search_result'",
      ],
      [{ type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'chunk 1' }] } }, "source.type 'content'"],
      [{ type: 'document', source: { type: 'url', url: 'https://example.com/annual-report.pdf' } }, "source.type 'url'"],
      [{ type: 'document', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } }, "source.type 'file'"],
      [{ type: 'image', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8x' } }, "source.type 'file'"],
    ];
    const asked = openai.received.length;
    for (const [block, named] of content) {
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: [block, { type: 'text', text: 'use it' }] }];
      const { response } = await client.messages
        .create({ model: 'oa-then-claude', max_tokens: 50, messages }, { headers: { 'anthropic-beta': 'files-api-2025-04-14' } })
        .withResponse();
      assert.equal(response.headers.get('x-gateway-deployment'), 'oa-then-claude/1', named);
      assert.deepEqual(anthropic.last().body.messages, messages);
      const refused = await post('/v1/messages', { model: 'oa-echo', max_tokens: 50, messages });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      const message: string = refused.body.error.message;
      assert.ok(message.startsWith(`messages[0].content[0].${named} is `), message);
      assert.ok(
        message.endsWith(", which only an Anthropic deployment reads; model oa-echo routes to no 'anthropic' deployment."),
        message,
      );
    }
    assert.equal(openai.received.length, asked, 'the OpenAI-family deployment was not asked');
  });

  it('the searches Anthropic ran are priced on top of the tokens (price.webSearch, USD a thousand)', async () => {
    // The fake's usage: 11 fresh input, 5 cache reads, 2 cache writes (at 1.25x input), 7 output tokens; its search answer ran 1 search.
    const tokens = (11 * 3 + 2 * 3.75 + 5 * 0.3 + 7 * 15) / 1e6;
    const cost = async (body: object) =>
      Number(
        (await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming).withResponse()).response.headers.get(
          'x-gateway-cost-usd',
        ),
      );
    const searches = () => gateway.metric('gateway_web_searches_total', 'provider="ant",model="claude-priced",key="team"');
    const before = await searches();
    const searched = await cost(searching('claude-priced'));
    assert.ok(Math.abs(searched - (tokens + 10 / 1000)) < 1e-9, `${searched}`);
    const plain = await cost({ ...searching('claude-priced'), tools: [WEATHER] });
    assert.ok(Math.abs(plain - tokens) < 1e-9, `${plain}`);
    // The access hook records after the answer is sent: wait for the count rather than race it.
    await eventually(async () => (await searches()) !== before);
    assert.equal(await searches(), before + 1, 'gateway_web_searches_total counts the search, not the plain request');
  });

  it('cache reads and writes are priced at Anthropic`s rates (0.1x input, 1.25x, 2x for the 1-hour cache), whole and streamed', async () => {
    // Found by an independent check: cache writes were billed as plain input.
    // CACHE_WRITE_USAGE: 11 fresh input, 5 cache reads, 1,000 tokens written to the 5-minute cache and 3,000 to the 1-hour one, 7 output.
    const usd = (11 * 3 + 5 * 0.3 + 1000 * 3.75 + 3000 * 6 + 7 * 15) / 1e6;
    const ask = {
      model: 'claude-cache-priced',
      max_tokens: 50,
      system: [{ type: 'text' as const, text: 'Long shared prefix', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }],
      messages: [{ role: 'user' as const, content: 'x' }],
    };
    const { data, response } = await client.messages.create(ask).withResponse();
    assert.deepEqual(data.usage.cache_creation, CACHE_WRITE_USAGE.cache_creation, 'Anthropic`s own usage reaches the client');
    const whole = Number(response.headers.get('x-gateway-cost-usd'));
    assert.ok(Math.abs(whole - usd) < 1e-9, `${whole} != ${usd}`);
    const spent = () => gateway.metric('gateway_cost_usd_total', 'provider="ant",model="claude-cache-priced",key="team"');
    const before = await spent();
    for await (const event of await client.messages.create({ ...ask, stream: true })) assert.ok(event.type);
    // The access hook records after the answer is sent: wait for the sum rather than race it.
    await eventually(async () => (await spent()) !== before);
    assert.ok(Math.abs((await spent()) - before - usd) < 1e-9, `streamed: ${(await spent()) - before} != ${usd}`);
  });

  it('a key`s budget holds the prompt at its dearest price: all of it written to the 1-hour cache', async () => {
    const thrifty = new Anthropic({ baseURL: gateway.url, apiKey: THRIFTY_KEY, maxRetries: 0 });
    // About 3,500 prompt tokens: $0.0105 at the $3 input price fits in $0.015, $0.021 at the 1-hour cache's $6 does not.
    const long = { model: 'claude-priced', max_tokens: 1, messages: [{ role: 'user' as const, content: 'word '.repeat(2800) }] };
    await assert.rejects(thrifty.messages.create(long), (err: unknown) => err instanceof Anthropic.RateLimitError);
  });

  it('a key`s budget holds the searches a request may run (max_uses at price.webSearch) before any upstream call', async () => {
    const thrifty = new Anthropic({ baseURL: gateway.url, apiKey: THRIFTY_KEY, maxRetries: 0 });
    const asked = anthropic.received.length;
    // Its worst case: under $0.01 of tokens (500 output tokens at $15 a million), plus 2 searches at $10 a thousand.
    await assert.rejects(
      thrifty.messages.create(searching('claude-priced')),
      (err: unknown) => err instanceof Anthropic.RateLimitError && /lower max_tokens or the web search tool's max_uses/.test(err.message),
    );
    assert.equal(anthropic.received.length, asked, 'refused before the upstream was asked');
    const plain = await thrifty.messages.create({ ...searching('claude-priced'), tools: [WEATHER] });
    assert.equal(plain.type, 'message', 'the tokens alone fit');
  });

  it('Messages API and chat requests, whole and streamed, reach Anthropic with the headers the SDK itself sends, and the hop count', async () => {
    // The reference: the SDK built as the gateway builds it for provider `ant` (anthropicClient
    // over the provider's transport), called from here.
    const config = Object.assign(new ProviderConfig(), { name: 'ant', type: 'anthropic', baseUrl: anthropicUrl });
    const transport = new PooledFetch(config);
    try {
      await anthropicClient(config, ANTHROPIC_KEY, transport.fetch).messages.create({
        model: 'claude-echo',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      });
    } finally {
      await transport.close();
    }
    const { 'content-length': _sdkLength, ...bySdk } = anthropic.last().headers;
    const chat = (stream: boolean) => () =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'claude-echo', max_tokens: 50, stream, messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async (res) => assert.equal(res.status, 200, await res.text()));
    for (const send of [
      () => client.messages.create(searching('claude-echo')),
      () => client.messages.stream(searching('claude-echo')).finalMessage(),
      chat(false),
      chat(true),
    ]) {
      const asked = anthropic.received.length;
      await send();
      assert.equal(anthropic.received.length, asked + 1);
      const { 'content-length': _length, 'x-client-request-id': requestId, ...sent } = anthropic.last().headers;
      // Plus the gateway's own: the request's hop count (loop protection, gateway-hops.ts) and its request id (upstream-id.ts).
      assert.deepEqual(sent, { ...bySdk, [HOPS_HEADER]: '1' });
      assert.match(String(requestId), /^[\w-]{8,}$/);
    }
    assert.match(String(bySdk['user-agent']), /^Anthropic\/JS /, 'the SDK`s own headers');
  });

  it('the client`s anthropic-beta header goes to Anthropic with its body (created, streamed, counted); MCP servers reach it too', async () => {
    const betas: Anthropic.Beta.AnthropicBeta[] = ['interleaved-thinking-2025-05-14', 'mcp-client-2025-04-04'];
    const mcp = [{ type: 'url' as const, url: 'https://mcp.example.com/sse', name: 'example' }];
    const body = { model: 'oa-then-claude', max_tokens: 100, messages: searching('x').messages, mcp_servers: mcp, betas };
    const created = await client.beta.messages.create(body).withResponse();
    assert.equal(created.response.headers.get('x-gateway-deployment'), 'oa-then-claude/1', 'mcp_servers: the Anthropic deployment');
    assert.equal(anthropic.last().headers['anthropic-beta'], betas.join(','));
    assert.deepEqual(anthropic.last().body.mcp_servers, mcp);
    await client.beta.messages.stream(body).finalMessage();
    assert.equal(anthropic.last().headers['anthropic-beta'], betas.join(','));
    // The SDK's count adds its own beta (token-counting) to the client's list: the list goes along as the client sent it.
    await client.beta.messages.countTokens({ model: 'claude-echo', messages: body.messages, betas });
    assert.deepEqual(String(anthropic.last().headers['anthropic-beta']).split(',').slice(0, 2), betas);
    // Without one, none; and the header is never sent to another vendor's deployment.
    await client.messages.create(searching('claude-echo'));
    assert.equal(anthropic.last().headers['anthropic-beta'], undefined);
    const asked = openai.received.length;
    await client.beta.messages.create({ model: 'oa-echo', max_tokens: 50, messages: body.messages, betas });
    assert.equal(openai.received.length, asked + 1);
    assert.equal(openai.last().headers['anthropic-beta'], undefined);
    const bad = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'anthropic-beta': 'a;b' },
      body: JSON.stringify(searching('claude-echo')),
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /anthropic-beta/);
  });

  // Found by an independent check: count_tokens kept only the non-beta fields, so a count with the MCP connector
  // reached Anthropic without the `mcp_servers` its toolset names (refused: the client got the estimate), and one
  // with context_management was counted without it.
  it('count_tokens sends Anthropic the beta fields the SDKs count with (mcp_servers, context_management), not Messages-only ones', async () => {
    const betas: Anthropic.Beta.AnthropicBeta[] = ['mcp-client-2025-11-20', 'context-management-2025-06-27'];
    const mcp_servers = [{ type: 'url' as const, url: 'https://mcp.example.com/sse', name: 'example' }];
    const context_management = { edits: [{ type: 'clear_tool_uses_20250919' as const }] };
    const tools = [{ type: 'mcp_toolset' as const, mcp_server_name: 'example' }];
    const messages = [{ role: 'user' as const, content: 'What tools do you have?' }];
    const params = { model: 'claude-echo', messages, tools, mcp_servers, context_management, betas };
    const { data, response } = await client.beta.messages.countTokens(params).withResponse();
    assert.match(String(response.headers.get('x-gateway-token-count')), /^upstream/);
    assert.ok(data.input_tokens > COUNT_TOKENS_BASE, `Anthropic's count, not the estimate: ${data.input_tokens}`);
    const sent = anthropic.last();
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.deepEqual(
      { mcp_servers: sent.body.mcp_servers, context_management: sent.body.context_management, tools: sent.body.tools },
      { mcp_servers, context_management, tools },
    );
    // A Messages body counted (Claude Code counts what it will send): its Messages-only fields stay behind.
    const raw = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'anthropic-beta': betas.join(',') },
      body: JSON.stringify({ ...params, betas: undefined, max_tokens: 100, stream: true, metadata: { user_id: 'u' } }),
    });
    assert.equal(raw.headers.get('x-gateway-token-count')?.startsWith('upstream'), true);
    assert.deepEqual(Object.keys(anthropic.last().body).sort(), ['context_management', 'mcp_servers', 'messages', 'model', 'tools']);
  });

  it('a follow-up turn with the server tool`s blocks is accepted and reaches Anthropic as sent', async () => {
    const first = await client.messages.create(searching('claude-echo'));
    for (const tools of [SERVER_TOOLS, undefined]) {
      const messages: Anthropic.MessageParam[] = [
        ...searching('claude-echo').messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'And older news?' },
      ];
      const next = await client.messages.create({ ...searching('claude-echo'), tools, messages });
      assert.equal(next.stop_reason, 'end_turn');
      assert.deepEqual(anthropic.last().body.messages, JSON.parse(JSON.stringify(messages)));
    }
  });
});

// Found by an independent check: the streamed text had the gateway's refusal note glued to the model's.
describe('Messages API: an answer a content filter cut off (Gemini SAFETY)', () => {
  it('reads the same streamed or not: the model`s text, then stop_reason', async () => {
    const ask = { model: 'gemini-safety', max_tokens: 50, messages: [{ role: 'user' as const, content: 'hi' }] };
    const message = await client.messages.create(ask);
    const streamed = await client.messages.stream(ask).finalMessage();
    assert.deepEqual(message.content, [{ type: 'text', text: 'partial' }]);
    assert.deepEqual(streamed.content, message.content);
    assert.equal(streamed.stop_reason, message.stop_reason);
  });
});

// Found by an independent check: only x-request-id was sent, so the SDKs' ids were all null.
describe('Messages API: the request id in Anthropic`s `request-id` header', () => {
  it('answers, streams, counts and errors carry it (the SDKs` _request_id, requestID); OpenAI clients do not get it', async () => {
    const ask = (model: string) => ({ model, max_tokens: 20, messages: [{ role: 'user' as const, content: 'hi' }] });
    for (const model of ['claude-echo', 'oa-echo']) {
      const { response } = await client.messages.create(ask(model)).withResponse();
      assert.equal(response.headers.get('request-id'), response.headers.get('x-request-id'), model);
      assert.match(String((await client.messages.create(ask(model)))._request_id), /^[0-9a-f-]{36}$/, model);
      const streamed = await client.messages.create({ ...ask(model), stream: true }).withResponse();
      for await (const _ of streamed.data);
      assert.equal(streamed.response.headers.get('request-id'), streamed.response.headers.get('x-request-id'), `${model} streamed`);
    }
    const counted = await client.messages.countTokens({ model: 'claude-echo', messages: ask('').messages }).withResponse();
    assert.equal(counted.response.headers.get('request-id'), counted.response.headers.get('x-request-id'));
    for (const [failing, sdk] of [
      [ask('no-such-model'), client],
      [ask('claude-overloaded'), client],
      [ask('claude-echo'), new Anthropic({ baseURL: gateway.url, apiKey: 'gw-wrong-key-0123456789', maxRetries: 0 })],
    ] as const) {
      const err = await sdk.messages.create(failing).then(
        () => assert.fail('expected an error'),
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
      assert.match(String(err.requestID), /^[0-9a-f-]{36}$/, `${failing.model}: ${err.status}`);
      assert.equal(err.requestID, err.headers?.get('x-request-id'));
    }
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'oa-echo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(chat.headers.get('request-id'), null);
  });
});

describe('Messages API: errors in Anthropic`s shape', () => {
  it('a schema violation is a 400 invalid_request_error naming the field', async () => {
    const res = await post('/v1/messages', { model: 'oa-echo', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.status, 400);
    assert.equal(res.body.type, 'error');
    assert.equal(res.body.error.type, 'invalid_request_error');
    assert.match(res.body.error.message, /max_tokens/);
    assert.equal(typeof res.body.request_id, 'string');
    // A client tool (custom) says what input it takes; only Anthropic's own tools (a dated type) go without.
    const custom = await post('/v1/messages', { ...searching('oa-echo'), tools: [{ type: 'custom', name: 'f' }] });
    assert.equal(custom.status, 400);
    assert.match(custom.body.error.message, /input_schema/);
  });

  it('stop_sequences has a length cap, like every list: more is a 400 naming it', async () => {
    const ask = { model: 'oa-echo', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    assert.equal((await post('/v1/messages', { ...ask, stop_sequences: Array(1000).fill('x') })).status, 200);
    const res = await post('/v1/messages', { ...ask, stop_sequences: Array(1001).fill('x') });
    assert.deepEqual([res.status, res.body.error.type], [400, 'invalid_request_error']);
    assert.match(res.body.error.message, /'stop_sequences': must NOT have more than 1000 items/);
  });

  it('a body over the size limit is a 413 request_too_large', async () => {
    const huge = { model: 'oa-echo', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] };
    const res = await post('/v1/messages', huge);
    assert.deepEqual([res.status, res.body.type, res.body.error.type], [413, 'error', 'request_too_large']);
  });

  it('invalid JSON is a 400 in Anthropic`s shape', async () => {
    const res = await post('/v1/messages', '{"model":');
    assert.deepEqual([res.status, res.body.type, res.body.error.type], [400, 'error', 'invalid_request_error']);
  });

  it('x-api-key is accepted as the gateway key; none or a wrong one is a 401 authentication_error', async () => {
    const body = { model: 'oa-echo', max_tokens: 20, messages: [{ role: 'user', content: 'hello gateway' }] };
    assert.equal((await post('/v1/messages', body, { 'x-api-key': KEY })).status, 200);
    for (const headers of [{}, { 'x-api-key': 'wrong-key-0123456789' }] as Record<string, string>[]) {
      const res = await post('/v1/messages', body, headers);
      assert.deepEqual([res.status, res.body.type, res.body.error.type], [401, 'error', 'authentication_error']);
    }
    const sdk = new Anthropic({ baseURL: gateway.url, apiKey: 'wrong-key-0123456789', maxRetries: 0 });
    await assert.rejects(sdk.messages.create(body as Anthropic.MessageCreateParamsNonStreaming), Anthropic.AuthenticationError);
  });

  it('a model the key may not use is a 403 permission_error; an unknown model a 404 not_found_error', async () => {
    const narrow = new Anthropic({ baseURL: gateway.url, apiKey: NARROW_KEY, maxRetries: 0 });
    const ask = (sdk: Anthropic, model: string) =>
      sdk.messages.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(
      ask(narrow, 'claude-echo'),
      (err: unknown) => err instanceof Anthropic.PermissionDeniedError && err.type === 'permission_error',
    );
    await assert.rejects(
      ask(client, 'no-such-model'),
      (err: unknown) => err instanceof Anthropic.NotFoundError && err.type === 'not_found_error',
    );
    await assert.rejects(
      client.messages.countTokens({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
      Anthropic.NotFoundError,
    );
  });

  // Found by an independent check: count_tokens checked neither, and asked Anthropic with the gateway's key.
  it('count_tokens checks the key as a message does: its models (a 403 that reaches no upstream), and its RPM, not its budget', async () => {
    const counted = new Anthropic({ baseURL: gateway.url, apiKey: COUNTED_KEY, maxRetries: 0 });
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'hello gateway, count me' }];
    const counts = () => anthropic.received.filter((r) => r.path === '/v1/messages/count_tokens').length;
    const before = counts();
    await assert.rejects(
      counted.messages.countTokens({ model: 'claude-echo', messages }),
      (err: unknown) => err instanceof Anthropic.PermissionDeniedError && err.type === 'permission_error',
    );
    assert.equal(counts(), before, 'a forbidden model reaches no upstream');
    // The budget refuses any message (counting nothing); a count costs nothing, so it is not checked against it.
    await assert.rejects(counted.messages.create({ model: 'claude-priced', max_tokens: 20, messages }), (err: unknown) =>
      /budget/.test((err as Error).message),
    );
    for (let i = 0; i < 2; i++) {
      assert.ok((await counted.messages.countTokens({ model: 'claude-priced', messages })).input_tokens > COUNT_TOKENS_BASE);
    }
    await assert.rejects(
      counted.messages.countTokens({ model: 'claude-priced', messages }),
      (err: unknown) => err instanceof Anthropic.RateLimitError && Number(err.headers?.get('retry-after')) > 0,
    );
    assert.equal(counts(), before + 2, 'the third count, over the RPM, reaches no upstream');
  });

  // Found by an independent check: LiteLLM-style proxies put the key they were sent in their errors.
  it('an upstream error repeating the provider key reaches neither client nor log with it, for each vendor and both protocols', async () => {
    const chat = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const asks: Record<(typeof ECHO_KEY_ASKS)[number], (model: string) => Promise<unknown>> = {
      chat: (model) => chat.chat.completions.create({ model, messages }),
      'chat-stream': (model) => chat.chat.completions.create({ model, messages, stream: true }),
      messages: (model) => client.messages.create({ model, max_tokens: 20, messages }),
      'messages-stream': (model) => client.messages.create({ model, max_tokens: 20, messages, stream: true }),
    };
    for (const [, upstreamModel, providerKey] of ECHO_KEY) {
      for (const ask of ECHO_KEY_ASKS) {
        const model = `${upstreamModel}-${ask}`;
        const err = await asks[ask](model).then(
          () => assert.fail(`${model} answered`),
          (e: unknown) => e as InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>,
        );
        const text = `${err.message} ${JSON.stringify(err.error)}`;
        assert.ok(err.status && err.status >= 400, `${model}: ${text}`);
        assert.ok(!text.includes(providerKey), `${model}: ${text}`);
        assert.match(text, /\[provider key\]/, `${model}: the rest of the upstream's text is kept`);
      }
    }
    assert.ok(!gateway.rawOutput.some((line) => [OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY].some((k) => line.includes(k))), 'nor logged');
  });

  // Found by an independent check: an OpenAI-format upstream's error event after the stream began
  // was passed through as it came, with the key it repeated.
  it('an error event the upstream sends mid-stream repeating the provider key reaches neither protocol`s client with it', async () => {
    const chat = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    let text = '';
    const chatError = await (async () => {
      for await (const chunk of await chat.chat.completions.create({ model: 'oa-midstream-key-chat', messages, stream: true }))
        text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => assert.fail('the stream completed'),
      (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
    );
    assert.equal(text, 'fake ', 'the error came after the stream began');
    const messagesError = await (async () => {
      const stream = await client.messages.create({ model: 'oa-midstream-key-messages', max_tokens: 20, messages, stream: true });
      for await (const _ of stream);
    })().then(
      () => assert.fail('the stream completed'),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    for (const err of [chatError, messagesError]) {
      const seen = `${err.message} ${JSON.stringify(err.error)}`;
      assert.ok(!seen.includes(OPENAI_KEY), seen);
      assert.match(seen, /Upstream failed\. Received API Key = \[provider key\]/, seen);
    }
    assert.ok(!gateway.rawOutput.some((line) => line.includes(OPENAI_KEY)), 'nor logged');
  });

  // Found by an independent check: Anthropic's own stream relayed the upstream's error event as it came, the key in
  // it, and the gateway's error event after it; its events that were not JSON went out too (the SDK threw a SyntaxError).
  it('an Anthropic upstream`s error event or unparsable event mid-stream: one gateway error event, without the key', async () => {
    for (const [model, type, message] of [
      ['claude-midstream-key', 'overloaded_error', /^Provider ant failed: Overloaded \(key Bearer \[provider key\]\)$/],
      ['claude-midstream-garbage', 'api_error', /^Provider ant sent a stream event that is not a JSON object\.$/],
    ] as const) {
      const res = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hello gateway, how are you?' }] }),
      });
      const raw = await res.text();
      assert.ok(!raw.includes(ANTHROPIC_KEY), raw);
      assert.ok(!raw.includes('not json') && !raw.includes('[[['), raw);
      const errors = raw.split('\n\n').filter((event) => /^event: error$/m.test(event));
      assert.equal(errors.length, 1, raw);
      const error = JSON.parse(errors[0]!.split('data: ')[1]!) as { error: { type: string; message: string } };
      assert.equal(error.error.type, type);
      assert.match(error.error.message, message);
      assert.match(raw, /"text_delta"/, 'the error came after the answer began');
      // The SDK raises the gateway's error, not a SyntaxError.
      const sdkError = await (async () => {
        for await (const _ of await client.messages.create({
          model,
          max_tokens: 20,
          messages: [{ role: 'user', content: 'hi there you' }],
          stream: true,
        }));
      })().then(
        () => assert.fail(`${model}: the stream completed`),
        (e: unknown) => e,
      );
      assert.ok(sdkError instanceof Anthropic.APIError, String(sdkError));
    }
    assert.ok(!gateway.rawOutput.some((line) => line.includes(ANTHROPIC_KEY)), 'nor logged');
  });

  it('the key`s request limit applies to the Messages route: over it, a 429 rate_limit_error with retry-after', async () => {
    const tight = new Anthropic({ baseURL: gateway.url, apiKey: TIGHT_KEY, maxRetries: 0 });
    const ask = () => tight.messages.create({ model: 'mock', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    await ask();
    await assert.rejects(ask(), (err: unknown) => err instanceof Anthropic.RateLimitError && Number(err.headers?.get('retry-after')) > 0);
  });

  it('upstream failures: a rate limit is a 429 rate_limit_error with retry-after, an overloaded upstream a 529 overloaded_error', async () => {
    const ask = (model: string) => client.messages.create({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(
      ask('oa-429'),
      (err: unknown) =>
        err instanceof Anthropic.RateLimitError && err.headers?.get('retry-after') === '7' && err.type === 'rate_limit_error',
    );
    await assert.rejects(
      ask('claude-overloaded'),
      (err: unknown) => err instanceof Anthropic.APIError && err.status === 529 && err.type === 'overloaded_error',
    );
  });

  // Found by an independent check: an OpenAI-format upstream's 503 or 529 reached Messages clients as a
  // 500 api_error (and chat clients as a 502), where Anthropic's and Gemini's were 529 overloaded_error.
  it('an overloaded upstream of any vendor is a 529 overloaded_error, and a 503 upstream_overloaded to OpenAI clients', async () => {
    const overloaded: [string, string][] = [
      // model, what its upstream answered
      ['oa-503', 'OpenAI-format 503'],
      ['oa-529', 'OpenAI-format 529'],
      ['claude-529', 'Anthropic 529 overloaded_error'],
      ['gemini-unavailable', 'Gemini 503 UNAVAILABLE'],
    ];
    const chat = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEY, maxRetries: 0 });
    for (const [model, upstream] of overloaded) {
      const messages = [{ role: 'user' as const, content: 'hi' }];
      const anthropicErr = await client.messages.create({ model, max_tokens: 20, messages }).then(
        () => assert.fail(upstream),
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
      assert.deepEqual([anthropicErr.status, anthropicErr.type], [529, 'overloaded_error'], upstream);
      const openaiErr = await chat.chat.completions.create({ model, messages }).then(
        () => assert.fail(upstream),
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
      assert.deepEqual([openaiErr.status, openaiErr.code], [503, 'upstream_overloaded'], upstream);
    }
    // Found by an independent check (docs32): Node knows no reason phrase for 529, and the status line read "529 unknown".
    const raw = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-529', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.deepEqual([raw.status, raw.statusText], [529, 'Overloaded']);
  });

  it('a failure after the stream began ends it with an Anthropic `error` event, which the SDK raises', async () => {
    for (const model of ['claude-midstream', 'oa-cut']) {
      const stream = client.messages.stream({
        model,
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hello gateway, how are you today?' }],
      });
      let text = '';
      stream.on('text', (delta) => (text += delta));
      await assert.rejects(
        stream.finalMessage(),
        (err: unknown) => err instanceof Anthropic.APIError && /error|overloaded|truncated|ended/i.test(String((err as Error).message)),
      );
      assert.ok(text.length > 0, `${model}: some text arrived before the failure`);
    }
  });

  it('OpenAI clients still get OpenAI`s error shape on the chat route', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await res.json()) as Record<string, any>;
    assert.equal(res.status, 404);
    assert.equal(body.error.code, 'model_not_found');
    assert.equal(body.type, undefined);
  });
});

describe('GET /v1/models for Anthropic clients', () => {
  it('models.list and models.retrieve answer in Anthropic`s shape', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      assert.equal(model.type, 'model');
      assert.ok(!Number.isNaN(Date.parse(model.created_at)));
      ids.push(model.id);
    }
    assert.ok(ids.includes('claude-echo') && ids.includes('oa-echo') && ids.includes('gemini-echo'), ids.join());
    const one = await client.models.retrieve('gemini-echo');
    assert.deepEqual([one.type, one.id], ['model', 'gemini-echo']);
  });

  // Found by an independent check: every model was listed, whatever the key.
  it('a key lists only the models it may use; any other is a 404 as an unknown model is (both SDKs)', async () => {
    const narrow = new Anthropic({ baseURL: gateway.url, apiKey: NARROW_KEY, maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of narrow.models.list()) ids.push(model.id);
    assert.deepEqual(ids, ['oa-echo']);
    assert.equal((await narrow.models.retrieve('oa-echo')).id, 'oa-echo');
    await assert.rejects(narrow.models.retrieve('claude-echo'), Anthropic.NotFoundError);
    const narrowChat = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: NARROW_KEY, maxRetries: 0 });
    assert.deepEqual(
      (await narrowChat.models.list()).data.map((m) => m.id),
      ['oa-echo'],
    );
    assert.equal((await narrowChat.models.retrieve('oa-echo')).id, 'oa-echo');
    const [forbidden, unknown] = await Promise.all(
      ['claude-echo', 'no-such-model'].map((id) =>
        narrowChat.models.retrieve(id).then(
          () => assert.fail(`${id} answered`),
          (err: unknown) => err as InstanceType<typeof OpenAI.NotFoundError>,
        ),
      ),
    );
    assert.ok(forbidden instanceof OpenAI.NotFoundError);
    assert.deepEqual(
      forbidden.error,
      { ...(unknown.error as object), message: 'The model `claude-echo` does not exist.' },
      'nothing tells them apart',
    );
  });

  // Found by an independent check: a forbidden model whose providers are all disabled (and a virtual
  // model routing only to such models) answered "is configured but none of its providers is enabled".
  it('a forbidden model that cannot serve answers exactly as an unknown id of its length: status, body, headers', async () => {
    const retrieve = async (id: string) => {
      const res = await fetch(`${gateway.url}/v1/models/${id}`, { headers: { authorization: `Bearer ${NARROW_KEY}` } });
      const { date: _date, 'x-request-id': _id, ...headers } = Object.fromEntries(res.headers);
      return { status: res.status, headers, body: (await res.text()).replaceAll(id, '<id>') };
    };
    for (const [forbidden, unknown] of [
      ['oa-keyless', 'oa-nothing'],
      ['auto-keyless', 'auto-nothing'],
    ]) {
      assert.equal(forbidden.length, unknown.length);
      const [got, expected] = await Promise.all([retrieve(forbidden), retrieve(unknown)]);
      assert.equal(expected.status, 404);
      assert.deepEqual(got, expected, forbidden);
    }
  });

  // Found by a check of the SDKs: limit, after_id and before_id were ignored, so a client paging by after_id never stopped.
  it('pages as Anthropic`s List Models does: limit (default 20), after_id, before_id, has_more; the SDK`s paging lists all', async () => {
    const page = async (query: string) => {
      const res = await fetch(`${gateway.url}/v1/models?${query}`, { headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const openaiList = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    // Less the embeddings model, which Anthropic clients are not listed (below).
    const all = ((await openaiList.json()) as { data: { id: string }[] }).data.map((m) => m.id).filter((id) => id !== 'mock-embedding');
    assert.ok(all.length > 20, `${all.length}`);
    const ids = (body: Record<string, any>) => (body.data as { id: string }[]).map((m) => m.id);
    const first = (await page('')).body;
    assert.deepEqual([ids(first), first.has_more, first.first_id, first.last_id], [all.slice(0, 20), true, all[0], all[19]]);
    const two = (await page('limit=2')).body;
    assert.deepEqual([ids(two), two.has_more], [all.slice(0, 2), true]);
    const next = (await page(`limit=2&after_id=${two.last_id}`)).body;
    assert.deepEqual(ids(next), all.slice(2, 4));
    const last = (await page(`after_id=${all.at(-1)}`)).body;
    assert.deepEqual([ids(last), last.has_more, last.first_id, last.last_id], [[], false, null, null]);
    const before = (await page(`limit=2&before_id=${all[3]}`)).body;
    assert.deepEqual([ids(before), before.has_more], [all.slice(1, 3), true]);
    const start = (await page(`limit=5&before_id=${all[3]}`)).body;
    assert.deepEqual([ids(start), start.has_more], [all.slice(0, 3), false]);
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'after_id=no-such-model']) {
      const refused = await page(query);
      assert.equal(refused.status, 400, query);
      assert.equal(refused.body.error.type, 'invalid_request_error', query);
    }
    const listed: string[] = [];
    for await (const model of client.models.list({ limit: 7 })) listed.push(model.id);
    assert.deepEqual(listed, all);
  });

  // Found by an independent check (api32): a model carried only type, id, display_name and created_at, where the SDK types
  // its bounds, lifecycle and capabilities as present (null where unknown), and `lifecycle` was not read.
  it('a model carries every field the SDK types: its group`s largest bounds where every deployment declares them; lifecycle filters', async () => {
    const fields = (m: Anthropic.Models.ModelInfo) => [
      m.max_input_tokens,
      m.max_tokens,
      m.lifecycle,
      m.capabilities,
      m.line,
      m.deprecated_at,
      m.retires_at,
    ];
    const bounded = await client.models.retrieve('claude-bounded');
    assert.deepEqual(fields(bounded), [200_000, 64_000, 'active', null, null, null, null]);
    assert.deepEqual(fields(await client.models.retrieve('claude-echo')), [null, null, 'active', null, null, null, null]);
    const all: Anthropic.Models.ModelInfo[] = [];
    for await (const model of client.models.list()) all.push(model);
    assert.deepEqual(
      all.find((m) => m.id === 'claude-bounded'),
      bounded,
    );
    const listIds = async (lifecycle: ('active' | 'deprecated' | 'retired')[]) => {
      const ids: string[] = [];
      for await (const model of client.models.list({ lifecycle })) ids.push(model.id);
      return ids;
    };
    assert.deepEqual(await listIds(['retired']), []);
    assert.deepEqual(await listIds(['deprecated', 'retired']), []);
    assert.deepEqual(
      await listIds(['active', 'retired']),
      all.map((m) => m.id),
    );
    // Found by an independent check (api32): embeddings models were listed, which /v1/messages refuses.
    assert.ok(!all.some((m) => m.id === 'mock-embedding'));
    await assert.rejects(client.models.retrieve('mock-embedding'), Anthropic.NotFoundError);
    const openaiList = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.ok(((await openaiList.json()) as { data: { id: string }[] }).data.some((m) => m.id === 'mock-embedding'));
    const refused = await fetch(`${gateway.url}/v1/models?lifecycle=gone`, {
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
    });
    assert.deepEqual([refused.status, ((await refused.json()) as Record<string, any>).error.type], [400, 'invalid_request_error']);
  });

  it('OpenAI clients (no anthropic-version) still get the OpenAI list', async () => {
    const res = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    assert.equal(body.object, 'list');
    assert.equal(body.data[0].object, 'model');
    assert.deepEqual(Object.keys(body.data.find((m) => m.id === 'claude-bounded')!).sort(), ['created', 'id', 'object', 'owned_by']);
  });
});

/** Anything JSON, small: what a confused or hostile client may put in any field. */
const junk = fc.jsonValue({ maxDepth: 2 });
/** Mostly a plausible value, sometimes junk: so most bodies pass the schema and reach the codec. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 30 }, { arbitrary: junk, weight: 1 });
/** Inside content blocks (which the schema checks least), junk is common. */
const often = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: junk, weight: 1 });
const BLOCK_TYPES = ['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'search_result', 'odd'];
const block = fc.record(
  {
    type: fc.constantFrom(...BLOCK_TYPES),
    text: often(fc.string()),
    source: often(
      fc.record({
        type: fc.constantFrom('base64', 'url', 'text', 'file', 'odd'),
        media_type: often(fc.constantFrom('image/png', 'application/pdf', 'text/plain')),
        data: often(fc.base64String()),
        url: often(fc.webUrl()),
      }),
    ),
    content: often(
      fc.oneof(fc.string(), fc.array(fc.record({ type: fc.constantFrom(...BLOCK_TYPES), text: often(fc.string()) }), { maxLength: 2 })),
    ),
    id: often(fc.constantFrom('toolu_1', 'call.2', '')),
    name: often(fc.constantFrom('f', 'get_weather')),
    input: often(fc.dictionary(fc.string({ maxLength: 3 }), junk, { maxKeys: 2 })),
    tool_use_id: often(fc.constantFrom('toolu_1', 'call.2', '')),
    signature: often(fc.string()),
    thinking: often(fc.string()),
  },
  { requiredKeys: ['type'] },
);
const messagesBody = fc.record(
  {
    model: fc.constantFrom('mock', 'oa-echo', 'no-such-model'),
    max_tokens: mostly(fc.integer({ min: 1, max: 5000 })),
    messages: mostly(
      fc.array(
        fc.record({
          role: fc.constantFrom('user', 'assistant', 'system', 'user'),
          content: mostly(fc.oneof(fc.string(), fc.array(block, { maxLength: 4 }))),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    ),
    system: mostly(fc.oneof(fc.string(), fc.array(fc.record({ type: fc.constant('text'), text: mostly(fc.string()) }), { maxLength: 2 }))),
    tools: mostly(
      fc.array(
        fc.record(
          {
            type: fc.constantFrom('custom', 'web_search_20250305'),
            name: fc.constantFrom('f', 'get_weather'),
            input_schema: mostly(fc.constant({ type: 'object' })),
          },
          { requiredKeys: ['name', 'input_schema'] },
        ),
        { maxLength: 2 },
      ),
    ),
    tool_choice: mostly(
      fc.record(
        {
          type: fc.constantFrom('auto', 'any', 'tool', 'none'),
          name: mostly(fc.constantFrom('f', 'missing')),
          disable_parallel_tool_use: fc.boolean(),
        },
        { requiredKeys: ['type', 'name'] },
      ),
    ),
    thinking: mostly(
      fc.record(
        { type: fc.constantFrom('enabled', 'adaptive', 'disabled'), budget_tokens: mostly(fc.integer({ min: 1024, max: 100_000 })) },
        { requiredKeys: ['type', 'budget_tokens'] },
      ),
    ),
    output_config: mostly(
      fc.record({
        effort: mostly(fc.constantFrom('low', 'high', 'max')),
        format: mostly(fc.record({ type: fc.constant('json_schema'), schema: mostly(fc.constant({ type: 'object' })) })),
      }),
    ),
    stop_sequences: mostly(fc.array(fc.string(), { maxLength: 5 })),
    metadata: mostly(fc.record({ user_id: fc.string() })),
    stream: fc.boolean(),
    temperature: mostly(fc.double({ min: 0, max: 1, noNaN: true })),
  },
  { requiredKeys: ['model', 'max_tokens', 'messages', 'stream'] },
);

describe('Messages API: hostile input (fast-check, fixed seed)', () => {
  it('any body is answered, or refused with a 4xx in Anthropic`s shape; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(messagesBody, async (body) => {
        const res = await fetch(`${gateway.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': KEY },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        (globalThis as any).__st = (globalThis as any).__st ?? {};
        (globalThis as any).__st[res.status] = ((globalThis as any).__st[res.status] ?? 0) + 1;
        assert.ok(res.status < 500, `${res.status} ${text}`);
        // A server tool is Anthropic's to run, and none of these models has an Anthropic deployment: never a (translated) answer.
        const serverTool =
          Array.isArray(body.tools) && (body.tools as ({ type?: string } | null)[]).some((t) => t?.type === 'web_search_20250305');
        if (res.status === 200) {
          assert.ok(!serverTool, text);
          if (res.headers.get('content-type')?.startsWith('text/event-stream')) assert.match(text, /event: message_stop\n/);
          else assert.equal(JSON.parse(text).type, 'message');
          return;
        }
        const error = JSON.parse(text);
        assert.equal(error.type, 'error', text);
        assert.equal(typeof error.error.type, 'string');
        assert.equal(typeof error.error.message, 'string');
      }),
      { seed: 20261201, numRuns: 300 },
    );
  });
});

describe('Messages API: one cache with the chat route', () => {
  let cached: GatewayProcess;
  before(async () => {
    cached = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl: openaiUrl, apiKeyEnv: 'FAKE_OA_KEY' },
          { name: 'ant', type: 'anthropic', baseUrl: anthropicUrl, apiKeyEnv: 'FAKE_ANT_KEY' },
        ],
        models: [OA_THEN_CLAUDE],
        cache: { enabled: true, semantic: { enabled: false } },
      }),
      { env: { FAKE_OA_KEY: 'sk-fake-openai', FAKE_ANT_KEY: ANTHROPIC_KEY } },
    );
  });
  after(() => cached?.stop());

  it('the same question asked in either protocol is one cache entry; a stream replays it as Anthropic events', async () => {
    const sdk = new Anthropic({ baseURL: cached.url, apiKey: 'unused', maxRetries: 0 });
    const question = { model: 'mock', max_tokens: 64, messages: [{ role: 'user' as const, content: 'one cache for both protocols?' }] };
    const first = await sdk.messages.create(question).withResponse();
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    const chat = await fetch(`${cached.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', max_completion_tokens: 64, messages: question.messages }),
    });
    assert.equal(chat.headers.get('x-gateway-cache'), 'hit-exact');
    const answer = ((await chat.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content;
    assert.deepEqual(first.data.content, [{ type: 'text', text: answer }]);
    const streamed = sdk.messages.stream(question);
    let start: Anthropic.Usage | undefined;
    streamed.on('streamEvent', (event) => {
      // A copy: the SDK merges message_delta's usage into the message_start it keeps.
      if (event.type === 'message_start') start = { ...event.message.usage };
    });
    const final = await streamed.finalMessage();
    assert.equal((await streamed.withResponse()).response.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual(final.content, first.data.content);
    // The stored answer's count is known before its first event.
    assert.equal(start?.input_tokens, first.data.usage.input_tokens);
  });

  // Found by an independent check: Messages writes its limit as max_completion_tokens, chat clients
  // send max_tokens, and the two never shared an entry though the upstream receives the same limit.
  it('a chat client`s max_tokens and Messages` max_tokens are one cache entry, either asked first', async () => {
    const sdk = new Anthropic({ baseURL: cached.url, apiKey: 'unused', maxRetries: 0 });
    const chat = async (content: string) => {
      const res = await fetch(`${cached.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock', max_tokens: 64, messages: [{ role: 'user', content }] }),
      });
      await res.text();
      return res.headers.get('x-gateway-cache');
    };
    const messages = async (content: string) =>
      (
        await sdk.messages.create({ model: 'mock', max_tokens: 64, messages: [{ role: 'user', content }] }).withResponse()
      ).response.headers.get('x-gateway-cache');
    assert.deepEqual([await messages('Messages first, chat second'), await chat('Messages first, chat second')], ['miss', 'hit-exact']);
    assert.deepEqual([await chat('Chat first, Messages second'), await messages('Chat first, Messages second')], ['miss', 'hit-exact']);
  });

  it('a server-tool request is not answered from the cache, even where the chat params it translates to have an entry', async () => {
    // What a web_search request translates to, asked by an OpenAI client: the OpenAI-family deployment answers, the cache stores it.
    const chat = async () => {
      const res = await fetch(`${cached.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'oa-then-claude',
          max_completion_tokens: 500,
          messages: [{ role: 'user', content: 'gateway news' }],
          tools: [{ type: 'function', function: { name: 'web_search', parameters: { type: 'object' } } }],
        }),
      });
      await res.text();
      return res.headers.get('x-gateway-cache');
    };
    assert.deepEqual([await chat(), await chat()], ['miss', 'hit-exact']);
    const sdk = new Anthropic({ baseURL: cached.url, apiKey: 'unused', maxRetries: 0 });
    const asked = anthropic.received.length;
    for (let i = 0; i < 2; i++) {
      const { data, response } = await sdk.messages.create({ ...searching('oa-then-claude'), tools: [WEB_SEARCH] }).withResponse();
      assert.deepEqual(
        data.content.map((b) => b.type),
        SEARCH_ANSWER,
      );
      assert.equal(response.headers.get('x-gateway-cache'), null, 'no lookup');
    }
    assert.equal(anthropic.received.length, asked + 2, 'both went to Anthropic');
  });
});
