import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replayAsStream } from '@gateway/cache';
import type { ChatCompletion, ChatCompletionChunk } from '@gateway/providers';
import { CompletionAssembler, SseChunkCollector } from '../../libs/cache/src/sse';

const completion: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  system_fingerprint: 'fp_1',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'A long answer '.repeat(20).trim(), refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
    {
      index: 1,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"cats"}' } },
          { id: 'call_b', type: 'function', function: { name: 'fetch', arguments: '{}' } },
        ],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 40, total_tokens: 52 },
};

async function frames(json: string, includeUsage: boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const frame of replayAsStream(json, includeUsage)) out.push(String(frame));
  return out;
}

describe('stream replay and assembly', () => {
  it('replays a completion as well-formed SSE frames ending in [DONE]', async () => {
    const out = await frames(JSON.stringify(completion), true);
    assert.equal(out.at(-1), 'data: [DONE]\n\n');
    for (const frame of out.slice(0, -1)) {
      assert.match(frame, /^data: \{.*\}\n\n$/s);
      const chunk = JSON.parse(frame.slice(6));
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.id, 'chatcmpl-1');
    }
    const chunks = out.slice(0, -1).map((f) => JSON.parse(f.slice(6)));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.ok(chunks.filter((c) => c.choices[0]?.delta?.content).length > 2, 'the text arrives in several pieces');
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.deepEqual(chunks.at(-1).usage, completion.usage);
    assert.ok(
      chunks.slice(0, -1).every((c) => c.usage === null),
      'usage: null on every other chunk when include_usage',
    );
  });

  it('without include_usage sends no usage chunk and no usage fields', async () => {
    const out = await frames(JSON.stringify(completion), false);
    const chunks = out.slice(0, -1).map((f) => JSON.parse(f.slice(6)));
    assert.ok(chunks.every((c) => !('usage' in c) && c.choices.length === 1));
  });

  it('assembling the replayed chunks gives the completion back', async () => {
    const collector = new SseChunkCollector(1 << 20);
    for (const frame of await frames(JSON.stringify(completion), true)) collector.push(frame);
    assert.ok(collector.complete);
    assert.deepEqual(collector.completion(), completion);
  });

  // Found by an independent check: a hit in the other shape (or a stored stream) lost the reasoning,
  // Anthropic's signed thinking (sent back next turn) and Gemini's thought signatures.
  it("reasoning, signed thinking blocks and a tool call's thought signature survive a replay and an assembly", async () => {
    const signed = { type: 'thinking', thinking: 'First I think. '.repeat(6).trim(), signature: 'sig-1' };
    const redacted = { type: 'redacted_thinking', data: 'opaque' };
    const withThinking = {
      ...completion,
      choices: [
        {
          ...completion.choices[0],
          message: { ...completion.choices[0].message, reasoning_content: signed.thinking, thinking_blocks: [signed, redacted] },
        },
        {
          ...completion.choices[1],
          message: {
            ...completion.choices[1].message,
            reasoning_content: 'Plain reasoning, DeepSeek style.',
            tool_calls: [
              {
                id: 'call_g',
                type: 'function',
                function: { name: 'lookup', arguments: '{}' },
                extra_content: { google: { thought_signature: 'c2ln' } },
              },
            ],
          },
        },
      ],
    } as unknown as ChatCompletion;
    const out = await frames(JSON.stringify(withThinking), true);
    const collector = new SseChunkCollector(1 << 20);
    for (const frame of out) collector.push(frame);
    assert.deepEqual(collector.completion(), withThinking);
    // In the stream, each signed block comes after its own text and before the answer's text.
    const deltas = out
      .slice(0, -1)
      .map((f) => JSON.parse(f.slice(6)).choices[0])
      .filter((c) => c?.index === 0)
      .map((c) => Object.keys(c.delta).find((k) => k !== 'role') ?? 'finish');
    const order = deltas.filter((k, i) => k !== deltas[i - 1]);
    assert.deepEqual(order, ['content', 'reasoning_content', 'thinking_blocks', 'content', 'finish']);
  });

  it('reads chunks split at arbitrary byte boundaries, multi-byte characters included', async () => {
    const text = {
      ...completion,
      choices: [{ ...completion.choices[0], message: { ...completion.choices[0].message, content: 'Grüße 👋 aus Köln' } }],
    };
    const bytes = Buffer.from((await frames(JSON.stringify(text), false)).join(''));
    const collector = new SseChunkCollector(1 << 20);
    for (let i = 0; i < bytes.length; i += 7) collector.push(bytes.subarray(i, i + 7));
    assert.ok(collector.complete);
    assert.equal(collector.completion().choices[0].message.content, 'Grüße 👋 aus Köln');
  });

  it('merges tool-call fragments streamed by index', () => {
    const base = { id: 'x', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    const assembler = new CompletionAssembler();
    const chunks: ChatCompletionChunk[] = [
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              role: 'assistant',
              tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
            },
            finish_reason: null,
          },
        ],
      },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ];
    for (const chunk of chunks) assembler.add(chunk);
    const result = assembler.completion();
    assert.deepEqual(result.choices[0].message.tool_calls, [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    assert.equal(result.choices[0].finish_reason, 'tool_calls');
    assert.equal(result.choices[0].message.content, null);
  });

  it('a stream with an error event, without [DONE], or over the size limit is not complete', () => {
    const ok = 'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n';
    const errored = new SseChunkCollector(1 << 20);
    errored.push(ok + 'data: {"error":{"message":"upstream failed"}}\n\n');
    assert.equal(errored.complete, false);
    const cut = new SseChunkCollector(1 << 20);
    cut.push(ok);
    assert.equal(cut.complete, false);
    const big = new SseChunkCollector(1024);
    big.push(ok + contentFrames('x'.repeat(1025), 4) + 'data: [DONE]\n\n');
    assert.equal(big.complete, false);
    assert.equal(big.tooLarge, true);
    const done = new SseChunkCollector(1 << 20);
    done.push(ok + 'data: [DONE]\n\n');
    assert.equal(done.complete, true);
  });

  // Found by an independent check: the limit applied to the SSE text, ~50 times the answer when a
  // chunk carries 4 characters (OpenAI's pace), so streamed answers over ~15 KB were never cached.
  it('the limit is on the answer, in UTF-8 bytes, not on the stream carrying it', () => {
    const answer = 'Grüße '.repeat(400); // 3,200 bytes in 2,400 UTF-16 units
    const stream = contentFrames(answer, 4) + 'data: [DONE]\n\n';
    assert.ok(stream.length > 40 * answer.length);
    const fits = new SseChunkCollector(3_300);
    fits.push(stream);
    assert.ok(fits.complete && !fits.tooLarge);
    assert.equal(fits.completion().choices[0].message.content, answer);
    const over = new SseChunkCollector(3_000);
    over.push(stream);
    assert.ok(!over.complete && over.tooLarge);
    // One unfinished event longer than the limit is not buffered on.
    const endless = new SseChunkCollector(1_024);
    endless.push(`data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(2_000)}`);
    assert.ok(endless.tooLarge);
  });

  // Found by an independent check: an OpenAI-format upstream's chunk with "content": 12345 (forwarded unread by the
  // pass-through) made the assembler throw (Buffer.byteLength of a number), and the client's stream an internal_error.
  it('a chunk of the wrong shape is not stored, and reading it throws nothing', () => {
    const ok =
      'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n';
    for (const bad of [
      '{"id":"x","choices":[{"index":0,"delta":{"content":12345}}]}',
      '{"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":{"a":1}}}]}}]}',
      '{"id":"x","choices":[null]}',
      'null',
    ]) {
      const collector = new SseChunkCollector(1 << 20);
      collector.push(`${ok}data: ${bad}\n\n${ok}data: [DONE]\n\n`);
      assert.equal(collector.complete, false, bad);
    }
    // Content as a list of parts (Mistral's reasoning models) is read as its text, as the codecs read it.
    const parts = new SseChunkCollector(1 << 20);
    parts.push(`data: {"id":"x","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"hi"}]}}]}\n\ndata: [DONE]\n\n`);
    assert.ok(parts.complete);
    assert.equal(parts.completion().choices[0]!.message.content, 'hi');
  });

  // Found by an independent check (recheck29b): Perplexity and OpenRouter send the citations so far with every
  // chunk; the assembler joined the lists, 5 chunks of the same 2 citations were stored as 10.
  it('keeps each annotation once, whether a stream sends the list so far with every chunk or each citation once', () => {
    const cite = (n: number) => ({
      type: 'url_citation' as const,
      url_citation: { url: `https://example.com/${n}`, title: `source ${n}`, start_index: n, end_index: n + 5 },
    });
    const chunk = (content: string, annotations: object[]): ChatCompletionChunk =>
      ({
        id: 'x',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'm',
        choices: [{ index: 0, delta: { content, annotations } }],
      }) as never;
    const joined = (chunks: ChatCompletionChunk[]) => {
      const assembler = new CompletionAssembler();
      for (const c of chunks) assembler.add(c);
      return assembler.completion().choices[0]!.message.annotations;
    };
    const expected = [cite(1), cite(2)];
    // The same list in every chunk; a list that grows; each citation once; the same citation with its keys in another order.
    assert.deepEqual(joined(['a', 'b', 'c', 'd', 'e'].map((t) => chunk(t, [cite(1), cite(2)]))), expected);
    assert.deepEqual(joined([chunk('a', [cite(1)]), chunk('b', [cite(1), cite(2)]), chunk('c', [cite(1), cite(2)])]), expected);
    assert.deepEqual(joined([chunk('a', [cite(1)]), chunk('b', []), chunk('c', [cite(2)])]), expected);
    const reordered = {
      url_citation: { end_index: 6, start_index: 1, title: 'source 1', url: 'https://example.com/1' },
      type: 'url_citation',
    };
    assert.deepEqual(joined([chunk('a', [cite(1), cite(2)]), chunk('b', [reordered, cite(2)])]), expected);
  });
});

/** An answer streamed `size` characters a chunk, as OpenAI does, each chunk a full ~200-byte frame. */
function contentFrames(text: string, size: number): string {
  let out = '';
  for (let i = 0; i < text.length; i += size) {
    const chunk = {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'gpt-4o-mini',
      system_fingerprint: 'fp_1',
      choices: [
        { index: 0, delta: { content: text.slice(i, i + size) }, logprobs: null, finish_reason: i + size >= text.length ? 'stop' : null },
      ],
    };
    out += `data: ${JSON.stringify(chunk)}\n\n`;
  }
  return out;
}
