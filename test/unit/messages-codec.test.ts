import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import type { ChatCompletion, ChatCompletionChunk } from '../../libs/providers/src/wire';
import { toMessagesRequest } from '../../libs/providers/src/anthropic/request';
import { usageOf } from '../../libs/providers/src/translation/completion';
import { toMessageStream } from '../../apps/gateway/src/messages/codec';
import { ANTHROPIC_ERRORS } from '../../apps/gateway/src/messages/errors';
import { toChatRequest } from '../../apps/gateway/src/messages/request';
import { anthropicUsage, toMessage } from '../../apps/gateway/src/messages/response';
import { MessageEvents } from '../../apps/gateway/src/messages/stream';
import type { AnthropicBlock, MessagesRequest } from '../../apps/gateway/src/messages/wire';

const SEED = 20261201;
const deployment = Object.assign(new DeploymentConfig(), { provider: 'p', model: 'm' });
const PNG = 'iVBORw0KGgo=';

function request(extra: Partial<MessagesRequest>): MessagesRequest {
  return { model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...extra };
}

function badRequest(fn: () => unknown, param: string | null) {
  assert.throws(fn, (err: unknown) => err instanceof GatewayError && err.status === 400 && err.param === param);
}

describe('Messages request -> chat params', () => {
  // Claude Code's per-session billing header block went to other vendors as the first line of the system prompt.
  it('Claude Code`s billing header block is left out of the chat params, the native body keeps it; nothing else is', () => {
    const billing = 'x-anthropic-billing-header: cc_version=2.1.332.a1b; cc_entrypoint=sdk-cli; cch=5f2e0;';
    const system = [
      { type: 'text' as const, text: billing },
      { type: 'text' as const, text: 'prompt' },
    ];
    const { chat, native } = toChatRequest(request({ system }));
    assert.deepEqual(chat.messages[0], { role: 'system', content: 'prompt' });
    assert.deepEqual(native.body.system, system);
    for (const first of [
      'x-anthropic-billing-header: cc_version=2.1.332.a1b; cc_entrypoint=cli',
      'x-anthropic-billing-header: cc_version=2.1.332.a1b; cc_entrypoint=cli;',
    ])
      assert.deepEqual(toChatRequest(request({ system: [{ type: 'text', text: first }, system[1]!] })).chat.messages[0], {
        role: 'system',
        content: 'prompt',
      });
    for (const kept of [
      `${billing}\nmore`,
      ` ${billing}`,
      `${billing}\n`,
      'x-anthropic-billing-header: cc_version=2.1.332.a1b;',
      'x-anthropic-billing-header:cc_version=2.1.332.a1b; cc_entrypoint=cli;',
    ])
      assert.deepEqual(
        toChatRequest(request({ system: [{ type: 'text', text: kept }, system[1]!] })).chat.messages[0],
        { role: 'system', content: `${kept}\n\nprompt` },
        JSON.stringify(kept),
      );
    // Only the first block; a system given as a string is the client's text, kept whole.
    assert.deepEqual(toChatRequest(request({ system: [system[1]!, system[0]!] })).chat.messages[0], {
      role: 'system',
      content: `prompt\n\n${billing}`,
    });
    assert.deepEqual(toChatRequest(request({ system: billing })).chat.messages[0], { role: 'system', content: billing });
    // The header alone: no system message at all.
    assert.equal(toChatRequest(request({ system: [system[0]!] })).chat.messages[0]?.role, 'user');
  });

  it('system blocks join into one system message; text, images and documents become parts', () => {
    const { chat } = toChatRequest(
      request({
        system: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
              { type: 'image', source: { type: 'url', url: 'https://x.test/a.jpg' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain doc' } },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(chat.messages, [
      { role: 'system', content: 'a\n\nb' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'look' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://x.test/a.jpg' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE', filename: 'document.pdf' } },
          { type: 'text', text: 'plain doc' },
        ],
      },
    ]);
  });

  it('tool_use becomes tool calls, tool_result tool messages ahead of the rest of the turn, tool images follow as the user, in order', () => {
    const { chat } = toChatRequest(
      request({
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 't', signature: 's' },
              { type: 'text', text: 'checking' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_1',
                content: [
                  { type: 'text', text: 'sunny' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
                ],
              },
              { type: 'text', text: 'and tomorrow?' },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(chat.messages.slice(1), [
      {
        role: 'assistant',
        content: 'checking',
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        thinking_blocks: [{ type: 'thinking', thinking: 't', signature: 's' }],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'text', text: 'and tomorrow?' },
        ],
      },
    ]);
  });

  // An assistant turn's text blocks reached OpenAI-format and Gemini deployments as one string ("logs.Nothing").
  it('an assistant turn`s text blocks stay separate parts, as the Responses path keeps them; one text stays a string', () => {
    const assistant = (content: AnthropicBlock[]) =>
      toChatRequest(
        request({
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', content },
            { role: 'user', content: 'ok' },
          ],
        }),
      ).chat.messages[1];
    const two = [
      { type: 'text', text: 'I checked the logs.' },
      { type: 'text', text: '' },
      { type: 'text', text: 'Nothing failed.' },
    ];
    assert.deepEqual(assistant(two), {
      role: 'assistant',
      content: [
        { type: 'text', text: 'I checked the logs.' },
        { type: 'text', text: 'Nothing failed.' },
      ],
    });
    assert.deepEqual(assistant([{ type: 'text', text: 'Done.' }]), { role: 'assistant', content: 'Done.' });
  });

  it('tool_reference blocks in a tool_result (tool search) name the loaded tool; elsewhere they are a 400', () => {
    const call = { role: 'assistant' as const, content: [{ type: 'tool_use', id: 'toolu_1', name: 'ToolSearch', input: {} }] };
    const result = (content: object[]) => ({ role: 'user' as const, content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content }] });
    const found = [
      { type: 'tool_reference', tool_name: 'CronList' },
      { type: 'tool_reference', tool_name: 'WebFetch' },
    ];
    const { chat } = toChatRequest(request({ messages: [{ role: 'user', content: 'q' }, call, result(found)] }));
    assert.deepEqual(chat.messages[2], { role: 'tool', tool_call_id: 'toolu_1', content: 'Tool loaded: CronList\nTool loaded: WebFetch' });
    badRequest(() => toChatRequest(request({ messages: [{ role: 'user', content: [found[0]] }] })), 'messages[0].content[0].type');
  });

  it('unsigned thinking (another vendor`s reasoning, as the gateway returned it) goes back as reasoning_content', () => {
    const { chat } = toChatRequest(
      request({
        messages: [
          { role: 'user', content: 'q' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'r1 ', signature: '' },
              { type: 'text', text: 'a' },
              { type: 'thinking', thinking: 'r2' },
            ],
          },
          { role: 'user', content: 'q2' },
        ],
      }),
    );
    assert.deepEqual(chat.messages[1], { role: 'assistant', content: 'a', reasoning_content: 'r1 r2' });
  });

  const tools = [{ name: 'f', input_schema: { type: 'object' } }];
  const choices: [MessagesRequest['tool_choice'], object][] = [
    [{ type: 'auto' }, { tool_choice: 'auto' }],
    [{ type: 'any' }, { tool_choice: 'required' }],
    [{ type: 'none' }, { tool_choice: 'none' }],
    [{ type: 'tool', name: 'f' }, { tool_choice: { type: 'function', function: { name: 'f' } } }],
    [
      { type: 'auto', disable_parallel_tool_use: true },
      { tool_choice: 'auto', parallel_tool_calls: false },
    ],
  ];
  for (const [choice, expected] of choices)
    it(`tool_choice ${JSON.stringify(choice)}`, () => {
      const { chat } = toChatRequest(request({ tools, tool_choice: choice }));
      assert.deepEqual(
        { tool_choice: chat.tool_choice, ...('parallel_tool_calls' in chat ? { parallel_tool_calls: chat.parallel_tool_calls } : {}) },
        expected,
      );
      assert.deepEqual(chat.tools, [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }]);
    });

  const thinking: [MessagesRequest['thinking'], string | undefined][] = [
    [{ type: 'enabled', budget_tokens: 1024 }, 'minimal'],
    [{ type: 'enabled', budget_tokens: 5000 }, 'low'],
    [{ type: 'enabled', budget_tokens: 8192 }, 'medium'],
    [{ type: 'enabled', budget_tokens: 200000 }, 'max'],
    [{ type: 'adaptive' }, 'high'],
    [{ type: 'disabled' }, undefined],
  ];
  for (const [config, effort] of thinking)
    it(`thinking ${JSON.stringify(config)} -> reasoning_effort ${effort}`, () => {
      assert.equal(toChatRequest(request({ thinking: config })).chat.reasoning_effort, effort);
    });

  it('adaptive thinking keeps output_config.effort; the sampling, stop, user and stream fields map', () => {
    const { chat } = toChatRequest(
      request({
        thinking: { type: 'adaptive' },
        output_config: { effort: 'low', format: { type: 'json_schema', schema: { type: 'object' } } },
        stop_sequences: ['END'],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 5,
        metadata: { user_id: 'u-1' },
        stream: true,
      }),
    );
    assert.equal(chat.reasoning_effort, 'low');
    assert.deepEqual(chat.response_format, {
      type: 'json_schema',
      json_schema: { name: 'output', schema: { type: 'object' }, strict: true },
    });
    assert.deepEqual(
      { stop: chat.stop, temperature: chat.temperature, top_p: chat.top_p, user: chat.user, max: chat.max_completion_tokens },
      { stop: ['END'], temperature: 0.5, top_p: 0.9, user: 'u-1', max: 100 },
    );
    assert.deepEqual([chat.stream, chat.stream_options], [true, { include_usage: true }]);
    assert.equal('top_k' in chat, false);
  });

  it('refuses what the chat path cannot honour, naming the field', () => {
    // Server-tool blocks belong to assistant turns (see the Anthropic-only tests below), not to the user's.
    badRequest(
      () => toChatRequest(request({ messages: [{ role: 'user', content: [{ type: 'web_search_tool_result', tool_use_id: 's' }] }] })),
      'messages[0].content[0].type',
    );
    badRequest(
      () => toChatRequest(request({ messages: [{ role: 'user', content: [{ type: 'citations_delta' }] }] })),
      'messages[0].content[0].type',
    );
    badRequest(
      () => toChatRequest(request({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'gcs', uri: 'g' } }] }] })),
      'messages[0].content[0].source.type',
    );
  });

  // Found by an independent check: an empty user turn was dropped (the model then saw a
  // conversation ending on the assistant), and a base64 image without data went upstream as
  // `data:undefined;base64,undefined`.
  it('top_k and a thinking budget, which the chat params lose, are handed to the cache key (keyExtras)', () => {
    assert.equal(toChatRequest(request({})).native.keyExtras, undefined);
    assert.deepEqual(toChatRequest(request({ top_k: 1 })).native.keyExtras, { top_k: 1 });
    const thinking = { type: 'enabled' as const, budget_tokens: 1500 };
    assert.deepEqual(toChatRequest(request({ max_tokens: 4000, thinking })).native.keyExtras, { thinking_budget: 1500 });
  });

  // Found by an independent check: a /v1/messages request with output_config.effort (no thinking) or an
  // anthropic-beta header, which an Anthropic deployment gets as sent, was served the answer a plain
  // request had stored.
  it('so is every other field an Anthropic deployment honours that may change the answer, and the betas named', () => {
    const extras = (extra: Partial<MessagesRequest>, beta?: string) => toChatRequest(request(extra), beta).native.keyExtras;
    assert.deepEqual(extras({ output_config: { effort: 'low' } }), { effort: 'low' });
    // Adaptive thinking carries the effort in the chat params (reasoning_effort), which the key holds.
    assert.equal(extras({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }), undefined);
    assert.equal(toChatRequest(request({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } })).chat.reasoning_effort, 'low');
    const shaping = { speed: 'fast', context_management: { edits: [] }, compaction: { enabled: true }, fallbacks: ['claude-x'] };
    assert.deepEqual(extras(shaping), shaping);
    assert.deepEqual(
      extras({ tools: [{ name: 'f', input_schema: { type: 'object' }, input_examples: [{ a: 1 }], cache_control: {} } as never] }),
      {
        tool_fields: [{ input_examples: [{ a: 1 }] }],
      },
    );
    assert.deepEqual(extras({}, 'context-1m-2025-08-07, interleaved-thinking-2025-05-14'), {
      betas: ['context-1m-2025-08-07', 'interleaved-thinking-2025-05-14'],
    });
    assert.deepEqual(
      extras({}, 'interleaved-thinking-2025-05-14,context-1m-2025-08-07'),
      extras({}, 'context-1m-2025-08-07, interleaved-thinking-2025-05-14'),
    );
    // What cannot change the answer stays out, so such requests still share entries with chat requests.
    const neutral = { cache_control: { type: 'ephemeral' }, service_tier: 'auto', inference_geo: 'us', metadata: { user_id: 'u1' } };
    assert.equal(extras(neutral), undefined);
    assert.equal(extras({}, '  '), undefined);
  });

  it('refuses empty content except on a final assistant turn, and a base64 source without its media type or data', () => {
    const turns = (last: 'user' | 'assistant', content: string | AnthropicBlock[]) =>
      request({
        messages: [
          { role: 'user', content: 'Say A' },
          { role: 'assistant', content: 'A' },
          ...(last === 'user'
            ? [{ role: 'user' as const, content }]
            : [
                { role: 'user' as const, content: 'go on' },
                { role: 'assistant' as const, content },
              ]),
        ],
      });
    badRequest(() => toChatRequest(turns('user', [])), 'messages[2].content');
    badRequest(() => toChatRequest(turns('user', '')), 'messages[2].content');
    badRequest(
      () =>
        toChatRequest(
          request({
            messages: [
              { role: 'assistant', content: [] },
              { role: 'user', content: 'x' },
            ],
          }),
        ),
      'messages[0].content',
    );
    assert.equal(toChatRequest(turns('assistant', [])).chat.messages.length, 4, 'a final empty assistant turn is allowed');
    const image = (source: object) => request({ messages: [{ role: 'user', content: [{ type: 'image', source }] }] });
    badRequest(() => toChatRequest(image({ type: 'base64' })), 'messages[0].content[0].source.media_type');
    badRequest(() => toChatRequest(image({ type: 'base64', media_type: 'image/png' })), 'messages[0].content[0].source.data');
    const ok = toChatRequest(image({ type: 'base64', media_type: 'image/png', data: 'iVBOR' })).chat.messages[0] as { content: unknown };
    assert.deepEqual(ok.content, [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }]);
  });
});

