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
