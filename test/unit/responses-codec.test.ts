import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Response, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { ASSISTANT_MESSAGES_IN_A_ROW, ASSISTANT_TEXTS } from '../support/assistant-items';
import { thrown } from '../support/chat';
import { usageOf } from '../../libs/providers/src/translation/completion';
import { encodeChunks } from '../../apps/gateway/src/pipeline/chat-chunks';
import { decodeThinking, isResponseId, itemId, newResponseId, responseIdOfItem } from '../../apps/gateway/src/responses/ids';
import { callNames, type ResponsesRequest, toChatParams } from '../../apps/gateway/src/responses/request';
import { type ResponseContext, responseUsage, toResponse } from '../../apps/gateway/src/responses/response';
import { ResponseEventEncoder } from '../../apps/gateway/src/responses/stream';
import { ENTRY_OVERHEAD_BYTES } from '../../apps/gateway/src/stores/held-bytes';
import { MemoryBackend } from '../../apps/gateway/src/stores/memory-backend';

const req = (extra: Partial<ResponsesRequest> = {}): ResponsesRequest => ({ model: 'm', input: 'hi', ...extra });

describe('Responses request -> chat params', () => {
  // Found by an independent check: `max_tokens` was dropped silently (no cap on the answer).
  it('refuses Chat Completions parameters, as OpenAI does, naming them', () => {
    for (const key of ['max_tokens', 'stop', 'seed', 'messages', 'response_format']) {
      assert.throws(
        () => toChatParams({ ...req(), [key]: 3 } as ResponsesRequest),
        (err: GatewayError) => err.status === 400 && err.param === key && err.code === 'unknown_parameter',
      );
    }
  });

  it('string input and instructions become a system and a user message; settings map to their chat names; metadata stays here', () => {
    const params = toChatParams(
      req({
        instructions: 'be brief',
        max_output_tokens: 50,
        temperature: 0.3,
        top_p: 0.9,
        metadata: { a: 'b' },
        reasoning: { effort: 'low' },
        text: { verbosity: 'low' },
        user: 'u1',
      }),
    );
    assert.deepEqual(params, {
      model: 'm',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      max_completion_tokens: 50,
      temperature: 0.3,
      top_p: 0.9,
      // Not sent on: Chat Completions refuses `metadata` without `store` (found by an independent check).
      reasoning_effort: 'low',
      verbosity: 'low',
      user: 'u1',
    });
  });

  it('a tool round trip: function_call items join the assistant turn, outputs become tool messages', () => {
    const params = toChatParams(
      req({
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'weather?' }] },
          { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'think' }] },
          {
            type: 'message',
            role: 'assistant',
            id: 'msg_1',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Checking.', annotations: [] }],
          },
          { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call', call_id: 'c2', name: 'get_time', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
          { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'noon' }] },
        ],
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true, description: 'w' }],
        tool_choice: { type: 'function', name: 'get_weather' },
        parallel_tool_calls: false,
      }),
    );
    assert.deepEqual(params.messages, [
      { role: 'user', content: [{ type: 'text', text: 'weather?' }] },
      {
        role: 'assistant',
        content: 'Checking.',
        reasoning_content: 'think',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'noon' },
    ]);
    assert.deepEqual(params.tools, [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' }, strict: true, description: 'w' } },
    ]);
    assert.deepEqual(params.tool_choice, { type: 'function', function: { name: 'get_weather' } });
    assert.equal(params.parallel_tool_calls, false);
  });

  it('assistant texts in a row are separate text parts of the one assistant turn, its calls included', () => {
    const params = toChatParams(
      req({
        input: [
          ...ASSISTANT_MESSAGES_IN_A_ROW,
          { role: 'assistant', content: '' },
          { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
          { role: 'assistant', content: 'Third.' },
        ],
      }),
    );
    assert.deepEqual(params.messages, [
      { role: 'user', content: 'Q' },
      {
        role: 'assistant',
        content: [...ASSISTANT_TEXTS, 'Third.'].map((text) => ({ type: 'text', text })),
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
    ]);
  });

  it('text.format json_schema and json_object become response_format; stream asks for usage', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    const params = toChatParams(req({ stream: true, text: { format: { type: 'json_schema', name: 'out', schema, strict: true } } }));
    assert.deepEqual(params.response_format, { type: 'json_schema', json_schema: { name: 'out', schema, strict: true } });
    assert.deepEqual([params.stream, params.stream_options], [true, { include_usage: true }]);
    assert.deepEqual(toChatParams(req({ text: { format: { type: 'json_object' } } })).response_format, { type: 'json_object' });
    assert.equal(toChatParams(req({ text: { format: { type: 'text' } } })).response_format, undefined);
  });

  it('allowed_tools, images and files map to their chat forms', () => {
    const params = toChatParams(
      req({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
              { type: 'input_file', file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' },
            ],
          },
        ],
        tools: [{ type: 'function', name: 'f', parameters: null, strict: null }],
        tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'f' }] },
      }),
    );
    assert.deepEqual(params.messages[0].content, [
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' } },
    ]);
    assert.deepEqual(params.tool_choice, {
      type: 'allowed_tools',
      allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'f' } }] },
    });
  });

  it('namespace tools: each function becomes a chat tool, and calls to it come back named and namespaced', () => {
    const tools = [
      {
        type: 'namespace',
        name: 'agents',
        description: 'sub-agents',
        tools: [{ type: 'function', name: 'spawn', parameters: { type: 'object' } }],
      },
    ] as ResponsesRequest['tools'];
    const params = toChatParams(
      req({ tools, input: [{ type: 'function_call', call_id: 'c', name: 'spawn', namespace: 'agents', arguments: '{}' }] }),
    );
    assert.deepEqual(params.tools, [{ type: 'function', function: { name: 'agents__spawn', parameters: { type: 'object' } } }]);
    assert.equal((params.messages[0] as { tool_calls: { function: { name: string } }[] }).tool_calls[0].function.name, 'agents__spawn');
    const ctx: ResponseContext = {
      id: newResponseId(),
      createdAt: 1,
      request: req({ tools }),
      store: false,
      callNames: callNames(tools),
    };
    const r = toResponse(
      completionOf({
        reasoning: '',
        blocks: [],
        text: '',
        refusal: '',
        calls: [{ id: 'c', name: 'agents__spawn', args: '{}', form: 'first' }],
        finish: 'tool_calls',
      }),
      ctx,
    );
    assert.deepEqual(
      { ...r.output[0], id: undefined },
      { id: undefined, type: 'function_call', status: 'completed', call_id: 'c', name: 'spawn', namespace: 'agents', arguments: '{}' },
    );
  });

  it('previous turns come after the instructions and before the new input', () => {
    const params = toChatParams(req({ instructions: 'sys', input: 'again' }), [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'answer' },
    ]);
    assert.deepEqual(
      params.messages.map((m) => [m.role, m.content]),
      [
        ['system', 'sys'],
        ['user', 'first'],
        ['assistant', 'answer'],
        ['user', 'again'],
      ],
    );
  });

  // [what, request, param the 400 names]
  const refused: [string, Partial<ResponsesRequest>, string][] = [
    ['a hosted tool', { tools: [{ type: 'web_search' }] as never }, 'tools[0].type'],
    ['background', { background: true }, 'background'],
    ['conversation', { conversation: 'conv_1' }, 'conversation'],
    ['truncation auto', { truncation: 'auto' }, 'truncation'],
    ['an unknown item type', { input: [{ type: 'computer_call_output', call_id: 'x' }] as never }, 'input[0].type'],
    ['an unresolved item_reference', { input: [{ type: 'item_reference', id: 'x' }] as never }, 'input[0].type'],
    [
      'an image by file_id',
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f', detail: 'auto' }] }] },
      'input[0].content[0]',
    ],
    ['a hosted tool_choice', { tool_choice: { type: 'web_search_preview' } as never }, 'tool_choice.type'],
    ['a bad role', { input: [{ role: 'tool', content: 'x' }] as never }, 'input[0].role'],
    ['no input at all', { input: [] }, 'input'],
  ];
  for (const [what, extra, param] of refused) {
    it(`refuses ${what} with a 400 naming ${param}`, () => {
      const err = thrown(() => toChatParams(req(extra)));
      assert.equal(err.status, 400);
      assert.equal(err.param, param);
    });
  }

  it('accepts the parameters it documents as hints', () => {
    assert.doesNotThrow(() =>
      toChatParams(req({ include: ['reasoning.encrypted_content'], truncation: 'disabled', max_tool_calls: 3, store: true })),
    );
  });
});