describe('Messages request: what only Anthropic`s API runs makes it Anthropic-only, not a 400', () => {
  const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 2 };
  const WEATHER = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };
  /** Anthropic's tool in the chat params: a function of its name taking any object. */
  const standIn = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });

  const toolCases: [string, NonNullable<MessagesRequest['tools']>, number, string[]][] = [
    ['a web_search server tool', [WEB_SEARCH], 0, ['web_search']],
    ['bash after a client tool', [WEATHER, { type: 'bash_20250124', name: 'bash' }], 1, ['get_weather', 'bash']],
    [
      'text_editor before web_search: the first one is named',
      [{ type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }, WEB_SEARCH],
      0,
      ['str_replace_based_edit_tool', 'web_search'],
    ],
    ['a toolset, which has no name', [{ type: 'computer_toolset_20260801' }], 0, ['computer_toolset_20260801']],
  ];
  for (const [what, tools, first, names] of toolCases)
    it(`${what}: marked at tools[${first}].type; a function of its name stands in; the body keeps the tools as sent`, () => {
      const body = request({ tools, tool_choice: { type: 'auto' } });
      const { chat, native } = toChatRequest(body);
      assert.equal(native.only?.param, `tools[${first}].type`);
      assert.ok(
        native.only.reason.startsWith(`tools[${first}].type '${tools[first].type}' is a tool Anthropic defines`),
        native.only.reason,
      );
      assert.deepEqual(native.body, body);
      assert.deepEqual(
        chat.tools,
        tools.map((t, i) => (t.type ? standIn(names[i]) : { type: 'function', function: { name: names[i], parameters: t.input_schema } })),
      );
    });

  // A prefill went to OpenAI-format deployments as history: they answered afresh, and the client joined that onto its prefix.
  it('a final assistant turn with content (a prefill) marks it at the turn; an empty one, or an earlier one, does not', () => {
    const turns = (last: MessagesRequest['messages'][number]['content']): MessagesRequest['messages'] => [
      { role: 'user', content: 'Give me a JSON object' },
      { role: 'assistant', content: last },
    ];
    for (const prefix of ['{"name":', [{ type: 'text', text: '{"name":' }]] as const) {
      const { native } = toChatRequest(request({ messages: turns(prefix as MessagesRequest['messages'][number]['content']) }));
      assert.equal(native.only?.param, 'messages[1]');
      assert.ok(native.only.reason.includes('(a prefill), which only an Anthropic deployment does'), native.only.reason);
    }
    for (const empty of ['', []] as const)
      assert.equal(
        toChatRequest(request({ messages: turns(empty as MessagesRequest['messages'][number]['content']) })).native.only,
        undefined,
      );
    const history = [...turns('Sure.'), { role: 'user' as const, content: 'thanks' }];
    assert.equal(toChatRequest(request({ messages: history })).native.only, undefined);
  });

  it('client tools (no type, or custom) are not Anthropic-only', () => {
    for (const tools of [[WEATHER], [{ ...WEATHER, type: 'custom' }]]) {
      const { chat, native } = toChatRequest(request({ tools }));
      assert.equal(native.only, undefined);
      assert.deepEqual(chat.tools, [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER.input_schema } }]);
    }
    assert.deepEqual(toChatRequest(request({})).native, { protocol: 'anthropic', body: request({}) });
  });

  const search = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'news' } };
  const results = {
    type: 'web_search_tool_result',
    tool_use_id: 'srvtoolu_1',
    content: [{ type: 'web_search_result', url: 'u', title: 't', encrypted_content: 'e' }],
  };
  const history = (assistant: AnthropicBlock[]): MessagesRequest['messages'] => [
    { role: 'user', content: 'news?' },
    { role: 'assistant', content: assistant },
    { role: 'user', content: 'more?' },
  ];

  it('server-tool history blocks mark it at the first one; in the chat params they are their JSON as assistant text', () => {
    const { chat, native } = toChatRequest(request({ messages: history([{ type: 'text', text: 'Searching. ' }, search, results]) }));
    assert.equal(native.only?.param, 'messages[1].content[1].type');
    assert.ok(native.only.reason.startsWith("messages[1].content[1].type 'server_tool_use' is a block Anthropic's server tools leave"));
    const texts = ['Searching. ', JSON.stringify(search), JSON.stringify(results)];
    assert.deepEqual(chat.messages[1], { role: 'assistant', content: texts.map((text) => ({ type: 'text', text })) });
    for (const type of [
      'web_fetch_tool_result',
      'code_execution_tool_result',
      'bash_code_execution_tool_result',
      'tool_search_tool_result',
    ])
      assert.equal(
        toChatRequest(request({ messages: history([{ type, tool_use_id: 's', content: {} }]) })).native.only?.param,
        'messages[1].content[0].type',
        type,
      );
  });

  // Found by an independent check: these were refused with a 400 even on a model served by Anthropic alone.
  it('content only Anthropic reads marks it at its block (user turns and tool results); in the chat params its JSON as text, a PDF a file', () => {
    const asText = (block: AnthropicBlock) => ({ type: 'text', text: JSON.stringify(block) });
    const cases: [AnthropicBlock, string, string, (block: AnthropicBlock) => object][] = [
      [
        { type: 'search_result', source: 'https://d.test/a', title: 'A', content: [{ type: 'text', text: 'fact' }] },
        '.type',
        'search_result',
        asText,
      ],
      [{ type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'chunk' }] } }, '.source.type', 'content', asText],
      // A PDF by URL or Files API id: a file part, so that routing gives it to a vision deployment (README, Routing).
      [
        { type: 'document', source: { type: 'url', url: 'https://d.test/report.pdf' } },
        '.source.type',
        'url',
        () => ({ type: 'file', file: { file_id: 'https://d.test/report.pdf' } }),
      ],
      [
        { type: 'document', source: { type: 'file', file_id: 'file_011' } },
        '.source.type',
        'file',
        () => ({ type: 'file', file: { file_id: 'file_011' } }),
      ],
      // Code execution with the Files API: a file for Anthropic's container (found by a check of Claude Code and the SDKs).
      [{ type: 'container_upload', file_id: 'file_013' }, '.type', 'container_upload', asText],
    ];
    for (const [block, at, value, part] of cases) {
      const { chat, native } = toChatRequest(request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, block] }] }));
      assert.equal(native.only?.param, `messages[0].content[1]${at}`);
      assert.ok(native.only.reason.startsWith(`messages[0].content[1]${at} '${value}' is `), native.only.reason);
      assert.ok(native.only.reason.endsWith(', which only an Anthropic deployment reads'), native.only.reason);
      assert.deepEqual(chat.messages[0].content, [{ type: 'text', text: 'see' }, part(block)]);
      const result = { type: 'tool_result', tool_use_id: 'toolu_1', content: [block] };
      const nested = toChatRequest(request({ messages: [{ role: 'user', content: [result] }] }));
      assert.equal(nested.native.only?.param, `messages[0].content[0].content[0]${at}`);
    }
    // A Files API image stays an image for routing (vision, its rate); a URL image is no Anthropic-only content.
    const file = { type: 'image', source: { type: 'file', file_id: 'file_012' } };
    const { chat, native } = toChatRequest(request({ messages: [{ role: 'user', content: [file] }] }));
    assert.equal(native.only?.param, 'messages[0].content[0].source.type');
    assert.deepEqual(chat.messages[0].content, [{ type: 'image_url', image_url: { url: 'file_012' } }]);
    const url = { type: 'image', source: { type: 'url', url: 'https://x.test/a.jpg' } };
    assert.equal(toChatRequest(request({ messages: [{ role: 'user', content: [url] }] })).native.only, undefined);
  });

  it('a declared server tool is named before the history it left', () => {
    const { native } = toChatRequest(request({ tools: [WEATHER, WEB_SEARCH], messages: history([search, results]) }));
    assert.equal(native.only?.param, 'tools[1].type');
  });

  it('a code-execution container (no beta header needed at the API version the adapter sends) marks it', () => {
    assert.equal(toChatRequest(request({ container: 'container_1' })).native.only?.param, 'container');
  });

  it('MCP servers Anthropic connects, and the blocks they leave, mark it', () => {
    assert.equal(toChatRequest(request({ mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] })).native.only?.param, 'mcp_servers');
    const used = { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'echo', server_name: 'x', input: {} };
    const result = { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: [{ type: 'text', text: 'ok' }] };
    assert.equal(toChatRequest(request({ messages: history([used, result]) })).native.only?.param, 'messages[1].content[0].type');
  });

  // Found by a check of the SDKs: `bogus` went to OpenAI as reasoning_effort (its 400) and was dropped for Gemini.
  it('an output_config.effort that is no effort level marks it at the field; the levels Anthropic types do not', () => {
    const { native } = toChatRequest(request({ thinking: { type: 'adaptive' }, output_config: { effort: 'bogus' } }));
    assert.equal(native.only?.param, 'output_config.effort');
    assert.match(native.only.reason, /^output_config.effort: 'bogus' is none of the effort levels low, medium, high, xhigh, max/);
    for (const effort of ['low', 'medium', 'high', 'xhigh', 'max'])
      assert.equal(toChatRequest(request({ output_config: { effort } })).native.only, undefined, effort);
  });

  // Found by a check of the SDKs: server-side compaction's block, which the client must send back, was a 400 on every later turn.
  it('a compaction block in an assistant turn marks it at the block; in the chat params its JSON as assistant text', () => {
    const compaction = { type: 'compaction', content: 'Summary of the conversation so far.' };
    const { chat, native } = toChatRequest(request({ messages: history([compaction, { type: 'text', text: 'Go on.' }]) }));
    assert.equal(native.only?.param, 'messages[1].content[0].type');
    assert.ok(native.only.reason.startsWith("messages[1].content[0].type 'compaction' is Anthropic's summary"), native.only.reason);
    assert.deepEqual(chat.messages[1], {
      role: 'assistant',
      content: [
        { type: 'text', text: JSON.stringify(compaction) },
        { type: 'text', text: 'Go on.' },
      ],
    });
  });

  it('web search tools bound the searches a budget holds: max_uses, else 5 for an unbounded one; other tools none', () => {
    const searches = (...tools: NonNullable<MessagesRequest['tools']>) => toChatRequest(request({ tools })).native.webSearches;
    assert.equal(searches(WEB_SEARCH), 2);
    assert.equal(searches({ type: 'web_search_20260209', name: 'web_search' }), 5, 'a later version, no max_uses');
    for (const max_uses of [0, -1, 2.5, '3', null]) assert.equal(searches({ ...WEB_SEARCH, max_uses }), 5, `max_uses ${max_uses}`);
    assert.equal(searches(WEB_SEARCH, { type: 'web_search_20260209', name: 'web_search_2', max_uses: 8 }), 10, 'each tool counts');
    assert.equal(searches({ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 3 }, WEATHER), undefined);
    assert.equal(toChatRequest(request({})).native.webSearches, undefined);
  });

  it('the client`s anthropic-beta header goes along as it is; one that is no list of beta names is a 400', () => {
    const betas = 'interleaved-thinking-2025-05-14, mcp-client-2025-04-04';
    assert.deepEqual(toChatRequest(request({}), betas).native.headers, { 'anthropic-beta': betas });
    assert.equal(toChatRequest(request({})).native.headers, undefined);
    for (const bad of ['a,,b', 'x\u0000y', 'beta; drop', 'a'.repeat(1025)]) badRequest(() => toChatRequest(request({}), bad), null);
  });

  // Found by an independent re-check: an empty `anthropic-beta:` was a 400; Anthropic reads it as no beta.
  it('an empty or blank anthropic-beta header is no header: nothing goes along, nothing is refused', () => {
    for (const blank of ['', ' ', '\t ']) assert.equal(toChatRequest(request({}), blank).native.headers, undefined, JSON.stringify(blank));
  });
});

