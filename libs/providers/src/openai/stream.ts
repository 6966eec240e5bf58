import { GatewayError } from '../gateway-error';
import { mapStream, type StreamSteps } from '../map-stream';
import type { ChatStream } from '../provider';
import { fromTransportError } from './errors';

/**
 * How much of the stream's end we keep to find `[DONE]` and the usage event: the last
 * chunks that hold at least this many bytes (a usage event is ~0.5 KB). By bytes, not by
 * chunks: an upstream that sends the end a few bytes at a time would otherwise push
 * `data: [DONE]` out of the tail and the stream would be called truncated.
 */
const TAIL_BYTES = 4096;
const USAGE_MARK = Buffer.from('"usage":{');
const USAGE_KEY = Buffer.from('"usage"');
const EMPTY_CHOICES = Buffer.from('"choices":[]');
const EVENT_END = Buffer.from('\n\n');

/**
 * Forwards an OpenAI SSE body chunk by chunk without parsing it. Only the last few
 * chunks are inspected at the end: to check the stream really finished (`[DONE]`)
 * and to pick up `usage`. With `stripUsage` (the gateway asked for usage, the
 * client did not) the usage event is cut out: chunks are then forwarded on event
 * boundaries so that event is always seen whole. A reader that stops early closes
 * the body, which releases the upstream socket.
 */
export function passThroughStream(
  provider: string,
  res: { body: AsyncIterable<Buffer> },
  signal: AbortSignal,
  stripUsage: boolean,
): ChatStream {
  const stream: ChatStream = {
    [Symbol.asyncIterator]: () => mapStream(res.body, new PassThrough(provider, signal, stripUsage, stream)),
  };
  return stream;
}

class PassThrough implements StreamSteps<Buffer, Buffer> {
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;
  private carry: Buffer | undefined;

  constructor(
    private readonly provider: string,
    private readonly signal: AbortSignal,
    private readonly stripUsage: boolean,
    private readonly stream: ChatStream,
  ) {}

  step(received: Buffer): Buffer[] {
    this.tail.push(received);
    this.tailBytes += received.length;
    while (this.tailBytes - this.tail[0]!.length >= TAIL_BYTES) this.tailBytes -= this.tail.shift()!.length;
    if (!this.stripUsage) return [received];
    const chunk = this.carry ? Buffer.concat([this.carry, received]) : received;
    const end = chunk.lastIndexOf(EVENT_END);
    this.carry = end < 0 ? chunk : end + 2 < chunk.length ? chunk.subarray(end + 2) : undefined;
    return end >= 0 ? [withoutUsageEvent(chunk.subarray(0, end + 2))] : [];
  }

  /** The stream is complete only with its `[DONE]`; an incomplete last event is not sent then. */
  end(): Buffer[] {
    const end = Buffer.concat(this.tail);
    if (!end.includes('data: [DONE]')) throw truncated(this.provider);
    this.stream.usage = lastUsage(end);
    return this.carry?.length ? [this.carry] : [];
  }

  fail(err: unknown): never {
    throw midStreamError(this.provider, fromTransportError(this.provider, err, this.signal));
  }
}

/**
 * Drops the `choices: []` + usage event the client did not ask for; other events pass
 * untouched, byte for byte. Works on the bytes: only the events around a usage mark are
 * looked at, and what is kept is copied once (no decoding and re-encoding of the chunk).
 * Events are split as `String.split('\n\n')` would, and joined back the same way.
 */
function withoutUsageEvent(events: Buffer): Buffer {
  let mark = events.indexOf(USAGE_MARK);
  if (mark < 0) return events;
  const kept: Buffer[] = [];
  let cursor = 0; // start of the first event not yet kept or dropped; -1 once none is left
  let start = 0; // start of the event being looked at
  let end = events.indexOf(EVENT_END);
  while (mark >= 0) {
    while (end >= 0 && end < mark) {
      start = end + 2;
      end = events.indexOf(EVENT_END, start);
    }
    const stop = end < 0 ? events.length : end;
    const choices = events.indexOf(EMPTY_CHOICES, start);
    if (choices >= 0 && choices + EMPTY_CHOICES.length <= stop) {
      if (start > cursor) kept.push(events.subarray(cursor, start - 2));
      cursor = end < 0 ? -1 : end + 2;
    }
    if (end < 0) break;
    mark = events.indexOf(USAGE_MARK, end);
  }
  if (cursor === 0) return events;
  if (cursor >= 0) kept.push(events.subarray(cursor));
  return Buffer.concat(kept.flatMap((run, i) => (i ? [EVENT_END, run] : [run])));
}

/** A failure after the answer began: a broken connection leaves the stream incomplete, not the upstream unreachable. */
export function midStreamError(provider: string, error: GatewayError): GatewayError {
  return error.code === 'upstream_unreachable' ? truncated(provider) : error;
}

/** The upstream closed a stream without its end marker. */
export function truncated(provider: string): GatewayError {
  return new GatewayError(
    502,
    `Provider ${provider} ended the stream before it was complete.`,
    'upstream_error',
    'upstream_stream_truncated',
    null,
    {},
    true,
  ).from('connection');
}

/** The usage of the last event in the stream's tail that carries one, read from the bytes around it. */
function lastUsage(tail: Buffer): ChatStream['usage'] {
  let at = tail.lastIndexOf(USAGE_KEY);
  while (at >= 0) {
    const before = tail.lastIndexOf(EVENT_END, at);
    const start = before < 0 ? 0 : before + 2;
    const after = tail.indexOf(EVENT_END, at);
    const event = tail.toString('utf8', start, after < 0 ? tail.length : after).trim();
    if (event.startsWith('data: {')) {
      try {
        const usage = JSON.parse(event.slice(6)).usage;
        if (usage) return usage;
      } catch {
        // A partial event at the start of the tail: nothing to read there.
      }
    }
    at = start > 0 ? tail.lastIndexOf(USAGE_KEY, start - 1) : -1;
  }
  return undefined;
}