describe('response ids', () => {
  it('item ids lead back to their response; foreign ids do not', () => {
    const id = newResponseId();
    assert.ok(isResponseId(id));
    assert.equal(responseIdOfItem(itemId(id, 'fc', 2)), id);
    for (const foreign of ['fc_abc', 'msg_68af_0', `${id}_0`, 'resp_x']) assert.equal(responseIdOfItem(foreign), undefined);
    assert.equal(isResponseId('resp_../../x'), false);
  });

  it('encrypted_content from elsewhere is ignored, ours round-trips', () => {
    assert.equal(decodeThinking('gAAAAABo-not-ours', 'p'), undefined);
    assert.equal(decodeThinking(Buffer.from('{"a":1}').toString('base64url'), 'p'), undefined);
  });

  // Found by a hostile-input check: JSON the gateway parses out of a request's strings had no depth bound; a block
  // with a deep field passed the block check and went on to the SDK's JSON.stringify, which overflowed the stack.
  it('encrypted_content nested deeper than the body may be is a 400 naming it', () => {
    const deep = `[{"type":"thinking","thinking":"t","x":${'['.repeat(5_000)}${']'.repeat(5_000)}}]`;
    assert.throws(
      () => decodeThinking(Buffer.from(deep).toString('base64url'), 'input[1].encrypted_content'),
      (e: GatewayError) => e.status === 400 && e.code === 'json_too_deep' && e.param === 'input[1].encrypted_content',
    );
  });
});

