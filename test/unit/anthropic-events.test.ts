import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Stream } from '@anthropic-ai/sdk/core/streaming';
import fc from 'fast-check';
import { messageEvents } from '../../libs/providers/src/anthropic/events';
import { assertUnendedEventRefused } from '../support/unended-event';

/** What reading a stream gave: its events, and how it failed, if it did. */
interface Outcome {
  events: unknown[];
  error?: { name: string; message: string; status?: unknown; type?: unknown; error?: unknown; requestID?: unknown };
}

function failure(err: unknown): Outcome['error'] {
  const e = err as Error & { status?: unknown; type?: unknown; error?: unknown; requestID?: unknown };
  // requestID comes from the answer's headers: it shows they reached the error.
  return { name: e.constructor.name, message: e.message, status: e.status, type: e.type, error: e.error, requestID: e.requestID };
}

/** Only for its logger, which stays quiet about the invalid JSON the property sends. */
const quiet = new Anthropic({ apiKey: 'unused', logLevel: 'off' });

/** The SDK's own reading of the bytes, as `messages.create({ stream: true })` does it. */
async function bySdk(chunks: Uint8Array[], headers: Headers): Promise<Outcome> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const events: unknown[] = [];
  try {
    for await (const event of Stream.fromSSEResponse(new Response(body, { headers }), new AbortController(), quiet)) events.push(event);
    return { events };
  } catch (err) {
    return { events, error: failure(err) };
  }
}

async function byGateway(chunks: Uint8Array[], headers: Headers): Promise<Outcome> {
  async function* source() {
    yield* chunks;
  }
  const events: unknown[] = [];
  const iterator = messageEvents('ant', source(), () => headers);
  try {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) events.push(next.value);
    return { events };
  } catch (err) {
    return { events, error: failure(err) };
  }
}

const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '日', '😀', '"', '\\', '\n', '{', ':') });
/** Anthropic's events, and the odd lines an SSE stream may carry. */
const block = fc.oneof(
  text.map((t) => [
    `event: content_block_delta`,
    `data: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })}`,
  ]),
  text.map((t) => [
    `event: message_start`,
    `data:${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', model: t, usage: { input_tokens: 3 } } })}`,
  ]),
  fc.constant([`event: ping`, `data: {"type": "ping"}`]),
  fc.constant([`event: message_stop`, `data: {"type":"message_stop"}`]),
  // One event's JSON over two data lines (joined by a line feed).
  fc.constant([
    `event: message_delta`,
    `data: {"type":"message_delta",`,
    `data: "delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`,
  ]),
  // Split inside a string: joined by a line feed, as SSE says, that is not JSON.
  fc.constant([`event: content_block_delta`, `data: {"type":"content_block_delta","delta":{"text":"a`, `data: b"}}`]),
  text.map((t) => [`event: error`, `data: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: t } })}`]),
  fc.constant([`event: error`, `data: upstream hiccup`]),
  fc.constant([`: keep-alive comment`]),
  fc.constant([`id: 7`, `retry: 100`]),
  fc.constant([`data: {"type":"no event name"}`]),
  fc.constant([`event:`, `data: {"type":"empty event name"}`]),
  fc.constant([`event: content_block_stop`]),
  fc.constant([`event: content_block_stop`, `data: {"type":"content_block_stop",`]),
  fc.constant([`event`, `data`]),
);
const stream = fc.record({
  blocks: fc.array(block, { maxLength: 8 }),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
  bom: fc.boolean(),
  closing: fc.constantFrom('', 'eol', 'blank'),
});
/** Where the bytes are cut into reads: anywhere, inside a CRLF or a multi-byte character too. */
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

function bytesOf({ blocks, eol, bom, closing }: { blocks: readonly (readonly string[])[]; eol: string; bom: boolean; closing: string }) {
  let sse = (bom ? '\ufeff' : '') + blocks.map((lines) => lines.join(eol)).join(eol + eol);
  if (closing === 'eol') sse += eol;
  if (closing === 'blank') sse += eol + eol;
  return Buffer.from(sse);
}

function cut(bytes: Buffer, at: number[]): Uint8Array[] {
  const points = [...new Set(at.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(new Uint8Array(bytes.subarray(start, point)));
    start = Math.max(start, point);
  }
  return chunks;
}

/**
 * The SDK reads on after message_stop; the gateway stops there, as an upstream may keep the
 * connection open after a complete answer: the events up to the first message_stop, no failure after it.
 */
function toMessageStop(outcome: Outcome): Outcome {
  const stop = outcome.events.findIndex((e) => (e as { type?: unknown }).type === 'message_stop');
  return stop < 0 ? outcome : { events: outcome.events.slice(0, stop + 1) };
}

describe('messageEvents: the Messages API event stream read as the Anthropic SDK reads it', () => {
  const headers = new Headers({ 'request-id': 'req_1', 'content-type': 'text/event-stream' });

  it('the same events and the same failure as the SDK`s reader, for any stream cut at any points', async () => {
    await fc.assert(
      fc.asyncProperty(stream, cuts, async (shape, at) => {
        const chunks = cut(bytesOf(shape), at);
        assert.deepEqual(await byGateway(chunks, headers), toMessageStop(await bySdk(chunks, headers)));
      }),
      { numRuns: 400 },
    );
  });

  it('a real stream: pings skipped, the events in order, an error event thrown as the SDK`s APIError with its type', async () => {
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hé"}}\n\n',
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    ].join('');
    const outcome = await byGateway([Buffer.from(sse)], headers);
    assert.deepEqual(
      outcome.events.map((e) => (e as { type: string }).type),
      ['message_start', 'content_block_delta'],
    );
    assert.equal(outcome.error?.name, 'APIError');
    assert.equal(outcome.error?.type, 'overloaded_error');
    assert.deepEqual(outcome, await bySdk([Buffer.from(sse)], headers));
  });
  // Found by an independent check (the pass-through's bound did not cover this reader): an upstream
  // that never ended an event took the gateway past 1.5 GB in 9 s. The body here stops at 64 MiB, so
  // a reader without the bound ends (the unfinished event dropped, as SSE has it) instead of failing.
  it('an event not ended within 8 MiB (one long line, or many data lines) is the provider`s invalid answer, read no further', async () => {
    // Lines of other fields are not kept: only data lines count.
    await assertUnendedEventRefused(
      'ant',
      'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"',
      (body) => messageEvents('ant', body, () => new Headers()),
      ['one line', 'many data lines'],
    );
  });

  // Found by an independent check: an event whose data was JSON but no object (`null`, a number) reached the
  // translation, which threw a TypeError on it: the gateway's internal_error instead of the upstream's invalid answer.
  it('an event whose data is JSON but no object is the provider`s invalid answer', async () => {
    for (const data of ['null', '7', '"text"', '[1]']) {
      const wire = `event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x","usage":{}}}\n\nevent: content_block_delta\ndata: ${data}\n\n`;
      const { events, error } = await byGateway([Buffer.from(wire)], new Headers());
      assert.equal(events.length, 1, data);
      assert.deepEqual([error?.name, error?.message], ['GatewayError', 'Provider ant sent a stream event that is not a JSON object.']);
    }
  });
});