/** Text Anthropic accepts in a block: not whitespace only (the adapter leaves such blocks out). */
const blockText = (maxLength?: number) => fc.string({ minLength: 1, maxLength }).filter((text) => text.trim() !== '');

/** A random valid conversation: alternating turns, every tool_use answered by a tool_result next turn. */
const conversation = fc
  .array(
    fc.record({
      text: blockText(20),
      calls: fc.array(
        fc.record({
          name: fc.constantFrom('get_weather', 'get_time'),
          input: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.oneof(fc.integer(), fc.string()), { noNullPrototype: true }),
        }),
        { maxLength: 3 },
      ),
      answer: blockText(20),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((rounds) => {
    const messages: MessagesRequest['messages'] = [{ role: 'user', content: [{ type: 'text', text: 'start' }] }];
    let id = 0;
    for (const round of rounds) {
      const uses = round.calls.map((c) => ({ type: 'tool_use', id: `toolu_${id++}`, name: c.name, input: c.input }));
      messages.push({ role: 'assistant', content: [{ type: 'text', text: round.text }, ...uses] });
      const results = uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: `result of ${u.id}` }));
      messages.push({ role: 'user', content: [...results, { type: 'text', text: round.answer }] });
    }
    return messages;
  });

describe('Messages request round trip through the Anthropic adapter', () => {
  it('toChatRequest then the adapter`s toMessagesRequest gives back the conversation (fast-check)', () => {
    fc.assert(
      fc.property(conversation, blockText(), (messages, system) => {
        const { chat } = toChatRequest(request({ system, messages }));
        const back = toMessagesRequest(chat, 'claude', deployment);
        assert.deepEqual(back.system, [{ type: 'text', text: system }]);
        const expected = messages.map((m) => ({
          role: m.role,
          content: (m.content as AnthropicBlock[]).map((b) => (b.type === 'tool_result' ? { ...b, content: String(b.content) } : b)),
        }));
        assert.deepEqual(back.messages, expected);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

function completion(message: Record<string, unknown>, finish: string, usage?: object): ChatCompletion {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 0,
    model: 'm',
    choices: [
      { index: 0, message: { role: 'assistant', content: null, refusal: null, ...message }, finish_reason: finish, logprobs: null },
    ],
    usage: usage ?? { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14, prompt_tokens_details: { cached_tokens: 3 } },
  } as ChatCompletion;
}

/** The upstream's invalid answer: a 502 the router may retry elsewhere. */
const invalid = (err: unknown) =>
  err instanceof GatewayError && err.status === 502 && err.code === 'upstream_invalid_response' && err.retryable;

describe('chat completion -> Messages API message', () => {
  it('text, tool calls and usage (cached tokens apart from fresh input)', () => {
    const message = toMessage(
      completion(
        { content: 'hi', tool_calls: [{ id: 'call.1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        'tool_calls',
      ),
      false,
    );
    // An id Anthropic cannot take is mapped to its characters, with a hash of the original.
    const id = (message.content[1] as unknown as { id: string }).id;
    assert.match(id, /^call_1_[A-Za-z0-9_-]{12}$/);
    assert.match(message.id, /^msg_[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(message, {
      id: message.id,
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [
        { type: 'text', text: 'hi' },
        { type: 'tool_use', id, name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 4, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 },
    });
  });

  // Found by an independent check: parsed as JS numbers, 1234567890123456789 came out as 1234567890123456800.
  it('tool arguments` integers beyond 2^53 keep their digits in the tool_use input', () => {
    const args = '{"user_id":1234567890123456789,"ids":[-1234567890123456789,2.5]}';
    const call = { id: 'call_1', type: 'function', function: { name: 'ban', arguments: args } };
    assert.ok(JSON.stringify(toMessage(completion({ tool_calls: [call] }, 'tool_calls'), false)).includes(`"input":${args}`));
  });

  it('cache writes (OpenAI `cache_write_tokens`) are cache_creation_input_tokens, apart from fresh input', () => {
    const usage = { ...usageOf(100, 4, 30, 0), prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 50 } };
    assert.deepEqual(anthropicUsage(usage), {
      input_tokens: 20,
      output_tokens: 4,
      cache_read_input_tokens: 30,
      cache_creation_input_tokens: 50,
    });
  });

  for (const [finish, stop] of [
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['function_call', 'tool_use'],
  ])
    it(`finish_reason ${finish} -> stop_reason ${stop}`, () =>
      assert.equal(toMessage(completion({ content: 'x' }, finish), false).stop_reason, stop));

  it('thinking only when asked: signed blocks as they were, other vendors` reasoning unsigned', () => {
    const signed = { type: 'thinking', thinking: 'hmm', signature: 'sig' };
    assert.deepEqual(toMessage(completion({ content: '42', thinking_blocks: [signed] }, 'stop'), true).content, [
      signed,
      { type: 'text', text: '42' },
    ]);
    assert.deepEqual(toMessage(completion({ content: '42', thinking_blocks: [signed] }, 'stop'), false).content, [
      { type: 'text', text: '42' },
    ]);
    assert.deepEqual(toMessage(completion({ content: '42', reasoning_content: 'r' }, 'stop'), true).content, [
      { type: 'thinking', thinking: 'r', signature: '' },
      { type: 'text', text: '42' },
    ]);
  });

  // Found by a check of Claude Code, which joins assistant messages sharing an id: an OpenAI-compatible
  // server repeating its ids (`msg_` + the upstream's id) merged two turns into one.
  it('every answer gets a fresh message id, created and streamed, whatever the upstream`s', () => {
    const ids = [toMessage(completion({ content: 'a' }, 'stop'), false).id, toMessage(completion({ content: 'b' }, 'stop'), false).id];
    for (let i = 0; i < 2; i++) {
      const start = new MessageEvents(false).push(chunk({ content: 'a' }))[0];
      ids.push(JSON.parse(start.split('\n')[1].slice(6)).message.id);
    }
    for (const id of ids) assert.match(id, /^msg_[A-Za-z0-9_-]{16}$/);
    assert.equal(new Set(ids).size, 4, ids.join());
  });

  const called = (args: string, finish: string) =>
    completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }] }, finish);

  it('tool arguments that are not a JSON object, not cut by the limit, are the upstream`s invalid answer (retryable)', () => {
    for (const args of ['[1', '[1,2]', '"x"', '{"a":'])
      for (const finish of ['tool_calls', 'stop']) assert.throws(() => toMessage(called(args, finish), false), invalid, args);
  });

  // Found by a hostile-input check: 5,000 levels parsed, then overflowed the stack where the answer was serialized (a 500).
  it('tool arguments nested past security.maxJsonDepth are the upstream`s invalid answer, not a 500', () => {
    const deep = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
    assert.throws(() => toMessage(called(deep, 'tool_calls'), false), invalid);
    const fits = '{"a":'.repeat(60) + '1' + '}'.repeat(60);
    assert.deepEqual((toMessage(called(fits, 'tool_calls'), false).content[0] as unknown as { input: unknown }).input, JSON.parse(fits));
  });

  // Found by a check of Claude Code: a call cut by max_tokens was a 500 (retried by the SDKs), not Anthropic's max_tokens answer.
  it('a call cut by the output limit (length): stop_reason max_tokens, its input its whole members (as the SDKs read a stream)', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['{"path":"/tmp/a","command":"ls -la /very/long/pa', { path: '/tmp/a' }],
      ['{"a":1,"b":', { a: 1 }],
      ['{"a":1,"ke', { a: 1 }],
      ['{"a":{"b":[1,2', { a: { b: [1] } }],
      ['{"a":true,"b":"x\\', { a: true }],
      ['{"a":tr', {}],
      ['[1,2', {}],
      ['', {}],
    ];
    for (const [args, input] of cases) {
      const message = toMessage(called(args, 'length'), false);
      assert.equal(message.stop_reason, 'max_tokens');
      assert.deepEqual(message.content[0].input, input, args);
    }
  });
});

type Segment =
  | { kind: 'text'; pieces: string[] }
  | { kind: 'reasoning'; pieces: string[] }
  | { kind: 'tool'; name: string; args: object; cuts: number[]; form: ToolForm };

/**
 * How an upstream fragments a tool call: id and name in the first fragment (OpenAI), both
 * repeated in every fragment, the name only in the second, or no id at all (some servers).
 */
type ToolForm = 'first' | 'repeated' | 'late-name' | 'no-id';

function chunk(delta: object, finish: string | null = null, usage?: object): ChatCompletionChunk {
  return {
    id: 'chatcmpl-s',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(usage ? { usage } : {}),
  } as ChatCompletionChunk;
}

/** OpenAI chunks for segments, tool arguments cut at the given points. */
function chunksFor(segments: Segment[]): ChatCompletionChunk[] {
  const out = [chunk({ role: 'assistant', content: '' })];
  let call = 0;
  for (const s of segments) {
    if (s.kind === 'text') for (const p of s.pieces) out.push(chunk({ content: p }));
    else if (s.kind === 'reasoning') for (const p of s.pieces) out.push(chunk({ reasoning_content: p }));
    else {
      const json = JSON.stringify(s.args);
      const cuts = [...new Set(s.cuts.map((c) => c % (json.length + 1)))].sort((a, b) => a - b);
      const pieces = [0, ...cuts].map((from, i, all) => json.slice(from, all[i + 1] ?? json.length));
      const id = s.form === 'no-id' ? {} : { id: `call_${call}` };
      const named = { function: { name: s.name, arguments: '' } };
      out.push(
        chunk({
          tool_calls: [{ index: call, ...id, type: 'function', ...(s.form === 'late-name' ? { function: { arguments: '' } } : named) }],
        }),
      );
      pieces.forEach((p, i) => {
        const again =
          s.form === 'repeated' || (s.form === 'late-name' && i === 0) ? { ...id, function: { name: s.name, arguments: p } } : {};
        out.push(chunk({ tool_calls: [{ index: call, function: { arguments: p }, ...again }] }));
      });
      call++;
    }
  }
  out.push(chunk({}, segments.some((s) => s.kind === 'tool') ? 'tool_calls' : 'stop'));
  out.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } } as ChatCompletionChunk);
  return out;
}

/** Parses the event stream, checks Anthropic's grammar and rebuilds the content blocks. */
function replay(frames: string[]) {
  const events = frames.map((f) => {
    const [eventLine, dataLine] = f.trimEnd().split('\n');
    const data = JSON.parse(dataLine.slice(6));
    assert.equal(eventLine, `event: ${data.type}`);
    return data;
  });
  assert.deepEqual(
    events.slice(0, 2).map((e) => e.type),
    ['message_start', 'ping'],
  );
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ['message_delta', 'message_stop'],
  );
  const blocks: Record<string, unknown>[] = [];
  let open: number | undefined;
  const json: string[] = [];
  for (const e of events.slice(2, -2)) {
    if (e.type === 'content_block_start') {
      assert.equal(open, undefined, 'blocks never overlap');
      assert.equal(e.index, blocks.length, 'indexes count up from 0');
      open = e.index;
      blocks.push({ ...e.content_block });
      json[e.index] = '';
    } else if (e.type === 'content_block_delta') {
      const b = blocks[e.index];
      assert.equal(e.index, open, 'deltas go to the open block');
      if (e.delta.type === 'text_delta') b.text += e.delta.text;
      else if (e.delta.type === 'thinking_delta') b.thinking += e.delta.thinking;
      else if (e.delta.type === 'input_json_delta') json[e.index] += e.delta.partial_json;
      else assert.fail(`unexpected delta ${e.delta.type}`);
    } else {
      assert.equal(e.type, 'content_block_stop');
      assert.equal(e.index, open);
      open = undefined;
    }
  }
  assert.equal(open, undefined);
  blocks.forEach((b, i) => b.type === 'tool_use' && (b.input = JSON.parse(json[i])));
  return { blocks, end: events.at(-2) };
}

/** What the blocks must be: consecutive segments of one kind merge into one block, empty text makes none. */
function expectedBlocks(segments: Segment[], thinking: boolean) {
  const blocks: Record<string, unknown>[] = [];
  let call = 0;
  for (const s of segments) {
    if (s.kind === 'tool') {
      blocks.push({ type: 'tool_use', id: s.form === 'no-id' ? 'generated' : `call_${call}`, name: s.name, input: s.args });
      call++;
      continue;
    }
    const text = s.pieces.join('');
    if (!text || (s.kind === 'reasoning' && !thinking)) continue;
    const type = s.kind === 'text' ? 'text' : 'thinking';
    const last = blocks.at(-1);
    if (last?.type === type) last[type === 'text' ? 'text' : 'thinking'] += text;
    else blocks.push(type === 'text' ? { type, text } : { type, thinking: text, signature: '' });
  }
  return blocks;
}

const segment: fc.Arbitrary<Segment> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), pieces: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('reasoning' as const),
    pieces: fc.array(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('tool' as const),
    name: fc.constantFrom('f', 'get_weather'),
    args: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()), {
      noNullPrototype: true,
    }),
    cuts: fc.array(fc.nat(40), { maxLength: 4 }),
    form: fc.constantFrom<ToolForm>('first', 'repeated', 'late-name', 'no-id'),
  }),
);

