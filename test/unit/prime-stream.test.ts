import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatStream } from '../../libs/providers/src';
import { primeStream } from '../../libs/router/src/prime-stream';

/** A source stream that records what its reader did to it, and sets usage when read to the end. */
function source(chunks: string[], failAfter?: number) {
  const log = { nexts: 0, returns: 0 };
  const stream: ChatStream = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const i = log.nexts++;
        if (failAfter !== undefined && i === failAfter) throw new Error('upstream broke');
        if (i < chunks.length) return { value: chunks[i]!, done: false };
        stream.usage = { prompt_tokens: 1, completion_tokens: chunks.length, total_tokens: chunks.length + 1 };
        return { value: undefined, done: true };
      },
      return: async () => {
        log.returns++;
        return { value: undefined, done: true };
      },
    }),
  };
  return { stream, log };
}

describe('primeStream', () => {
  it('reads the first chunk before it returns, then yields every chunk once, in order, and the usage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { maxLength: 8 }), async (chunks) => {
        const { stream, log } = source(chunks);
        const primed = await primeStream(Promise.resolve(stream));
        assert.equal(log.nexts, 1);
        const out: unknown[] = [];
        for await (const chunk of primed) out.push(chunk);
        assert.deepEqual(out, chunks);
        assert.equal(primed.usage?.completion_tokens, chunks.length);
        assert.equal(log.returns, 1);
      }),
    );
  });

  it('a reader that stops early lets the source release its upstream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { minLength: 1, maxLength: 8 }), fc.nat(7), async (chunks, stop) => {
        const { stream, log } = source(chunks);
        const primed = await primeStream(Promise.resolve(stream));
        let read = 0;
        for await (const chunk of primed) {
          assert.equal(chunk, chunks[read]);
          if (read++ >= stop) break;
        }
        assert.equal(log.returns, 1);
        assert.equal(read, Math.min(stop + 1, chunks.length));
      }),
    );
  });

  it('an error after the first chunk reaches the reader, and the source is released', async () => {
    const { stream, log } = source(['a', 'b', 'c'], 2);
    const primed = await primeStream(Promise.resolve(stream));
    const out: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of primed) out.push(chunk);
      })(),
      /upstream broke/,
    );
    assert.deepEqual(out, ['a', 'b']);
    assert.equal(log.returns, 1);
  });
});

/** An OpenAI chunk event whose first choice's delta is `delta` (no choice when undefined), with `extra` fields. */
const chunk = (delta?: object, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: delta ? [{ index: 0, delta, finish_reason: null }] : [], ...extra })}\n\n`;
/** Chunks that carry no output: a role alone (with an empty content), Azure's prompt-filter verdict, usage alone. */
const NO_OUTPUT = [
  chunk({ role: 'assistant', content: '' }),
  chunk(undefined, { prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }),
  chunk(undefined, { usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } }),
];
/** Chunks that do: text, a refusal, reasoning, a tool call opened (its arguments not begun). */
const OUTPUT = [
  chunk({ content: 'Hi' }),
  chunk({ refusal: 'No' }),
  chunk({ reasoning_content: 'Hmm' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }),
];

// Found by an independent check: time to first token was taken at a stream's first chunk, which on
// OpenAI-format upstreams is often a role alone, or Azure's prompt-filter verdict, sent before any token.
describe('primeStream: the first chunk of output', () => {
  it('is the first chunk that carries output, not a role, a filter verdict or usage before it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...NO_OUTPUT), { maxLength: 3 }),
        fc.constantFrom(...OUTPUT),
        fc.array(fc.constantFrom(...NO_OUTPUT, ...OUTPUT), { maxLength: 3 }),
        async (before, first, rest) => {
          const { stream } = source([...before, first, ...rest]);
          const primed = await primeStream(Promise.resolve(stream));
          const calls: boolean[] = [];
          primed.outputStarted = (answered) => calls.push(answered);
          let read = 0;
          for await (const c of primed) {
            read++;
            const seen = primed.produced.outputAfterMs !== undefined;
            assert.equal(seen, read > before.length, `after ${read} chunks (${before.length} without output first): ${c}`);
            assert.deepEqual(calls, seen ? [true] : []);
          }
          assert.deepEqual(calls, [true], 'called once');
          if (before.length === 0) assert.equal(primed.produced.outputAfterMs, 0, 'the first chunk carried it');
        },
      ),
    );
  });

  it('a stream without output calls outputStarted at its end: answered when read to its end, not when it failed or was left', async () => {
    const endings: boolean[] = [];
    for (const [failAfter, stopAt] of [
      [undefined, undefined],
      [2, undefined],
      [undefined, 1],
    ] as const) {
      const { stream } = source(NO_OUTPUT, failAfter);
      const primed = await primeStream(Promise.resolve(stream));
      primed.outputStarted = (answered) => endings.push(answered);
      await (async () => {
        let read = 0;
        for await (const _ of primed) if (++read === stopAt) break;
      })().catch(() => undefined);
      assert.equal(primed.produced.outputAfterMs, undefined);
    }
    assert.deepEqual(endings, [true, false, false]);
  });
});
