import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type Anthropic from '@anthropic-ai/sdk';
import { AnthropicError, APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../../libs/providers/src/wire';
import { ChunkFrames } from '../../libs/providers/src/translation/chunks';
import { completionJson, usageOf } from '../../libs/providers/src/translation/completion';
import { planTools } from '../../libs/providers/src/translation/tools';
import { fromAnthropicError } from '../../libs/providers/src/anthropic/errors';
import { toMessages, toMessagesRequest, toolUseId, toToolChoice } from '../../libs/providers/src/anthropic/request';
import { choiceFrom, finishReason, servedTier, usageFrom } from '../../libs/providers/src/anthropic/response';
import { translateEvents } from '../../libs/providers/src/anthropic/stream';
import { translated } from '../support/translate';

const deployment = Object.assign(new DeploymentConfig(), { provider: 'p', model: 'm' });
const live = new AbortController().signal;

describe('Anthropic request: each message kind', () => {
  const table: [string, ChatCompletionMessageParam[], { system?: unknown[]; messages: unknown[] }][] = [
    [
      'system and developer -> system blocks',
      [
        { role: 'system', content: 'a' },
        { role: 'developer', content: [{ type: 'text', text: 'b' }] },
        { role: 'user', content: 'u' },
      ],
      {
        system: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'u' }] }],
      },
    ],
    [
      'a late system message joins the system prompt',
      [
        { role: 'user', content: 'u' },
        { role: 'system', content: 's' },
      ],
      {
        system: [{ type: 'text', text: 's' }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'u' }] }],
      },
    ],
    [
      'consecutive user messages merge',
      [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
      ],
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      },
    ],
    [
      'assistant text',
      [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ],
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'b' }] },
        ],
      },
    ],
    [
      'an empty assistant message is left out',
      [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'b' },
      ],
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      },
    ],
    [
      // Anthropic refuses a text block of whitespace only (400 "text content blocks must contain non-whitespace text").
      'whitespace-only text is left out: a system message, text beside tool calls, a text part',
      [
        { role: 'system', content: '\n' },
        {
          role: 'user',
          content: [
            { type: 'text', text: ' ' },
            { type: 'text', text: 'a' },
          ],
        },
        { role: 'assistant', content: '\n\n', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'r' },
      ],
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'r' }] },
        ],
      },
    ],
    [
      'assistant tool calls and grouped tool results, then a user message in the same turn',
      [
        { role: 'user', content: 'a' },
        {
          role: 'assistant',
          content: 'calling',
          tool_calls: [
            { id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
            { id: 't2', type: 'function', function: { name: 'g', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 't1', content: 'r1' },
        { role: 'tool', tool_call_id: 't2', content: [{ type: 'text', text: 'r2' }] },
        { role: 'user', content: 'thanks' },
      ],
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'a' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'calling' },
              { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } },
              { type: 'tool_use', id: 't2', name: 'g', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 't1', content: 'r1' },
              { type: 'tool_result', tool_use_id: 't2', content: 'r2' },
              { type: 'text', text: 'thanks' },
            ],
          },
        ],
      },
    ],
    [
      'images: inline, by URL, and a PDF',
      [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklG' } },
            { type: 'image_url', image_url: { url: 'https://x.test/d.pdf' } },
          ],
        },
      ],
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklG' } },
              { type: 'document', source: { type: 'url', url: 'https://x.test/d.pdf' } },
            ],
          },
        ],
      },
    ],
    // Found by an independent check: the parts ran together ("Answer in FrenchNever use emoji").
    [
      'system and tool result parts stay separate blocks',
      [
        {
          role: 'system',
          content: [
            { type: 'text', text: 'Answer in French' },
            { type: 'text', text: 'Never use emoji' },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        {
          role: 'tool',
          tool_call_id: 't1',
          content: [
            { type: 'text', text: 'line one' },
            { type: 'text', text: 'line two' },
          ],
        },
      ],
      {
        system: [
          { type: 'text', text: 'Answer in French' },
          { type: 'text', text: 'Never use emoji' },
        ],
        messages: [
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 't1',
                content: [
                  { type: 'text', text: 'line one' },
                  { type: 'text', text: 'line two' },
                ],
              },
            ],
          },
        ],
      },
    ],
    [
      'system messages alone become the user turn (OpenAI answers them; Anthropic needs a message)',
      [{ role: 'system', content: 'You are terse.' }],
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'You are terse.' }] }] },
    ],
    [
      'a refusal echoed in history (content null) stays the assistant turn',
      [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
        { role: 'user', content: 'Q2' },
      ],
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Q1' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'I cannot help with that.' }] },
          { role: 'user', content: [{ type: 'text', text: 'Q2' }] },
        ],
      },
    ],
    [
      'image/jpg (an alias OpenAI accepts) as image/jpeg',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/' } }] }],
      {
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } }] }],
      },
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => {
      const out = toMessages(input);
      assert.deepEqual(out.messages, expected.messages);
      assert.deepEqual(out.system, expected.system ?? []);
    });
  }

  it('tool ids Anthropic cannot take become valid ids, still one per call, each result paired with its call', () => {
    const call = (id: string) => ({ id, type: 'function' as const, function: { name: 'f', arguments: '{}' } });
    const out = toMessages([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: null, tool_calls: [call('call.1'), call('call:1'), call('call_1')] },
      { role: 'tool', tool_call_id: 'call:1', content: 'colon' },
      { role: 'tool', tool_call_id: 'call.1', content: 'dot' },
      { role: 'tool', tool_call_id: 'call_1', content: 'plain' },
    ]);
    const ids = (out.messages[1].content as Anthropic.ToolUseBlockParam[]).map((b) => b.id);
    assert.equal(new Set(ids).size, 3, `one id per call: ${ids.join(', ')}`);
    assert.equal(ids[2], 'call_1', 'a valid id is kept');
    const results = out.messages[2].content as Anthropic.ToolResultBlockParam[];
    assert.deepEqual(
      results.map((r) => [r.tool_use_id, r.content]),
      [
        [ids[1], 'colon'],
        [ids[0], 'dot'],
        [ids[2], 'plain'],
      ],
    );
  });

  // An empty id (an OpenAI-format upstream's, found by an independent check) went to Anthropic as it was, and was refused.
  it('the tool id mapping: valid for Anthropic, the identity on valid ids (so applying it twice changes nothing), no two mapped ids alike', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 40 }), fc.string({ minLength: 0, maxLength: 40 }), (a, b) => {
        const id = toolUseId(a);
        assert.match(id, /^[A-Za-z0-9_-]+$/);
        assert.equal(toolUseId(id), id);
        // (A client could still pick a valid id equal to another's mapping: its own conversation only.)
        const mapped = (x: string) => !/^[A-Za-z0-9_-]+$/.test(x);
        if (a !== b && mapped(a) && mapped(b)) assert.notEqual(toolUseId(b), id);
      }),
      { numRuns: 2000, examples: [['', 'a.b']] },
    );
  });

  // Found by an independent check (recheck28): every empty id (an upstream that gave its calls none) became the same
  // id, which Anthropic refuses ("tool_use ids must be unique"), and which result answered which call was lost.
  it('calls with empty ids get distinct ids, each result the id of the call at its place', () => {
    const call = (name: string) => ({ id: '', type: 'function' as const, function: { name, arguments: '{}' } });
    const { messages } = toMessages([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: null, tool_calls: [call('a'), call('b')] },
      { role: 'tool', tool_call_id: '', content: 'A' },
      { role: 'tool', tool_call_id: '', content: 'B' },
      { role: 'assistant', content: null, tool_calls: [call('c')] },
      { role: 'tool', tool_call_id: '', content: 'C' },
    ]);
    const blocks = messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content)) as {
      type: string;
      id?: string;
      name?: string;
      tool_use_id?: string;
      content?: unknown;
    }[];
    const calls = blocks.filter((b) => b.type === 'tool_use');
    const results = blocks.filter((b) => b.type === 'tool_result');
    assert.equal(new Set(calls.map((c) => c.id)).size, 3, JSON.stringify(calls));
    for (const id of calls.map((c) => c.id!)) assert.match(id, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(
      results.map((r) => [calls.find((c) => c.id === r.tool_use_id)?.name, r.content]),
      [
        ['a', 'A'],
        ['b', 'B'],
        ['c', 'C'],
      ],
    );
  });

  it('refuses a conversation with nothing to send, naming messages', () => {
    for (const input of [[{ role: 'user', content: '' }], [{ role: 'system', content: ' ' }]] as ChatCompletionMessageParam[][]) {
      assert.throws(
        () => toMessages(input),
        (e: GatewayError) => e.status === 400 && e.param === 'messages',
      );
    }
  });

  it('refuses deprecated function messages, naming them; arguments that are no JSON object go as raw_arguments', () => {
    assert.throws(
      () => toMessages([{ role: 'function', name: 'f', content: 'x' }]),
      (e: GatewayError) => e.param === 'messages[0].role',
    );
    const bad: ChatCompletionMessageParam = {
      role: 'assistant',
      tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '[' } }],
    };
    assert.deepEqual(JSON.stringify(toMessages([bad])).match(/"input":\{[^}]*\}/)?.[0], '"input":{"raw_arguments":"["}');
  });
});