describe('chat chunks -> Anthropic event stream', () => {
  it('any chunk sequence gives a well-formed event sequence with the same content (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (segments, thinking) => {
        const events = new MessageEvents(thinking);
        const frames = chunksFor(segments).flatMap((c) => [...events.push(c)]);
        frames.push(...events.end('m'));
        const { blocks, end } = replay(frames);
        for (const b of blocks) if (typeof b.id === 'string' && /^toolu_[A-Za-z0-9_-]{16}$/.test(b.id)) b.id = 'generated';
        assert.deepEqual(blocks, expectedBlocks(segments, thinking));
        const hasTool = segments.some((s) => s.kind === 'tool');
        assert.deepEqual(end.delta, { stop_reason: hasTool ? 'tool_use' : 'end_turn', stop_sequence: null });
        assert.deepEqual(end.usage, { input_tokens: 9, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('tool arguments that are not a JSON object: streamed, the invalid answer`s error at the end unless the limit cut them', () => {
    const streamed = (args: string[], finish: string) => {
      const events = new MessageEvents(false);
      events.push(chunk({ tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: args[0] } }] }));
      for (const piece of args.slice(1)) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
      events.push(chunk({}, finish));
      return events.end('m');
    };
    assert.throws(() => streamed(['[1,', '2]'], 'tool_calls'), invalid);
    assert.throws(() => streamed(['{"a":', '"b'], 'stop'), invalid);
    const end = streamed(['{"a":', '"b'], 'length').map((f) => JSON.parse(f.split('\n')[1].slice(6)));
    assert.equal(end.find((e) => e.type === 'message_delta').delta.stop_reason, 'max_tokens');
    assert.doesNotThrow(() => streamed(['{"a":', '"b"}'], 'tool_calls'));
  });

  it('the Anthropic adapter`s signature (sent as the block ends) closes the thinking block with a signature_delta', () => {
    const events = new MessageEvents(true);
    const frames = [
      chunk({ reasoning_content: 'six times seven' }),
      chunk({ thinking_blocks: [{ type: 'thinking', thinking: 'six times seven', signature: 'sig' }] }),
      chunk({ content: '42' }),
      chunk({}, 'stop'),
    ].flatMap((c) => [...events.push(c)]);
    const types = frames.map((f) => JSON.parse(f.split('\n')[1].slice(6))).map((e) => e.delta?.type ?? e.type);
    assert.deepEqual(types, [
      'message_start',
      'ping',
      'content_block_start',
      'thinking_delta',
      'signature_delta',
      'content_block_stop',
      'content_block_start',
      'text_delta',
    ]);
  });

  // Found by an independent check: a call without an id crashed the non-streamed answer (500) and
  // was dropped when streamed; one without `type` was dropped from the non-streamed answer.
  it('a non-streamed tool call without id or type is still a tool_use block', () => {
    const completion = {
      id: 'chatcmpl-t',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
        },
      ],
    } as unknown as ChatCompletion;
    const message = toMessage(completion, false);
    assert.equal(message.content.length, 1);
    const block = message.content[0] as Record<string, unknown>;
    assert.match(String(block.id), /^toolu_[A-Za-z0-9_-]{16}$/);
    assert.deepEqual({ ...block, id: 'x' }, { type: 'tool_use', id: 'x', name: 'get_weather', input: { city: 'Paris' } });
    assert.equal(message.stop_reason, 'tool_use');
  });

  // Found by an independent check: fragments of parallel calls that an upstream interleaves went
  // to blocks already stopped.
  it('parallel tool calls whose fragments interleave: each block gets all of its own deltas, between its start and stop', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0, 1, 2), { minLength: 3, maxLength: 30 }), (order) => {
        const json = ['{"city":"Paris"}', '{"tz":"CET"}', '{}'];
        const sent = [0, 0, 0];
        const events = new MessageEvents(false);
        const frames = [chunk({ content: 'Let me check.' })].flatMap((c) => [...events.push(c)]);
        for (const call of [0, 1, 2]) {
          const opening = { index: call, id: `call_${call}`, type: 'function', function: { name: `f${call}`, arguments: '' } };
          frames.push(...events.push(chunk({ tool_calls: [opening] })));
        }
        for (const call of order) {
          const piece = json[call].slice(sent[call], sent[call] + 3);
          sent[call] += piece.length;
          frames.push(...events.push(chunk({ tool_calls: [{ index: call, function: { arguments: piece } }] })));
        }
        for (const call of [0, 1, 2]) {
          frames.push(...events.push(chunk({ tool_calls: [{ index: call, function: { arguments: json[call].slice(sent[call]) } }] })));
        }
        frames.push(...events.push(chunk({}, 'tool_calls')), ...events.end('m'));
        const { blocks } = replay(frames);
        assert.deepEqual(blocks, [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'call_0', name: 'f0', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_1', name: 'f1', input: { tz: 'CET' } },
          { type: 'tool_use', id: 'call_2', name: 'f2', input: {} },
        ]);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  // Found by an independent check: a vendor that stopped for a content filter after some text (Gemini
  // SAFETY) gave "partial" as JSON, and "partial" glued to the gateway's refusal note when streamed.
  for (const [name, content, refusal] of [
    ['text, then a refusal', 'partial', 'Gemini stopped the answer (SAFETY).'],
    ['a refusal alone', null, "I can't help with that."],
  ] as const)
    it(`${name}: the streamed blocks are the non-streamed ones`, () => {
      const events = new MessageEvents(false);
      const deltas = [
        { role: 'assistant', content: '' },
        ...(content ? [{ content }] : []),
        { refusal: refusal.slice(0, 9) },
        { refusal: refusal.slice(9) },
      ];
      const frames = [...deltas.map((d) => chunk(d)), chunk({}, 'content_filter')].flatMap((c) => events.push(c));
      frames.push(...events.end('m'));
      assert.deepEqual(replay(frames).blocks, toMessage(completion({ content, refusal }, 'content_filter'), false).content);
      assert.deepEqual(replay(frames).blocks, [{ type: 'text', text: content ?? refusal }]);
    });

  it('an empty chat stream still opens and closes the message', () => {
    const events = new MessageEvents(false);
    const types = [...events.end('m')].map((f) => f.split('\n')[0]);
    assert.deepEqual(types, ['event: message_start', 'event: ping', 'event: message_delta', 'event: message_stop']);
  });
  it('the stream codec sends the events of each upstream read in one write, and the closing ones in another', async () => {
    const reads = [
      [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' })],
      [chunk({}, 'stop'), chunk({}, null, { prompt_tokens: 9, completion_tokens: 5 })],
    ].map((chunks) => chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join(''));
    const frames = (async function* () {
      yield* [...reads, 'data: [DONE]\n\n'];
    })();
    const writes: string[] = [];
    for await (const write of toMessageStream({ frames }, { thinking: false }, 'm')) writes.push(String(write));
    const types = writes.map((w) =>
      w
        .split('\n\n')
        .filter(Boolean)
        .map((e) => e.slice('event: '.length, e.indexOf('\n'))),
    );
    // The second read makes no event (a finish reason and usage are kept for the end): no write.
    assert.deepEqual(types, [
      ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_delta'],
      ['content_block_stop', 'message_delta', 'message_stop'],
    ]);
  });
});