/** One model answer, as both a chat completion and any chunking of it. */
interface Answer {
  reasoning: string;
  blocks: unknown[];
  text: string;
  refusal: string;
  /** `form`: how the upstream fragments the call: name and id first (OpenAI), the name in a later fragment, or both repeated in every fragment. */
  calls: { id: string | undefined; name: string; args: string; form: 'first' | 'late-name' | 'repeated' }[];
  finish: 'stop' | 'length' | 'tool_calls' | 'content_filter';
}

const USAGE = usageOf(9, 4, 2, 1);

function completionOf(a: Answer): ChatCompletion {
  const message = {
    role: 'assistant',
    content: a.text || (a.calls.length ? null : ''),
    refusal: a.refusal || null,
    ...(a.calls.length
      ? { tool_calls: a.calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) }
      : {}),
    ...(a.reasoning || a.blocks.length ? { reasoning_content: a.reasoning } : {}),
    ...(a.blocks.length ? { thinking_blocks: a.blocks } : {}),
  };
  return {
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'up',
    choices: [{ index: 0, message, finish_reason: a.finish, logprobs: null }],
    usage: USAGE,
  } as ChatCompletion;
}

function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
  const out: string[] = [];
  let at = 0;
  for (const p of [...points, text.length]) {
    if (p > at) out.push(text.slice(at, p));
    at = Math.max(at, p);
  }
  return out;
}

function chunk(delta: object, finish: string | null = null): ChatCompletionChunk {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'up',
    choices: [{ index: 0, delta, finish_reason: finish }],
  } as ChatCompletionChunk;
}

function chunksOf(a: Answer, cuts: number[]): ChatCompletionChunk[] {
  return [chunk({ role: 'assistant', content: '' }), ...chunkSources(a, cuts).flat(), ...endOf(a)];
}

function endOf(a: Answer): ChatCompletionChunk[] {
  return [chunk({}, a.finish), { ...chunk({}), choices: [], usage: USAGE } as ChatCompletionChunk];
}

/** The chunks of each part of an answer, in order: reasoning, text, refusal, then each call's. */
function chunkSources(a: Answer, cuts: number[]): ChatCompletionChunk[][] {
  const reasoning = split(a.reasoning, cuts).map((piece) => chunk({ reasoning_content: piece }));
  if (a.blocks.length) reasoning.push(chunk({ thinking_blocks: a.blocks }));
  const sources = [
    reasoning,
    split(a.text, cuts).map((piece) => chunk({ content: piece })),
    split(a.refusal, cuts).map((piece) => chunk({ refusal: piece })),
  ];
  a.calls.forEach((c, index) => {
    const out: ChatCompletionChunk[] = [];
    sources.push(out);
    const [first = '', ...rest] = split(c.args, cuts);
    const late = c.form === 'late-name';
    const again = c.form === 'repeated';
    out.push(
      chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { ...(!late && { name: c.name }), arguments: first } }] }),
    );
    if (late) out.push(chunk({ tool_calls: [{ index, function: { name: c.name, arguments: '' } }] }));
    for (const piece of rest) {
      out.push(
        chunk({ tool_calls: [{ index, ...(again && { id: c.id }), function: { ...(again && { name: c.name }), arguments: piece } }] }),
      );
    }
  });
  return sources;
}

/** The sources' chunks interleaved as `picks` say, each source's own order kept. */
function interleaved(sources: ChatCompletionChunk[][], picks: number[]): ChatCompletionChunk[] {
  const queues = sources.map((source) => [...source]).filter((q) => q.length);
  const out: ChatCompletionChunk[] = [];
  for (let i = 0; queues.length; i++) {
    const at = (picks[i] ?? 0) % queues.length;
    out.push(queues[at].shift()!);
    if (!queues[at].length) queues.splice(at, 1);
  }
  return out;
}

