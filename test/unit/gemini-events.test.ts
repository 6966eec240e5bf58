import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@google/genai';
import fc from 'fast-check';
import { chunkEvents } from '../../libs/providers/src/gemini/events';
import { assertUnendedEventRefused } from '../support/unended-event';

const ENCODER = new TextEncoder();

/** What chunkEvents hands on for a body read in `pieces`, and what it threw after them. */
async function read(pieces: (string | Uint8Array)[]): Promise<{ events: unknown[]; error?: unknown }> {
  const events: unknown[] = [];
  const iterator = chunkEvents(
    'gem',
    (async function* () {
      for (const piece of pieces) yield typeof piece === 'string' ? ENCODER.encode(piece) : piece;
    })(),
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
    await assertUnendedEventRefused('gem', 'data: {"candidates":[{"content":{"parts":[{"text":"', (body) => chunkEvents('gem', body));
  });
});
