import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatCompletionChunk, ChatStream } from '../../libs/providers/src';
import { encodeChunks } from '../../apps/gateway/src/pipeline/chat-chunks';
import { keepingReply, type ThreadReply } from '../../apps/gateway/src/messages/threads/assemble';
import { SseChunkCollector } from '../../libs/cache/src/sse';

/**
 * The three readers of a stream the gateway forwards (the codecs' chunk reader, the Messages threads'
 * assembler, the cache's collector) cut it with one event reader (libs/providers/src/sse-events.ts),
 * which scans each read once where each of them used to rescan what was left of the last read. Each
 * must read the same events however the stream is cut: inside a UTF-8 character, between the CR and
 * the LF of a line end, one byte a read.
 */
const SEED = 20261206;
const ENCODER = new TextEncoder();
const LINE_ENDS = ['\n', '\r\n', '\r'] as const;

/** `text` with `end` for its line ends (written with LF). */
const withEnds = (text: string, end: string) => text.replaceAll('\n', end);

/** `text`'s bytes cut at `cuts` (positions, any order): a cut may fall inside a character or a CRLF. */
function cut(text: string, cuts: number[]): Uint8Array[] {
  const bytes = ENCODER.encode(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
}

/** `text` one byte a read. */
const bytewise = (text: string) => [...ENCODER.encode(text)].map((byte) => Uint8Array.of(byte));

const frames = (pieces: (string | Uint8Array)[]): ChatStream => ({
  async *[Symbol.asyncIterator]() {
    for (const piece of pieces) yield piece;
  },
});

/** Texts with characters of 2, 3 and 4 UTF-8 bytes, and JSON escapes. */
const TEXT = fc.constantFrom('héllo', ' wörld', ' 日本語', ' 👋🏽', ' "quoted"\\n', ' plain', '');

// ---------- OpenAI SSE (the codecs' chunk reader, the cache's collector) ----------

const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk =>
  ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  }) as ChatCompletionChunk;

/** An OpenAI chat stream (LF line ends): a role chunk, `texts` as content chunks, a finish chunk, a comment, `[DONE]`. */
function openAiStream(texts: string[]): string {
  const events = [chunk({ role: 'assistant', content: '' }), ...texts.map((content) => chunk({ content })), chunk({}, 'stop')].map(
    (c) => `data: ${JSON.stringify(c)}\n\n`,
  );
  return [': keep-alive\n\n', ...events, 'data: [DONE]\n\n'].join('');
}

const OPENAI_STREAM = fc
  .tuple(fc.array(TEXT, { maxLength: 6 }), fc.constantFrom(...LINE_ENDS))
  .map(([texts, end]) => withEnds(openAiStream(texts), end));

/** What the codecs' reader (encodeChunks) hands its encoder for a stream read in `pieces`. */
async function encoded(pieces: (string | Uint8Array)[]): Promise<unknown[]> {
  const chunks: unknown[] = [];
  const stream = encodeChunks(frames(pieces), {
    chunk: (c) => (chunks.push(c), []),
    end: () => [],
  });
  for await (const _ of stream) void _;
  return chunks;
}

/** The cache's collector fed `pieces`: whether the answer is complete, and the completion. */
function collected(pieces: (string | Uint8Array)[]): { complete: boolean; completion: unknown } {
  const collector = new SseChunkCollector(1 << 20);
  for (const piece of pieces) collector.push(piece);
  return { complete: collector.complete, completion: collector.completion() };
}

// ---------- Anthropic SSE (the Messages threads' assembler) ----------