describe('Anthropic request: a history of tool calls and results', () => {
  const weather = { id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{}' } };
  const history: ChatCompletionMessageParam[] = [
    { role: 'user', content: 'weather?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [weather, { ...weather, id: 'call_2', function: { name: 'get_time', arguments: '{}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: '20C' },
    { role: 'tool', tool_call_id: 'call_2', content: 'noon' },
    { role: 'assistant', content: 'It is 20C at noon.' },
    { role: 'assistant', content: null, tool_calls: [{ ...weather, id: 'call_3' }] },
    { role: 'tool', tool_call_id: 'call_3', content: '21C' },
    { role: 'user', content: 'Summarise our chat.' },
  ];

  // Found by an independent check: Anthropic refuses tool_use / tool_result blocks in a request without tools.
  it('without tools in the request: the tools the history calls are declared, once each, taking any object, with tool_choice none', () => {
    const body = toMessagesRequest({ model: 'm', messages: history }, 'up', deployment);
    assert.deepEqual(body.tools, [
      { name: 'get_weather', input_schema: { type: 'object' } },
      { name: 'get_time', input_schema: { type: 'object' } },
    ]);
    assert.deepEqual(body.tool_choice, { type: 'none' });
    const chosen = toMessagesRequest({ model: 'm', messages: history, tool_choice: 'none', parallel_tool_calls: false }, 'up', deployment);
    assert.deepEqual(chosen.tool_choice, { type: 'none' });
  });

  it("with tools: the client's tools and choice, nothing added; with no calls in history: no tools", () => {
    const body = toMessagesRequest(
      { model: 'm', messages: history, tools: [{ type: 'function', function: { name: 'get_weather' } }] },
      'up',
      deployment,
    );
    assert.deepEqual(body.tools, [{ name: 'get_weather', input_schema: { type: 'object' } }]);
    assert.equal(body.tool_choice, undefined);
    const plain = toMessagesRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'up', deployment);
    assert.equal(plain.tools, undefined);
    assert.equal(plain.tool_choice, undefined);
  });

  // Found by an independent check: the results went [tool_result, text, tool_result], which Anthropic refuses.
  it('the tool results of a round open its user turn, in order, whatever user messages sit between them', () => {
    const out = toMessages([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, tool_calls: [weather, { ...weather, id: 'c2' }, { ...weather, id: 'c3' }] },
      { role: 'user', content: 'before' },
      { role: 'tool', tool_call_id: 'call_1', content: 'r1' },
      { role: 'user', content: 'note' },
      { role: 'tool', tool_call_id: 'c2', content: 'r2' },
      { role: 'tool', tool_call_id: 'c3', content: 'r3' },
      { role: 'user', content: 'after' },
    ]);
    const turn = out.messages[2].content as { type: string; tool_use_id?: string; text?: string }[];
    assert.deepEqual(
      turn.map((b) => b.tool_use_id ?? b.text),
      ['call_1', 'c2', 'c3', 'before', 'note', 'after'],
    );
  });

  // Found by an independent check: the assistant turn vanished and the user messages around it merged.
  it('an assistant answer given as audio only is a 400 naming its audio; with text, the text goes', () => {
    const audio = { role: 'assistant', content: null, audio: { id: 'audio_1' } } as ChatCompletionMessageParam;
    assert.throws(
      () => toMessages([{ role: 'user', content: 'say hi' }, audio, { role: 'user', content: 'again' }]),
      (e: GatewayError) => e.status === 400 && e.param === 'messages[1].audio' && e.code === 'unsupported_parameter',
    );
    const spoken = { ...audio, content: 'hi' } as ChatCompletionMessageParam;
    assert.deepEqual(toMessages([{ role: 'user', content: 'say hi' }, spoken]).messages[1], {
      role: 'assistant',
      content: [{ type: 'text', text: 'hi' }],
    });
  });
});