/**
 * Checks that the events nest as OpenAI's do: an item is done before the next is added, a content
 * (or summary) part before the next part is added, and every other event is for the open item and part.
 */
function assertNested(events: ResponseStreamEvent[]): void {
  let item: number | undefined;
  let part: number | undefined;
  let summary: number | undefined;
  for (const e of events as (ResponseStreamEvent & { output_index?: number; content_index?: number; summary_index?: number })[]) {
    const where = `event ${e.sequence_number} (${e.type})`;
    if (e.type === 'response.output_item.added') {
      assert.equal(item, undefined, `${where}: item ${item} is not done`);
      item = e.output_index;
    } else if (e.output_index !== undefined) assert.equal(e.output_index, item, `${where}: not the open item`);
    if (e.type === 'response.output_item.done') {
      assert.deepEqual([part, summary], [undefined, undefined], `${where}: a part is not done`);
      item = undefined;
    }
    if (e.type === 'response.content_part.added') {
      assert.equal(part, undefined, `${where}: part ${part} is not done`);
      part = e.content_index;
    } else if (e.content_index !== undefined) assert.equal(e.content_index, part, `${where}: not the open part`);
    if (e.type === 'response.content_part.done') part = undefined;
    if (e.type === 'response.reasoning_summary_part.added') {
      assert.equal(summary, undefined, `${where}: summary part ${summary} is not done`);
      summary = e.summary_index;
    } else if (e.summary_index !== undefined) assert.equal(e.summary_index, summary, `${where}: not the open summary part`);
    if (e.type === 'response.reasoning_summary_part.done') summary = undefined;
  }
  assert.equal(item, undefined, 'an item is left open');
}

async function* iterate<T>(items: T[], failAt = -1): AsyncGenerator<T> {
  for (let i = 0; i < items.length; i++) {
    if (i === failAt) throw new GatewayError(503, 'upstream overloaded', 'upstream_error', 'upstream_overloaded');
    yield items[i];
  }
}