/** An Anthropic message stream (LF line ends) with `texts` as text deltas and `json` as a tool input's fragments. */
function anthropicStream(texts: string[], json: string[]): string {
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  return [
    event('message_start', { message: { id: 'msg_upstream', type: 'message', role: 'assistant', content: [] } }),
    event('ping', {}),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...texts.map((text) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    event('content_block_stop', { index: 0 }),
    event('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } }),
    ...json.map((partial_json) => event('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json } })),
    event('content_block_stop', { index: 1 }),
    event('message_delta', { delta: { stop_reason: 'tool_use' } }),
    event('message_stop', {}),
  ].join('');
}

/** `{"a":"<texts joined>"}` in fragments cut at the texts' boundaries. */
const jsonFragments = (texts: string[]) => ['{"a":"', ...texts.map((t) => JSON.stringify(t).slice(1, -1)), '"}'];

const ANTHROPIC_STREAM = fc
  .tuple(fc.array(TEXT, { maxLength: 5 }), fc.array(TEXT, { maxLength: 4 }), fc.constantFrom(...LINE_ENDS))
  .map(([texts, json, end]) => withEnds(anthropicStream(texts, jsonFragments(json)), end));

/** What the threads' assembler (keepingReply) sends on for a stream read in `pieces`, and the reply it keeps. */
async function kept(pieces: (string | Uint8Array)[]): Promise<{ text: string; replies: ThreadReply[] }> {
  const replies: ThreadReply[] = [];
  let text = '';
  for await (const out of keepingReply(frames(pieces), 'msg_gateway', async (reply) => (replies.push(reply), true))) text += String(out);
  return { text, replies };
}

describe('SSE readers of a forwarded stream: one event reader, any read boundaries', () => {
  it("the codecs' chunk reader (encodeChunks) reads the same chunks however the bytes are cut", async () => {
    const whole = await encoded([withEnds(openAiStream(['héllo', ' 👋']), '\r\n')]);
    assert.deepEqual(whole, [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'héllo' }),
      chunk({ content: ' 👋' }),
      chunk({}, 'stop'),
    ]);
    await fc.assert(
      fc.asyncProperty(OPENAI_STREAM, fc.array(fc.nat(), { maxLength: 10 }), async (stream, cuts) => {
        assert.deepEqual(await encoded(cut(stream, cuts)), await encoded([stream]));
      }),
      { seed: SEED, numRuns: 200 },
    );
    for (const end of LINE_ENDS) {
      const stream = withEnds(openAiStream(['日本語', ' 👋🏽']), end);
      assert.deepEqual(await encoded(bytewise(stream)), await encoded([stream]));
    }
  });

  it("the cache's collector (SseChunkCollector) assembles the same answer however the bytes are cut", async () => {
    const whole = collected([withEnds(openAiStream(['héllo', ' 👋']), '\r\n')]);
    assert.equal(whole.complete, true);
    assert.equal((whole.completion as { choices: { message: { content: string } }[] }).choices[0]!.message.content, 'héllo 👋');
    await fc.assert(
      fc.property(OPENAI_STREAM, fc.array(fc.nat(), { maxLength: 10 }), (stream, cuts) => {
        assert.deepEqual(collected(cut(stream, cuts)), collected([stream]));
      }),
      { seed: SEED, numRuns: 200 },
    );
    for (const end of LINE_ENDS) {
      const stream = withEnds(openAiStream(['日本語', ' 👋🏽']), end);
      assert.deepEqual(collected(bytewise(stream)), collected([stream]));
    }
  });

  it("the threads' assembler (keepingReply) sends the same text and keeps the same reply however the bytes are cut", async () => {
    const whole = await kept([withEnds(anthropicStream(['héllo', ' 👋'], ['{"a":', '"é"}']), '\r\n')]);
    assert.deepEqual(whole.replies, [
      {
        id: 'msg_gateway',
        content: [
          { type: 'text', text: 'héllo 👋' },
          { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 'é' } },
        ],
      },
    ]);
    assert.ok(whole.text.startsWith('event: message_start\ndata: {"type":"message_start","message":{"id":"msg_gateway"'));
    assert.ok(whole.text.endsWith('event: message_stop\ndata: {"type":"message_stop","gateway_thread_kept":true}\n\n'));
    await fc.assert(
      fc.asyncProperty(ANTHROPIC_STREAM, fc.array(fc.nat(), { maxLength: 10 }), async (stream, cuts) => {
        assert.deepEqual(await kept(cut(stream, cuts)), await kept([stream]));
      }),
      { seed: SEED, numRuns: 200 },
    );
    for (const end of LINE_ENDS) {
      const stream = withEnds(anthropicStream(['日本語', ' 👋🏽'], ['{"a":"b"}']), end);
      assert.deepEqual(await kept(bytewise(stream)), await kept([stream]));
    }
  });
});