describe('Anthropic request: stop', () => {
  const sent = (stop: ChatCompletionCreateParams['stop']) =>
    toMessagesRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], stop }, 'up', deployment).stop_sequences;

  // Found by an independent check: both went to Anthropic, which refuses them.
  it('empty stop strings are left out (they stop at nothing); one of whitespace only is a 400 naming stop', () => {
    assert.deepEqual(sent(['', 'END']), ['END']);
    assert.equal(sent(''), undefined);
    assert.equal(sent(['']), undefined);
    assert.deepEqual(sent([' a ', '\n\nHuman:']), [' a ', '\n\nHuman:']);
    for (const stop of ['\n', ['END', ' \t']]) {
      assert.throws(
        () => sent(stop),
        (e: GatewayError) => e.status === 400 && e.param === 'stop',
      );
    }
  });
});

describe('Anthropic request: tool_choice', () => {
  const tools = [{ type: 'function' as const, function: { name: 'f' } }];
  const table: [string, Partial<ChatCompletionCreateParams>, unknown][] = [
    ['unset', {}, undefined],
    ['auto', { tool_choice: 'auto' }, { type: 'auto' }],
    ['none', { tool_choice: 'none' }, { type: 'none' }],
    ['required', { tool_choice: 'required' }, { type: 'any' }],
    ['named', { tool_choice: { type: 'function', function: { name: 'f' } } }, { type: 'tool', name: 'f' }],
    ['parallel off', { parallel_tool_calls: false }, { type: 'auto', disable_parallel_tool_use: true }],
    [
      'named, parallel off',
      { tool_choice: { type: 'function', function: { name: 'f' } }, parallel_tool_calls: false },
      { type: 'tool', name: 'f', disable_parallel_tool_use: true },
    ],
    ['none, parallel off', { tool_choice: 'none', parallel_tool_calls: false }, { type: 'none' }],
  ];
  for (const [name, params, expected] of table) {
    it(`${name} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(toToolChoice(planTools({ model: 'm', messages: [], tools, ...params } as ChatCompletionCreateParams)), expected);
    });
  }

  it('a tool schema without type gets type object; another root type is refused', () => {
    const body = toMessagesRequest(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: { properties: { a: { type: 'string' } } } } }],
      },
      'up',
      deployment,
    );
    assert.deepEqual(body.tools, [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 'string' } } } }]);
    assert.throws(() =>
      toMessagesRequest(
        {
          model: 'm',
          messages: [{ role: 'user', content: 'x' }],
          tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'array' } } }],
        },
        'up',
        deployment,
      ),
    );
  });

  // Found by an independent check: max_tokens 4000 and high effort sent budget_tokens 3999, a token left for the answer.
  it('budget thinking takes at most half of max_tokens, at least 1024; with no room, no thinking (not a 400)', () => {
    const budget = Object.assign(new DeploymentConfig(), { thinking: 'budget' });
    const sent = (max_tokens: number, reasoning_effort: ChatCompletionCreateParams['reasoning_effort']) =>
      toMessagesRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort, max_tokens }, 'up', budget).thinking;
    assert.deepEqual(sent(4000, 'high'), { type: 'enabled', budget_tokens: 2000, display: 'summarized' });
    assert.deepEqual(sent(50_000, 'low'), { type: 'enabled', budget_tokens: 2048, display: 'summarized' });
    assert.deepEqual(sent(2048, 'max'), { type: 'enabled', budget_tokens: 1024, display: 'summarized' });
    assert.equal(sent(2047, 'high'), undefined);
    assert.equal(sent(1000, 'minimal'), undefined);
    assert.deepEqual(
      toMessagesRequest(
        { model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'minimal', max_tokens: 50_000 },
        'up',
        budget,
      ).thinking,
      { type: 'enabled', budget_tokens: 1024, display: 'summarized' },
    );
  });
});

describe('Anthropic response', () => {
  // Each stop reason is checked through the SDK in the e2e suite; here, what has no row.
  it('a missing or unknown stop_reason is a plain stop', () => {
    assert.equal(finishReason(null), 'stop');
    assert.equal(finishReason('brand_new_reason' as Anthropic.StopReason), 'stop');
    assert.equal(finishReason('tool_use'), 'tool_calls');
  });

  const usages: [string, Parameters<typeof usageFrom>[0], object][] = [
    [
      'plain',
      { input_tokens: 10, output_tokens: 5 },
      {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    ],
    [
      'cache reads and writes count as prompt',
      { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
      {
        prompt_tokens: 130,
        completion_tokens: 5,
        total_tokens: 135,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    ],
    [
      // Anthropic bills 1-hour cache writes dearer (costOf): the gateway keeps their count, OpenAI has no field for it.
      'writes to the 1-hour cache are kept apart',
      {
        input_tokens: 10,
        output_tokens: 5,
        cache_creation_input_tokens: 50,
        cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 },
      },
      { ...usageOf(60, 5, 0, 0), prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 50 }, cache_write_1h_tokens: 30 },
    ],
    [
      'thinking tokens are reasoning tokens',
      { input_tokens: 1, output_tokens: 50, output_tokens_details: { thinking_tokens: 30 } },
      {
        prompt_tokens: 1,
        completion_tokens: 50,
        total_tokens: 51,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 30 },
      },
    ],
  ];
  for (const [name, usage, expected] of usages) it(`usage: ${name}`, () => assert.deepEqual(usageFrom(usage), expected));

  // Found by an independent check (recheck25): billed as estimated, such counts still reached the client as they came.
  it('usage with a count that is no count (negative, fractional, a string) is none: the answer goes without it', () => {
    for (const usage of [
      { input_tokens: 12, output_tokens: -5 },
      { input_tokens: 12.5, output_tokens: 5 },
      { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: -1 },
      { input_tokens: '12', output_tokens: 5 },
      // No input count: it summed to a prompt of 0 (`null + 0 + 0`), billed as 0 prompt tokens.
      { input_tokens: null, output_tokens: 5 },
      { input_tokens: null, output_tokens: null, cache_read_input_tokens: 30 },
      { output_tokens: 5 },
    ])
      assert.equal(usageFrom(usage as unknown as Parameters<typeof usageFrom>[0]), undefined, JSON.stringify(usage));
  });

  // Found by an independent check: fast mode and the priority tier were billed at the standard price.
  it('the tier that served an answer, as price.tiers names it: fast for fast mode, whatever its capacity, else its service_tier', () => {
    const counts = { input_tokens: 1, output_tokens: 2 };
    assert.equal(servedTier({ ...counts, service_tier: 'priority', speed: 'fast' }), 'fast');
    assert.equal(servedTier({ ...counts, service_tier: 'priority', speed: 'standard' }), 'priority');
    assert.equal(servedTier({ ...counts, service_tier: 'batch', speed: null }), 'batch');
    assert.equal(servedTier(counts), undefined);
    assert.equal(servedTier(undefined), undefined);
  });

  it('clients get OpenAI usage only: neither the 1-hour cache writes nor the web searches the gateway keeps for the price', () => {
    const kept = usageFrom({
      input_tokens: 1,
      output_tokens: 2,
      cache_creation_input_tokens: 3,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 3 },
      server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 },
    });
    const sent = JSON.parse(completionJson('m', 'x', [], kept)).usage;
    assert.deepEqual(sent, { ...usageOf(4, 2, 0, 0), prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 3 } });
    assert.deepEqual(JSON.parse(new ChunkFrames('p', 'm', 'x', true).usage(kept)[0]!.slice(6)).usage, sent);
  });

  // Found: a compatible server's usage without output_tokens reached chat and Responses clients without
  // completion_tokens and total_tokens, which the OpenAI SDK types as numbers.
  it('usage without an output count is kept for the bill, and shown to no client (whole usage or none)', () => {
    const partial = usageFrom({ input_tokens: 500 } as Parameters<typeof usageFrom>[0]);
    assert.equal(partial?.prompt_tokens, 500);
    assert.equal('completion_tokens' in partial! || 'total_tokens' in partial!, false);
    assert.equal('usage' in JSON.parse(completionJson('m', 'x', [], partial)), false);
    assert.deepEqual(new ChunkFrames('p', 'm', 'x', true).usage(partial), []);
  });

  it('a message becomes a choice: text, tool calls, thinking (exposed only on request), refusal', () => {
    const message = {
      id: 'm',
      model: 'x',
      stop_reason: 'refusal',
      stop_details: { type: 'refusal', category: null, explanation: null },
      content: [
        { type: 'thinking', thinking: 'hm', signature: 's' },
        { type: 'redacted_thinking', data: 'enc' },
        { type: 'text', text: 'a' },
        { type: 'tool_use', id: 't', name: 'f', input: { q: 1 } },
        { type: 'text', text: 'b' },
      ],
    } as unknown as Anthropic.Message;
    const hidden = choiceFrom(message, false);
    assert.equal(hidden.text, 'ab');
    assert.equal(hidden.reasoning, undefined);
    assert.deepEqual(hidden.toolCalls, [{ id: 't', name: 'f', arguments: '{"q":1}' }]);
    assert.deepEqual(hidden.thinkingBlocks, [
      { type: 'thinking', thinking: 'hm', signature: 's' },
      { type: 'redacted_thinking', data: 'enc' },
    ]);
    assert.equal(hidden.finishReason, 'content_filter');
    assert.equal(hidden.refusal, 'The model declined to answer this request.');
    assert.equal(choiceFrom(message, true).reasoning, 'hm');
  });
});

describe('Anthropic errors', () => {
  const headers = (h: Record<string, string> = {}) => new Headers(h);
  const body = (type: string) => ({ type: 'error', error: { type, message: `says ${type}` } });
  // [what the SDK threw, status, type, code, retryable]
  const table: [string, unknown, number, string, string | null, boolean][] = [
    [
      '400 invalid_request_error',
      new APIError(400, body('invalid_request_error'), undefined, headers()),
      400,
      'invalid_request_error',
      null,
      false,
    ],
    [
      '401 authentication_error',
      new APIError(401, body('authentication_error'), undefined, headers()),
      502,
      'upstream_error',
      'upstream_auth_failed',
      false,
    ],
    [
      '402 billing_error',
      new APIError(402, body('billing_error'), undefined, headers()),
      502,
      'upstream_error',
      'upstream_quota_exceeded',
      false,
    ],
    [
      '403 permission_error',
      new APIError(403, body('permission_error'), undefined, headers()),
      502,
      'upstream_error',
      'upstream_permission_denied',
      false,
    ],
    [
      '404 not_found_error',
      new APIError(404, body('not_found_error'), undefined, headers()),
      502,
      'upstream_error',
      'upstream_not_found',
      false,
    ],
    [
      '413 request_too_large',
      new APIError(413, body('request_too_large'), undefined, headers()),
      413,
      'invalid_request_error',
      'request_too_large',
      false,
    ],
    [
      '429 rate_limit_error',
      new APIError(429, body('rate_limit_error'), undefined, headers({ 'retry-after': '30' })),
      429,
      'rate_limit_error',
      'rate_limit_exceeded',
      true,
    ],
    ['500 api_error', new APIError(500, body('api_error'), undefined, headers()), 502, 'upstream_error', 'upstream_error', true],
    [
      '529 overloaded_error',
      new APIError(529, body('overloaded_error'), undefined, headers()),
      503,
      'upstream_error',
      'upstream_overloaded',
      true,
    ],
    ['504 timeout_error', new APIError(504, body('timeout_error'), undefined, headers()), 504, 'timeout_error', 'upstream_timeout', true],
    // Found by an independent check: a 503 whose body says rate limit (a proxy's) was a 429; an OpenAI-format one's is overloaded.
    [
      '503 rate_limit_error',
      new APIError(503, body('rate_limit_error'), undefined, headers()),
      503,
      'upstream_error',
      'upstream_overloaded',
      true,
    ],
    [
      '529 invalid_request_error',
      new APIError(529, body('invalid_request_error'), undefined, headers()),
      503,
      'upstream_error',
      'upstream_overloaded',
      true,
    ],
    [
      'stream error event (no status)',
      new APIError(undefined, body('overloaded_error'), undefined, headers(), 'overloaded_error'),
      503,
      'upstream_error',
      'upstream_overloaded',
      true,
    ],
    [
      'an unknown 4xx',
      new APIError(418, { type: 'error', error: { type: 'teapot', message: 'x' } }, undefined, headers()),
      502,
      'upstream_error',
      'upstream_error',
      false,
    ],
    ['an unknown 5xx', new APIError(599, {}, undefined, headers()), 502, 'upstream_error', 'upstream_error', true],
    [
      'a refused connection',
      new APIConnectionError({
        cause: Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
      }),
      502,
      'upstream_error',
      'upstream_unreachable',
      true,
    ],
    ['the SDK timeout', new APIConnectionTimeoutError(), 504, 'timeout_error', 'upstream_timeout', true],
    // Found by an independent check: both read "Could not reach provider" and counted against the deployment as unreachable.
    ['a body that is not JSON', new SyntaxError('Unexpected token < in JSON'), 502, 'upstream_error', 'upstream_invalid_response', true],
    [
      'the SDK refusing the request before sending it',
      new AnthropicError('Streaming is required'),
      500,
      'server_error',
      'internal_error',
      false,
    ],
  ];
  for (const [name, thrownErr, status, type, code, retryable] of table) {
    it(`${name} -> ${status} ${code ?? type}`, () => {
      const err = fromAnthropicError('claude', thrownErr, live);
      assert.deepEqual([err.status, err.type, err.code, err.retryable], [status, type, code, retryable]);
    });
  }

  it('keeps the vendor message for client errors and Retry-After for rate limits', () => {
    assert.equal(fromAnthropicError('claude', table[0][1], live).message, 'says invalid_request_error');
    assert.equal(fromAnthropicError('claude', table[6][1], live).headers['retry-after'], '30');
  });

  it('what the SDK refuses before sending is no outcome of the deployment (no breaker count, no failover)', () => {
    assert.equal(fromAnthropicError('claude', new AnthropicError('Streaming is required'), live).upstreamStatus, undefined);
  });

  it('an abort is the client going away (or the deadline), never an upstream error', () => {
    const ac = new AbortController();
    ac.abort();
    assert.equal(fromAnthropicError('claude', new APIConnectionError({ message: 'aborted' }), ac.signal).status, 499);
  });
});

describe('Anthropic stream translation', () => {
  type Event = Anthropic.RawMessageStreamEvent;
  const start = (usage = { input_tokens: 9, output_tokens: 1 }) =>
    ({ type: 'message_start', message: { id: 'msg_1', model: 'claude-x', usage } }) as unknown as Event;
  const stop = (reason: string, output = 20) =>
    [
      {
        type: 'message_delta',
        delta: { stop_reason: reason, stop_sequence: null, stop_details: null },
        usage: { output_tokens: output, input_tokens: null },
      },
      { type: 'message_stop' },
    ] as unknown as Event[];

  async function run(events: Event[], options = { exposeReasoning: false, includeUsage: true }) {
    const { frames: all, usage } = await translated(translateEvents({ provider: 'claude', ...options }), events);
    const done = all.at(-1) === 'data: [DONE]\n\n';
    const frames = all
      .filter((frame) => frame !== 'data: [DONE]\n\n')
      .map((frame) => JSON.parse(frame.slice(6)) as Record<string, unknown>);
    return { frames, done, usage };
  }

  it('reassembles tool arguments split across many input_json_delta events, for parallel calls', async () => {
    const args = [{ city: 'Paris', days: [1, 2] }, { zone: 'UTC' }];
    const events: Event[] = [start()];
    args.forEach((input, i) => {
      events.push({
        type: 'content_block_start',
        index: i,
        content_block: { type: 'tool_use', id: `t${i}`, name: `f${i}`, input: {} },
      } as unknown as Event);
      const json = JSON.stringify(input);
      for (let c = 0; c < json.length; c += 2)
        events.push({
          type: 'content_block_delta',
          index: i,
          delta: { type: 'input_json_delta', partial_json: json.slice(c, c + 2) },
        } as Event);
      events.push({ type: 'content_block_stop', index: i } as Event);
    });
    events.push(...stop('tool_use'));
    const { frames, done } = await run(events);
    assert.ok(done);
    const calls: { id?: string; name: string; args: string }[] = [];
    for (const frame of frames) {
      const delta = (
        frame.choices as { delta: { tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] } }[]
      )[0]?.delta;
      for (const call of delta?.tool_calls ?? []) {
        calls[call.index] ??= { name: '', args: '' };
        calls[call.index].id ??= call.id;
        calls[call.index].name += call.function?.name ?? '';
        calls[call.index].args += call.function?.arguments ?? '';
      }
    }
    assert.deepEqual(
      calls.map((c) => [c.id, c.name, JSON.parse(c.args)]),
      [
        ['t0', 'f0', args[0]],
        ['t1', 'f1', args[1]],
      ],
    );
    assert.equal((frames.at(-2)!.choices as { finish_reason: string }[])[0].finish_reason, 'tool_calls');
  });

  it('starts with the role, keeps one id, ends with finish and usage merged from message_delta', async () => {
    const events = [
      start({
        input_tokens: 9,
        output_tokens: 1,
        cache_read_input_tokens: 3,
        cache_creation_input_tokens: 5,
        cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 4 },
      } as never),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
      { type: 'content_block_stop', index: 0 },
      ...stop('max_tokens', 42),
    ] as unknown as Event[];
    const { frames, usage } = await run(events);
    assert.ok(frames.every((f) => f.id === 'msg_1'));
    assert.deepEqual((frames[0].choices as { delta: unknown }[])[0].delta, { role: 'assistant', content: '' });
    assert.equal(
      frames
        .slice(1, 3)
        .map((f) => (f.choices as { delta: { content: string } }[])[0].delta.content)
        .join(''),
      'Hello',
    );
    assert.equal((frames[3].choices as { finish_reason: string }[])[0].finish_reason, 'length');
    // message_delta's null cache fields leave message_start's, with its 5-minute/1-hour split.
    assert.deepEqual(usage, {
      ...usageOf(17, 42, 3, 0),
      prompt_tokens_details: { cached_tokens: 3, cache_write_tokens: 5 },
      cache_write_1h_tokens: 4,
    });
    assert.deepEqual(frames[4].choices, []);
  });

  it('thinking deltas become reasoning_content only when asked; the signed block is passed on', async () => {
    const events = [
      start(),
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'a' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'b' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } },
      { type: 'content_block_stop', index: 0 },
      ...stop('end_turn'),
    ] as unknown as Event[];
    const deltas = async (exposeReasoning: boolean) =>
      (await run(events, { exposeReasoning, includeUsage: false })).frames.map((f) => (f.choices as { delta: object }[])[0]?.delta);
    const shown = await deltas(true);
    assert.deepEqual(shown.slice(1, 4), [
      { reasoning_content: 'a' },
      { reasoning_content: 'b' },
      { thinking_blocks: [{ type: 'thinking', thinking: 'ab', signature: 'sig' }] },
    ]);
    const hidden = await deltas(false);
    assert.ok(!hidden.some((d) => d && 'reasoning_content' in d));
    assert.deepEqual(hidden[1], { thinking_blocks: [{ type: 'thinking', thinking: 'ab', signature: 'sig' }] });
  });

  // Found by an independent check: with its thinking omitted (`display: "omitted"`) a thinking block's one delta is
  // its signature, after all the thinking; the first chunk waited for it, so for minutes the client had no byte and
  // no keep-alive, and the attempt's timeout (attemptMs) cut a healthy answer.
  it('the role goes out with a thinking block`s start; an empty text block`s start still waits for its first delta', () => {
    const stepsOf = (events: Event[]) => {
      const frames = translateEvents({ provider: 'claude', exposeReasoning: false, includeUsage: false })({} as never);
      return events.map((event) =>
        (frames.step(event) as string[]).map((frame) => JSON.parse(frame.slice(6)) as { choices: { delta: object }[] }),
      );
    };
    const role = { role: 'assistant', content: '' };
    for (const block of [
      { type: 'thinking', thinking: '', signature: '' },
      { type: 'redacted_thinking', data: 'x' },
      { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} },
    ]) {
      const [opened, started] = stepsOf([start(), { type: 'content_block_start', index: 0, content_block: block } as unknown as Event]);
      assert.deepEqual(opened, []);
      assert.deepEqual(
        started.map((frame) => frame.choices[0].delta),
        [role],
        block.type,
      );
    }
    const text = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as unknown as Event;
    const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } } as unknown as Event;
    const [, held, first] = stepsOf([start(), text, delta]);
    assert.deepEqual(held, []);
    assert.deepEqual(
      first.map((frame) => frame.choices[0].delta),
      [role, { content: 'Hi' }],
    );
  });

  it('a stream that ends without message_stop is truncated', async () => {
    await assert.rejects(
      run([start(), { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'x' } } as unknown as Event]),
      (err: GatewayError) => err.code === 'upstream_stream_truncated',
    );
  });
  // Found by an independent check: on /v1/chat/completions a text_delta whose text is a number went out in the chunk
  // (or made the cache's collector throw: internal_error), a tool_use's name a list too; the Messages and Responses
  // codecs refused the same events, as the upstream's invalid answer naming the field.
  it('a value of the wrong type in what goes into a chunk is the upstream`s invalid answer, naming the field', async () => {
    const text = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as unknown as Event;
    const cases: [Event[], string][] = [
      [
        [text, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 12345 } } as unknown as Event],
        'choices[0].delta.content',
      ],
      [
        [
          {
            type: 'content_block_start',
            index: 0,
            content_block: { type: 'tool_use', id: 't1', name: ['x'], input: {} },
          } as unknown as Event,
        ],
        'choices[0].delta.tool_calls[0].function.name',
      ],
      [
        [
          {
            type: 'content_block_start',
            index: 0,
            content_block: { type: 'tool_use', id: 't1', name: 'f', input: {} },
          } as unknown as Event,
          { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: { a: 1 } } } as unknown as Event,
        ],
        'choices[0].delta.tool_calls[0].function.arguments',
      ],
    ];
    for (const [events, field] of cases)
      await assert.rejects(run([start(), ...events, ...stop('end_turn')]), (err: GatewayError) => {
        assert.equal(err.code, 'upstream_invalid_response');
        assert.equal(err.message, `Provider claude sent a chunk that is not a chat completion chunk (\`${field}\` is of the wrong type).`);
        return true;
      });
    const badId = {
      type: 'message_start',
      message: { id: 7, model: 'claude-x', usage: { input_tokens: 1, output_tokens: 1 } },
    } as unknown as Event;
    await assert.rejects(run([badId, text, ...stop('end_turn')]), (err: GatewayError) =>
      err.message.includes('(`id` is of the wrong type)'),
    );
    // The objects the translation reads: `delta: null` threw a TypeError, mapped as the SDK refusing the request (a 500).
    for (const [event, type, field] of [
      [{ type: 'content_block_delta', index: 0, delta: null }, 'content_block_delta', 'delta'],
      [{ type: 'content_block_start', index: 0, content_block: 'text' }, 'content_block_start', 'content_block'],
      [{ type: 'message_delta', delta: [], usage: { output_tokens: 1 } }, 'message_delta', 'delta'],
    ] as const)
      await assert.rejects(run([start(), text, event as unknown as Event, ...stop('end_turn')]), (err: GatewayError) => {
        assert.equal(err.code, 'upstream_invalid_response');
        assert.equal(err.message, `Provider claude sent a ${type} event that is not Anthropic's (\`${field}\` is of the wrong type).`);
        return true;
      });
  });
});