/** `value` as it reads once sent as JSON (undefined fields left out). */
const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * The events the encoder makes of `chunks` sent as SSE frames, the upstream failing before frame `failAt`
 * (the stream throws it, and writeSse ends the stream with the encoder's `failure`, as here).
 */
async function encode(ctx: ResponseContext, chunks: ChatCompletionChunk[], failAt = -1) {
  const frames = chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`);
  let stored: Response | undefined;
  let failure: GatewayError | undefined;
  const completed = async (response: Response) => {
    stored = response;
  };
  const encoder = new ResponseEventEncoder(ctx);
  const texts: string[] = [];
  try {
    for await (const text of encoder.encode({ frames: iterate(frames, failAt) }, completed)) texts.push(String(text));
  } catch (err) {
    failure = err as GatewayError;
    texts.push(await encoder.failure(failure));
  }
  assert.ok(texts.length <= frames.length + 1, `a write per frame at most, plus the end: ${texts.length} for ${frames.length} frames`);
  const events = texts
    .join('')
    .split('\n\n')
    .filter(Boolean)
    .map((text) => {
      const [name, data] = text.split('\n');
      const event = JSON.parse(data.slice('data: '.length)) as ResponseStreamEvent;
      assert.equal(name, `event: ${event.type}`);
      return event;
    });
  return { events, stored, failure };
}

/**
 * Rebuilds the output from the events the way a client does, checking on the way
 * that every delta lands on an item that was added and not yet done.
 */
function replay(events: ResponseStreamEvent[]): Response['output'] {
  const output: Record<string, unknown>[] = [];
  const finished = new Set<number>();
  const open = (i: number) => {
    assert.ok(output[i] && !finished.has(i), `event for output ${i} outside its item`);
    return output[i] as {
      content: { text?: string; refusal?: string }[];
      arguments: string;
      input: string;
      summary: { text: string }[];
    };
  };
  for (const e of events) {
    if (e.type === 'response.output_item.added') output[e.output_index] = structuredClone(e.item) as never;
    if (e.type === 'response.content_part.added') open(e.output_index).content[e.content_index] = structuredClone(e.part) as never;
    if (e.type === 'response.output_text.delta') open(e.output_index).content[e.content_index].text += e.delta;
    if (e.type === 'response.refusal.delta') open(e.output_index).content[e.content_index].refusal += e.delta;
    if (e.type === 'response.function_call_arguments.delta') open(e.output_index).arguments += e.delta;
    if (e.type === 'response.custom_tool_call_input.delta') open(e.output_index).input += e.delta;
    if (e.type === 'response.reasoning_summary_part.added') open(e.output_index).summary[e.summary_index] = structuredClone(e.part);
    if (e.type === 'response.reasoning_summary_text.delta') open(e.output_index).summary[e.summary_index].text += e.delta;
    if (e.type === 'response.output_item.done') {
      const built = { ...open(e.output_index), status: (e.item as { status?: string }).status } as Record<string, unknown>;
      const encrypted = (e.item as { encrypted_content?: string }).encrypted_content;
      if (encrypted) built.encrypted_content = encrypted;
      assert.deepEqual(JSON.parse(JSON.stringify(built)), JSON.parse(JSON.stringify(e.item)), 'output_item.done matches the deltas');
      output[e.output_index] = built;
      finished.add(e.output_index);
    }
  }
  return output as never;
}

const answer = fc.record({
  reasoning: fc.string({ maxLength: 30 }),
  blocks: fc.constantFrom([], [{ type: 'thinking', thinking: 'x', signature: 'sig' }]),
  text: fc.string({ maxLength: 60, unit: 'grapheme' }),
  refusal: fc.constantFrom('', 'I cannot.'),
  calls: fc.array(
    fc.oneof(
      fc.record({
        // Found by an independent check: a call an upstream gave no id (or an empty one) had no call_id when not streamed.
        id: fc.oneof(fc.stringMatching(/^call_[a-z0-9]{1,8}$/), fc.constantFrom(undefined, '')),
        name: fc.constantFrom('get_weather', 'get_time'),
        args: fc.json({ maxDepth: 2 }),
        // Found by an independent check: a name after the first fragment was lost ('late-name').
        form: fc.constantFrom('first' as const, 'late-name' as const, 'repeated' as const),
      }),
      // A custom tool's call (ctx: CUSTOM_TOOLS): its input streams as custom_tool_call_input deltas.
      fc.record({
        id: fc.stringMatching(/^call_[a-z0-9]{1,8}$/),
        name: fc.constant('apply_patch'),
        args: fc.string({ maxLength: 40, unit: 'grapheme' }).map((input) => JSON.stringify({ input })),
        form: fc.constantFrom('first' as const, 'late-name' as const, 'repeated' as const),
      }),
    ),
    {
      maxLength: 3,
    },
  ),
  finish: fc.constantFrom('stop', 'length', 'tool_calls', 'content_filter'),
}) as fc.Arbitrary<Answer>;

const CUSTOM_TOOLS = callNames([{ type: 'custom', name: 'apply_patch' }]);

describe('chat chunks -> Responses events', () => {
  it('any chunking of an answer streams the same output a non-streamed request returns, numbered 0..n-1', async () => {
    await fc.assert(
      fc.asyncProperty(answer, fc.array(fc.nat(80), { maxLength: 8 }), async (a, cuts) => {
        const ctx: ResponseContext = { id: newResponseId(), createdAt: 1, request: req(), store: false, callNames: CUSTOM_TOOLS };
        const { events, stored } = await encode(ctx, chunksOf(a, cuts));
        assert.deepEqual(
          events.map((e) => e.sequence_number),
          events.map((_, i) => i),
        );
        assert.deepEqual(
          events.slice(0, 2).map((e) => e.type),
          ['response.created', 'response.in_progress'],
        );
        const last = events[events.length - 1] as { type: string; response: Response };
        const expected = wire(toResponse(completionOf(a), ctx));
        assert.equal(last.type, expected.status === 'incomplete' ? 'response.incomplete' : 'response.completed');
        assert.deepEqual(last.response.output, expected.output);
        assert.deepEqual({ ...last.response, completed_at: 0 }, { ...expected, completed_at: 0 });
        assert.deepEqual(replay(events), expected.output);
        assert.deepEqual(wire(stored), last.response, 'the stored response is the one sent');
        for (const item of expected.output as { type: string; call_id?: string }[])
          if (item.type.endsWith('_call')) assert.ok(item.call_id, `a ${item.type} without call_id`);
        assertNested(events);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  // Found by an independent check: a parallel call was added before the call before it was done, and a
  // refusal part before the text part was done; OpenAI finishes one item (and part) before the next.
  it('however the upstream interleaves an answer`s parts (parallel calls, text after a call), items and parts nest, nothing is lost', async () => {
    await fc.assert(
      fc.asyncProperty(answer, fc.array(fc.nat(80), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 40 }), async (a, cuts, picks) => {
        a = { ...a, calls: a.calls.map((c, i) => ({ ...c, id: `call_${i}` })) };
        const ctx: ResponseContext = { id: newResponseId(), createdAt: 1, request: req(), store: false, callNames: CUSTOM_TOOLS };
        const chunks = [chunk({ role: 'assistant', content: '' }), ...interleaved(chunkSources(a, cuts), picks), ...endOf(a)];
        const { events } = await encode(ctx, chunks);
        assertNested(events);
        const last = events[events.length - 1] as { response: Response };
        const output = replay(events);
        assert.deepEqual(wire(last.response.output), wire(output));
        const all = (type: string, key: string) =>
          output.flatMap((o) =>
            ((o as { content?: Record<string, string>[] }).content ?? []).filter((p) => p.type === type).map((p) => p[key]),
          );
        assert.equal(all('output_text', 'text').join(''), a.text);
        assert.equal(all('refusal', 'refusal').join(''), a.refusal);
        const summaries = output.flatMap((o) => (o.type === 'reasoning' ? o.summary.map((p) => p.text) : []));
        assert.equal(summaries.join(''), a.reasoning);
        const calls = output.filter((o) => o.type === 'function_call' || o.type === 'custom_tool_call');
        assert.deepEqual(
          calls.map((c) => c.call_id).sort(),
          a.calls.map((c) => c.id),
        );
        for (const c of calls) {
          const sent = a.calls.find((x) => x.id === c.call_id)!;
          assert.equal(c.type === 'function_call' ? c.arguments : JSON.stringify({ input: c.input }), sent.args);
        }
      }),
      { seed: 21, numRuns: 300 },
    );
  });

  // Found by an independent check: text, refusal, then text again opened a third part whose
  // done event carried all the text, and the final item had two parts.
  it('text and refusal deltas that alternate each go to their own part; each done event carries its own text', async () => {
    const ctx: ResponseContext = { id: newResponseId(), createdAt: 1, request: req(), store: false };
    const { events } = await encode(ctx, [
      chunk({ content: 'Sure: ' }),
      chunk({ refusal: 'actually no' }),
      chunk({ content: ' ok fine' }),
      chunk({}, 'stop'),
    ]);
    const output = replay(events);
    const content = [
      { type: 'output_text', text: 'Sure:  ok fine', annotations: [], logprobs: [] },
      { type: 'refusal', refusal: 'actually no' },
    ];
    assert.deepEqual((output[0] as { content: unknown[] }).content, content);
    const done = events.filter((e) => e.type === 'response.output_text.done' || e.type === 'response.refusal.done');
    assert.deepEqual(
      done.map((e) => [e.content_index, (e as { text?: string }).text ?? (e as { refusal?: string }).refusal]),
      [
        [0, 'Sure:  ok fine'],
        [1, 'actually no'],
      ],
    );
  });

  it('reports the prompt tokens written to the cache (cache_write_tokens)', () => {
    const usage = { ...usageOf(100, 4, 30, 0), prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 50 } };
    assert.deepEqual(responseUsage(usage)?.input_tokens_details, { cached_tokens: 30, cache_write_tokens: 50 });
  });

  it('maps usage, finish reasons and thinking blocks', () => {
    const ctx: ResponseContext = { id: newResponseId(), createdAt: 1, request: req(), store: true };
    const blocks = [{ type: 'thinking', thinking: 'hmm', signature: 'sig' }];
    const r = toResponse(completionOf({ reasoning: 'hmm', blocks, text: 'cut', refusal: '', calls: [], finish: 'length' }), ctx);
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.deepEqual(r.usage, {
      input_tokens: 9,
      input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 13,
    });
    assert.deepEqual(
      r.output.map((i) => [i.type, i.id, (i as { status?: string }).status]),
      [
        ['reasoning', itemId(ctx.id, 'rs', 0), 'completed'],
        ['message', itemId(ctx.id, 'msg', 1), 'incomplete'],
      ],
    );
    assert.deepEqual(decodeThinking((r.output[0] as { encrypted_content?: string }).encrypted_content, 'p'), blocks);
    const params = toChatParams(req({ input: [r.output[0] as never, { role: 'user', content: 'go on' }] }));
    assert.deepEqual(params.messages[0], { role: 'assistant', content: null, reasoning_content: 'hmm', thinking_blocks: blocks });
  });

  // Found by an independent check: the failed response was not stored (GET gave 404), and its error code
  // (`upstream_overloaded`) was not one of the codes OpenAI documents for `response.error.code`.
  it('a failure after the stream began ends it with response.failed and an error event; the items so far are kept and stored', async () => {
    const ctx: ResponseContext = { id: newResponseId(), createdAt: 1, request: req(), store: false };
    const a: Answer = { reasoning: '', blocks: [], text: 'hello world', refusal: '', calls: [], finish: 'stop' };
    const { events, stored, failure } = await encode(ctx, chunksOf(a, [3, 6]), 3);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(-2), ['response.failed', 'error']);
    const failed = events[events.length - 2] as { response: Response };
    assert.equal(failed.response.status, 'failed');
    assert.deepEqual(failed.response.error, { code: 'server_error', message: 'upstream overloaded' });
    assert.equal((failed.response.output[0] as { content: { text: string }[] }).content[0].text, 'hello ');
    assert.deepEqual(events[events.length - 1], {
      type: 'error',
      code: 'upstream_overloaded',
      message: 'upstream overloaded',
      param: null,
      error: { type: 'upstream_error', code: 'upstream_overloaded', message: 'upstream overloaded', param: null },
      sequence_number: events.length - 1,
    });
    assert.deepEqual(wire(stored), failed.response, 'the failed response is stored (unless store: false, which the store callback checks)');
    assert.equal(failure?.code, 'upstream_overloaded', 'the failure reaches writeSse, which accounts it');
  });
});

