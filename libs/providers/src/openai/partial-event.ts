import { GatewayError } from '../gateway-error';

const LF = 0x0a;
const CR = 0x0d;

/**
 * The end of an SSE event: a line's end, then a blank line's. No CR ends a line alone here
 * (lone-crs.ts made it an LF), so each line ends with an LF: an LF, then LF or CRLF.
 */
const EVENT_END = Buffer.from('\n\n');
const EVENT_END_CRLF = Buffer.from('\n\r\n');
/** A blank line split between the bytes carried and a chunk starts in their last 2 bytes (`\n\r|\n`). */
const SPLIT_END = EVENT_END_CRLF.length - 1;

/**
 * The most one SSE event may hold before it is whole. Events can be large: some OpenAI-compatible
 * servers send a tool call's arguments (a file a coding agent writes) in one event, and image
 * models a base64 image (a few MB) in one delta. A body without a blank line in 8 MiB is not an
 * event stream (a proxy's page, a server streaming something else), and carrying more would
 * only grow the gateway's memory until the upstream's deadline.
 */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/**
 * The bytes after a chunk's last whole event, carried until the event is whole, so the stream
 * is forwarded on event boundaries. A chunk appended to them is copied once: the carried bytes
 * live in a buffer that grows by doubling (an event spread over many chunks costs linear, not
 * quadratic, copying), and only the new bytes are searched for the blank line.
 */
export class PartialEvent {
  /** The bytes carried: `length` bytes of a buffer of its own, or of the last chunk when not `owned`. */
  private bytes: Buffer | undefined;
  private length = 0;
  private owned = false;

  constructor(private readonly provider: string) {}

  /** The whole events among the bytes carried and `received`, undefined when none is whole yet. */
  events(received: Buffer): Buffer | undefined {
    if (!this.length) return this.split(received, eventsEnd(received));
    const searchFrom = Math.max(0, this.length - SPLIT_END);
    const bytes = this.append(received);
    const end = eventsEnd(bytes.subarray(searchFrom));
    if (end) return this.split(bytes, searchFrom + end);
    if (this.length > MAX_EVENT_BYTES) throw eventTooLarge(this.provider);
    return undefined;
  }

  /** The bytes carried, once the stream ended without the event they begin becoming whole. */
  rest(): Buffer | undefined {
    return this.length ? this.bytes!.subarray(0, this.length) : undefined;
  }

  /** Drops what is carried: nothing after the stream's end marker is sent. */
  clear(): void {
    this.bytes = undefined;
    this.length = 0;
  }

  /** `bytes` up to `end`, whole events (undefined when 0); the rest is carried. */
  private split(bytes: Buffer, end: number): Buffer | undefined {
    const rest = bytes.length - end;
    if (rest > MAX_EVENT_BYTES) throw eventTooLarge(this.provider);
    this.bytes = rest ? (end ? bytes.subarray(end) : bytes) : undefined;
    this.length = rest;
    // A view (of the chunk, or of a buffer whose head leaves as events): the next append copies it.
    this.owned = false;
    if (!end) return undefined;
    return rest ? bytes.subarray(0, end) : bytes;
  }

  /** The carried bytes and `received` in one buffer, copied into a larger one only when they do not fit. */
  private append(received: Buffer): Buffer {
    const length = this.length + received.length;
    let storage = this.bytes!;
    if (!this.owned || storage.length < length) {
      const grown = Buffer.allocUnsafe(this.owned ? Math.max(length, Math.min(2 * storage.length, MAX_EVENT_BYTES)) : length);
      storage.copy(grown, 0, 0, this.length);
      storage = grown;
    }
    received.copy(storage, this.length);
    this.bytes = storage;
    this.length = length;
    this.owned = true;
    return storage.subarray(0, length);
  }
}

/** Where the last whole event in `chunk` ends (after its blank line, LF or CRLF), 0 when none does. */
export function eventsEnd(chunk: Buffer): number {
  // A read that ends an event, as most do (an upstream writes an event at a time): no search. A Buffer search is a
  // call into C++ (~0.3 µs each, two a read; 9 µs of a 16-event stream's relay, BENCHMARKS.md's way of measuring).
  const n = chunk.length;
  if (chunk[n - 1] === LF && (chunk[n - 2] === LF || (chunk[n - 2] === CR && chunk[n - 3] === LF))) return n;
  const lf = chunk.lastIndexOf(EVENT_END);
  const crlf = chunk.lastIndexOf(EVENT_END_CRLF);
  return Math.max(lf < 0 ? 0 : lf + EVENT_END.length, crlf < 0 ? 0 : crlf + EVENT_END_CRLF.length);
}

/** The end of the event starting at `from` (its last line's end excluded) and where the next one starts (after the blank line, LF or CRLF). */
export function eventAt(bytes: Buffer, from: number): { end: number; next: number } {
  const lf = bytes.indexOf(EVENT_END, from);
  const crlf = bytes.indexOf(EVENT_END_CRLF, from);
  const at = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
  if (at < 0) return { end: bytes.length, next: bytes.length };
  return { end: bytes[at - 1] === CR ? at - 1 : at, next: at + (at === lf ? EVENT_END.length : EVENT_END_CRLF.length) };
}

/**
 * The error for an event a reader of decoded SSE text holds unfinished (`pending`: its lines so
 * far and the line not ended, in UTF-16 units) once it is over MAX_EVENT_BYTES; undefined within.
 * The Anthropic and Gemini stream readers' bound, as PartialEvent is the pass-through's: without
 * it an upstream that never ends an event grew the gateway's memory until the timeout.
 */
export function oversizedEvent(provider: string, pending: number): GatewayError | undefined {
  return pending > MAX_EVENT_BYTES ? eventTooLarge(provider) : undefined;
}

/** An upstream body whose event outgrew MAX_EVENT_BYTES: not an answer, so another deployment may give one. */
function eventTooLarge(provider: string): GatewayError {
  return GatewayError.invalidResponse(
    `Provider ${provider} sent more than ${MAX_EVENT_BYTES / 1024 / 1024} MiB without ending an event: not an SSE stream.`,
  );
}