describe('errors in Anthropic`s shape', () => {
  const cases: [GatewayError, number, string][] = [
    [GatewayError.badRequest('bad'), 400, 'invalid_request_error'],
    [new GatewayError(401, 'no key', 'invalid_request_error', 'missing_api_key'), 401, 'authentication_error'],
    [new GatewayError(403, 'no', 'permission_error'), 403, 'permission_error'],
    [GatewayError.modelNotFound('x'), 404, 'not_found_error'],
    [new GatewayError(413, 'big', 'invalid_request_error', 'request_too_large'), 413, 'request_too_large'],
    [new GatewayError(415, 'type', 'invalid_request_error'), 400, 'invalid_request_error'],
    [new GatewayError(429, 'slow', 'rate_limit_error'), 429, 'rate_limit_error'],
    [new GatewayError(500, 'oops', 'server_error'), 500, 'api_error'],
    [new GatewayError(502, 'upstream', 'upstream_error'), 500, 'api_error'],
    [new GatewayError(503, 'none healthy', 'server_error'), 529, 'overloaded_error'],
    [new GatewayError(504, 'slow', 'timeout_error'), 504, 'timeout_error'],
  ];
  for (const [error, status, type] of cases)
    it(`${error.status} -> ${status} ${type}`, () => {
      assert.equal(ANTHROPIC_ERRORS.status(error), status);
      assert.deepEqual(ANTHROPIC_ERRORS.body(error, 'req-1'), {
        type: 'error',
        error: { type, message: error.message },
        request_id: 'req-1',
      });
      assert.equal(
        ANTHROPIC_ERRORS.streamFrame(error),
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message: error.message } })}\n\n`,
      );
    });
});