describe('chat SSE frames -> a protocol`s events (encodeChunks)', () => {
  const frame = (content: string) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  /** Each chunk's content as a JSON line, and an end line: what each read of the frames made. */
  const encoder = {
    chunk: (chunk: ChatCompletionChunk) => [`${JSON.stringify(chunk.choices[0].delta.content ?? '')}\n`],
    end: () => ['"end"\n'],
  };
  const lines = (outputs: string[]) =>
    outputs.flatMap((o) =>
      o
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as string),
    );

  it('any split of the bytes (UTF-8 sequences and CRLF included) gives the same chunks, one output per read at most', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(400), { maxLength: 6 }),
        fc.boolean(),
        async (texts, cuts, crlf) => {
          const wire = (texts.map(frame).join('') + 'data: [DONE]\n\n').replace(/\n/g, crlf ? '\r\n' : '\n');
          const bytes = Buffer.from(wire);
          const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
          const parts = [0, ...points].map((start, i, all) => bytes.subarray(start, all[i + 1] ?? bytes.length));
          const outputs: string[] = [];
          for await (const output of encodeChunks(iterate(parts), encoder)) outputs.push(String(output));
          assert.deepEqual(lines(outputs), [...texts, 'end']);
          assert.ok(outputs.length <= parts.length + 1, `${outputs.length} outputs for ${parts.length} reads`);
        },
      ),
      { seed: 15, numRuns: 200 },
    );
  });

  it('the chunks of one read leave as one output', async () => {
    const outputs: string[] = [];
    for await (const output of encodeChunks(iterate([frame('a') + frame('b') + frame('c'), frame('d')]), encoder))
      outputs.push(String(output));
    assert.deepEqual(outputs, ['"a"\n"b"\n"c"\n', '"d"\n', '"end"\n']);
  });

  it('an error event inside the stream throws, after the chunks before it', async () => {
    const wire = [frame('a'), 'data: {"error":{"message":"overloaded","code":"server_overloaded"}}\n\n', frame('b')];
    const seen: string[] = [];
    const err = await (async () => {
      for await (const output of encodeChunks(iterate(wire), encoder)) seen.push(String(output));
    })().then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.deepEqual(lines(seen), ['a']);
    assert.ok(err instanceof GatewayError);
    assert.deepEqual([err.status, err.message, err.code], [502, 'overloaded', 'server_overloaded']);
  });
});

