import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@google/genai';
import fc from 'fast-check';
import { chunkEvents } from '../../libs/providers/src/gemini/events';
import { assertUnendedEventRefused } from '../support/unended-event';

const ENCODER = new TextEncoder();

/** What chunkEvents hands on for a body read in `pieces`, and what it threw after them. */
async function read(pieces: (string | Uint8Array)[], candidates = 1): Promise<{ events: unknown[]; error?: unknown }> {
  const events: unknown[] = [];
  const iterator = chunkEvents(
    'gem',
    (async function* () {
      for (const piece of pieces) yield typeof piece === 'string' ? ENCODER.encode(piece) : piece;
    })(),
    candidates,
  );
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) events.push(next.value);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

/** `text`'s bytes cut at `cuts` (positions, any order): a cut may fall inside a character. */
function cut(text: string, cuts: number[]): Uint8Array[] {
  const bytes = ENCODER.encode(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
}

const ONE = { candidates: [{ content: { role: 'model', parts: [{ text: 'héllo 👋' }] }, index: 0 }] };
const TWO = {
  candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 3 },
};
const ERROR = { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } };

describe("Gemini's SSE body read by the gateway (chunkEvents)", () => {
  it('reads the same events however the body is cut, with CRLF, LF or CR line ends and data on several lines', async () => {
    const bodies = [
      `data: ${JSON.stringify(ONE)}\r\n\r\ndata: ${JSON.stringify(TWO)}\r\n\r\n`,
      `data: ${JSON.stringify(ONE)}\n\ndata:${JSON.stringify(TWO)}\n\n`,
      `data: ${JSON.stringify(ONE)}\r\rdata: ${JSON.stringify(TWO)}\r\r`,
      `: comment\r\nevent: x\r\ndata: {"candidates":\r\ndata: ${JSON.stringify(ONE.candidates)}}\r\n\r\ndata: ${JSON.stringify(TWO)}\r\n\r\n`,
    ];
    for (const body of bodies) {
      // Every single cut: a CRLF split between reads is one line end, not two.
      for (let at = 0; at <= body.length; at++) assert.deepEqual(await read(cut(body, [at])), { events: [ONE, TWO] }, `${at}`);
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bodies), fc.array(fc.nat(), { maxLength: 8 }), async (body, cuts) => {
        assert.deepEqual(await read(cut(body, cuts)), { events: [ONE, TWO] });
      }),
    );
  });

  it('an error object in an event is the SDK`s ApiError, after the events before it, however the body is cut', async () => {
    const body = `data: ${JSON.stringify(ONE)}\r\n\r\ndata: ${JSON.stringify(ERROR)}\r\n\r\ndata: ${JSON.stringify(TWO)}\r\n\r\n`;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 6 }), async (cuts) => {
        const { events, error } = await read(cut(body, cuts));
        assert.deepEqual(events, [ONE]);
        assert.ok(error instanceof ApiError);
        assert.equal(error.status, 503);
        assert.match(error.message, /^got status: UNAVAILABLE\. \{"error":/);
      }),
    );
  });

  it('a bare error object as the body`s end is that error; any other unfinished event is the SDK`s "Incomplete JSON segment"', async () => {
    const bare = await read([`data: ${JSON.stringify(ONE)}\r\n\r\n`, JSON.stringify(ERROR, null, 2)]);
    assert.deepEqual(bare.events, [ONE]);
    assert.ok(bare.error instanceof ApiError && bare.error.status === 503);
    for (const end of [`data: ${JSON.stringify(TWO)}`, `data: ${JSON.stringify(TWO)}\r\n`, 'data: {"cand']) {
      const { events, error } = await read([`data: ${JSON.stringify(ONE)}\r\n\r\n`, end]);
      assert.deepEqual(events, [ONE]);
      assert.equal((error as Error).message, 'Incomplete JSON segment at the end');
    }
    assert.deepEqual(await read([`data: ${JSON.stringify(ONE)}\r\n\r\n\r\n  `]), { events: [ONE] });
  });

  // Found by an independent check (stream33 D2): Gemini's stream has no end marker, and a body kept open after its last
  // chunk was waited on until the provider's timeout, which failed the whole answer the client had.
  describe('the answer`s last chunk (every candidate finished, with the usage) ends the stream, the body released', () => {
    const finished = (index: number, usage?: object) => ({
      candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index }],
      ...(usage && { usageMetadata: usage }),
    });
    const USAGE = { promptTokenCount: 3, candidatesTokenCount: 2 };
    const ev = (chunk: object) => `data: ${JSON.stringify(chunk)}\r\n\r\n`;
    /** The events read from `chunks` written to a body that then stays open, and whether it was let go of. */
    async function readOpen(chunks: object[], candidates = 1) {
      let released = false;
      const body = {
        pieces: [ev(ONE), ...chunks.map(ev)].map((text) => ENCODER.encode(text)),
        next(): Promise<IteratorResult<Uint8Array>> {
          const value = this.pieces.shift();
          // Past the pieces, the body never ends: a read of it would not settle, and the test would time out.
          return value ? Promise.resolve({ value, done: false }) : new Promise(() => undefined);
        },
        release: () => void (released = true),
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      const events: unknown[] = [];
      const iterator = chunkEvents('gem', body, candidates);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) events.push(next.value);
      return { events, released };
    }

    it('the finish with its usage; what follows in the same read is not handed on', async () => {
      assert.deepEqual(await readOpen([finished(0, USAGE)]), { events: [ONE, finished(0, USAGE)], released: true });
      const { events } = await read([ev(ONE) + ev(finished(0, USAGE)) + ev(ONE)]);
      assert.deepEqual(events, [ONE, finished(0, USAGE)]);
    });

    it('a finish before its usage: the usage chunk after it', async () => {
      const usage = { usageMetadata: USAGE };
      assert.deepEqual(await readOpen([finished(0), usage]), { events: [ONE, finished(0), usage], released: true });
    });

    // Found by an independent re-check (recheck33b D1): Gemini's running totals count the prompt on every chunk, the
    // finish's too; the stream ended there, before the chunk with the output's count, and the answer was billed as an estimate.
    it('a finish whose usage counts the prompt alone: the chunk with the whole usage after it', async () => {
      const running = finished(0, { promptTokenCount: 3, totalTokenCount: 3 });
      const usage = { candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, index: 0 }], usageMetadata: USAGE };
      assert.deepEqual(await readOpen([running, usage]), { events: [ONE, running, usage], released: true });
    });

    it('with two candidates asked for, the chunk where the second one finishes', async () => {
      const both = [finished(0, USAGE), ONE, finished(1, USAGE)];
      assert.deepEqual(await readOpen(both, 2), { events: [ONE, ...both], released: true });
    });

    it('a stream with no such chunk is read to its end', async () => {
      // Usage without the prompt's count (Vertex's chunks before the last) ends nothing.
      const chunks = [finished(0, { trafficType: 'ON_DEMAND' }), ONE];
      assert.deepEqual(await read(chunks.map(ev)), { events: chunks });
      assert.deepEqual(await read([finished(0, USAGE), ONE].map(ev), 2), { events: [finished(0, USAGE), ONE] });
    });
  });

  it('an event that is not JSON throws the SyntaxError the SDK threw', async () => {
    const { events, error } = await read([`data: ${JSON.stringify(ONE)}\r\n\r\ndata: <html>proxy error</html>\r\n\r\n`]);
    assert.deepEqual(events, [ONE]);
    assert.ok(error instanceof SyntaxError);
  });
  // Found by an independent check: the SDK's reader handed on a burst (10,000 events a proxy had buffered) in
  // microtasks alone, and /health waited 1-4 s for the whole of it. Ordering, not timing: a macrotask queued
  // before the read runs once the reader has handed on at most one turn's worth of events.
  it('hands a burst on between turns of the event loop', async () => {
    const event = (i: number) => `data: {"candidates":[{"content":{"parts":[{"text":"${i}"}]}}]}\r\n\r\n`;
    const iterator = chunkEvents(
      'gem',
      (async function* () {
        yield ENCODER.encode(Array.from({ length: 1_000 }, (_, i) => event(i)).join(''));
      })(),
      1,
    );
    let handed = 0;
    let atTurn: number | undefined;
    setImmediate(() => (atTurn = handed));
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) handed++;
    assert.equal(handed, 1_000);
    assert.ok(atTurn !== undefined && atTurn <= 65, `the loop turned after ${atTurn} of 1,000 events`);
  });
  // Found by an independent check (the pass-through's bound did not cover this reader); the body stops at
  // 64 MiB, so a reader without the bound ends ("Incomplete JSON segment") instead of naming the cause.
  it('an event not ended within 8 MiB (one long line, many data lines, or lines of no field) is the provider`s invalid answer, read no further', async () => {
    await assertUnendedEventRefused('gem', 'data: {"candidates":[{"content":{"parts":[{"text":"', (body) => chunkEvents('gem', body, 1));
  });
});