describe('in-process response store', () => {
  // An entry's cost: its JSON and key (`t1\0a`) at a byte a character, and its bookkeeping.
  const ENTRY = 10 + 4 + ENTRY_OVERHEAD_BYTES;

  it('is per tenant, expires, and evicts the least recently used beyond its memory', async () => {
    let now = 0;
    const store = new MemoryBackend(3 * ENTRY + 10, () => now);
    await store.put('t1', 'a', '0123456789', 10);
    await store.put('t1', 'b', '0123456789', 10);
    assert.equal(await store.get('t2', 'a'), undefined, 'another tenant does not see it');
    assert.equal(await store.get('t1', 'a'), '0123456789'); // a is now the most recently used
    await store.put('t1', 'c', '0123456789', 10);
    await store.put('t1', 'd', '0123456789', 10); // four entries do not fit: b goes first
    assert.equal(await store.get('t1', 'b'), undefined);
    assert.equal(await store.get('t1', 'a'), '0123456789');
    assert.equal(store.size, 3);
    assert.equal(await store.delete('t1', 'c'), true);
    assert.equal(await store.delete('t1', 'c'), false);
    now = 10_000;
    assert.equal(await store.get('t1', 'a'), undefined, 'expired');
    await store.put('t1', 'huge', 'x'.repeat(3 * ENTRY), 10);
    assert.equal(await store.get('t1', 'huge'), undefined, 'larger than the whole store: not kept');
  });

  // Found by an independent check: one global LRU, so one key storing large responses evicted another
  // key's small ones (whose continue then failed). Each key now keeps an even share, as message threads do.
  it('one tenant filling the store evicts its own entries, not another tenant`s holding less than an even share', async () => {
    const store = new MemoryBackend(4 * ENTRY + 10);
    await store.put('t2', 'a', '0123456789', 10);
    for (const id of ['b', 'c', 'd', 'e', 'f']) await store.put('t1', id, '0123456789', 10);
    assert.equal(await store.get('t2', 'a'), '0123456789', 'the quiet tenant keeps its entry');
    assert.deepEqual(
      await Promise.all(['b', 'c', 'd', 'e', 'f'].map((id) => store.get('t1', id))),
      [undefined, undefined, '0123456789', '0123456789', '0123456789'],
      'the busy tenant`s oldest went',
    );
    // Alone, a tenant may fill the store; a newcomer then takes its share back from it.
    await store.delete('t2', 'a');
    await store.put('t1', 'g', '0123456789', 10);
    assert.equal(store.size, 4);
    await store.put('t3', 'x', '0123456789', 10);
    assert.equal(await store.get('t3', 'x'), '0123456789');
    assert.equal(await store.get('t1', 'd'), undefined, 't1`s oldest made the room');
    // At most `maxEntries` entries, shared the same way.
    const counted = new MemoryBackend(1_000_000, Date.now, 2);
    await counted.put('t2', 'a', 'x', 10);
    for (const id of ['b', 'c', 'd']) await counted.put('t1', id, 'x', 10);
    assert.deepEqual([await counted.get('t2', 'a'), await counted.get('t1', 'c'), await counted.get('t1', 'd')], ['x', undefined, 'x']);
  });

  // Found by an independent check (state28): expired entries went only when read, so they counted against the
  // store's bounds and in their tenant's share, and a tenant's live entries were evicted in their stead.
  it('takes expired entries out before evicting a live one, and does not count them in a tenant`s share', async () => {
    let now = 0;
    const store = new MemoryBackend(3 * ENTRY + 10, () => now);
    await store.put('t2', 'a', '0123456789', 10);
    await store.put('t2', 'b', '0123456789', 10);
    now = 10_000; // t2's entries expired, unread
    for (const id of ['c', 'd', 'e']) await store.put('t1', id, '0123456789', 10);
    assert.deepEqual(
      await Promise.all(['c', 'd', 'e'].map((id) => store.get('t1', id))),
      ['0123456789', '0123456789', '0123456789'],
      'the room was the expired entries`',
    );
    assert.equal(store.size, 3);
    // The same for `maxEntries` (the kept reasoning state's bound).
    const counted = new MemoryBackend(1_000_000, () => now, 2);
    await counted.put('t2', 'a', 'x', 10);
    now = 20_000;
    for (const id of ['b', 'c']) await counted.put('t1', id, 'x', 10);
    assert.deepEqual([await counted.get('t1', 'b'), await counted.get('t1', 'c')], ['x', 'x']);
  });

  // Found by an independent check (state28): DELETE of an expired response answered deleted (GET was a 404).
  it('deleting an expired entry says it was not there', async () => {
    let now = 0;
    const store = new MemoryBackend(10 * ENTRY, () => now);
    await store.put('t1', 'a', '0123456789', 10);
    now = 10_000;
    assert.equal(await store.delete('t1', 'a'), false);
    assert.equal(store.size, 0);
  });

  // Found by an independent check: counted in characters, stores of text with one character beyond Latin-1
  // (which V8 then keeps at two bytes a character) held 2.1-2.2x their maxMemoryMb.
  it('counts a text with a character beyond Latin-1 at two bytes a character, as V8 keeps it', async () => {
    const store = new MemoryBackend(2 * ENTRY + 10);
    await store.put('t1', 'a', '0123456789', 10);
    await store.put('t1', 'b', '012345678\u2019', 10); // 10 characters, 20 bytes in V8
    assert.equal(store.size, 2);
    // 8 characters: with a byte each it would fit beside b once a went; at two bytes b goes too.
    await store.put('t1', 'c', 'xxxxxxx\u2019', 10);
    assert.equal(await store.get('t1', 'a'), undefined, 'the oldest went for it');
    assert.equal(await store.get('t1', 'b'), undefined, 'and the next: it takes twice its length');
    assert.equal(store.size, 1);
  });
});
