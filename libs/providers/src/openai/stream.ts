import { EventTurns, nextTurn } from '../event-turns';
import { GatewayError } from '../gateway-error';
import { mapStream, type StreamSteps } from '../map-stream';
import { eventData } from '../parse-event';
import type { ChatStream } from '../provider';
import { CallIndexes } from './call-indexes';
import { dataFramedAsJson } from './data-framing';
import { upstreamErrorEvent } from './error-event';
import { notAnObjectEvent, parseChunkEvent } from '../translation/errors';
import { utf8Bytes } from '../utf8-bytes';
import { fromTransportError } from './errors';
import { isSpace, valueAt } from './json-bytes';
import { LoneCrs } from './lone-crs';
import { eventAt, eventsEnd, PartialEvent } from './partial-event';
import { withCacheHits } from './usage-bytes';

/**
 * How much of the stream's end we keep to find `[DONE]` and the usage event: the last
 * chunks that hold at least this many bytes (a usage event is ~0.5 KB). By bytes, not by
 * chunks: an upstream that sends the end a few bytes at a time would otherwise push
 * `data: [DONE]` out of the tail and the stream would be called truncated.
 */
const TAIL_BYTES = 4096;
const USAGE_KEY = Buffer.from('"usage"');
/**
 * The usage key (withoutUsage) without its opening quote: the search runs from one occurrence of the first byte
 * to the next, and `"` is the commonest byte of JSON (2 µs less over the bench's 3.8 KB stream); the quote
 * before it is then checked.
 */
const USAGE_MARK = Buffer.from('usage"');
const QUOTE = 0x22;
const CHOICES_KEY = Buffer.from('"choices"');
const COMMA = 0x2c;
const OBJECT = 0x7b; // {
const OBJECT_END = 0x7d; // }
const ARRAY = 0x5b; // [
const DATA_FIELD = Buffer.from('data:');
const DONE_VALUE = Buffer.from('[DONE]');
/** A `data` field's line in an event's text (at a line start by SSE's line ends alone: ERROR_EVENT_LINE). */
const DATA_LINE = /(?<![^\r\n])data(?::|(?![^\r\n]))/;
/** The end marker of a finished stream whose server left it out (PassThrough.end). */
const DONE_ADDED = Buffer.from('data: [DONE]\n\n');
const FINISH_REASON_KEY = Buffer.from('"finish_reason"');
const LF = 0x0a;
const LF_END = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');
const SPACE = 0x20;
const CR = 0x0d;
const NO_OUTPUT: Buffer[] = [];
/**
 * At most this much of a stream's opening is held back while no chunk has a choice (see PassThrough.answering):
 * past it the events go on as they are (an upstream that streams endless empty chunks is not held in memory).
 */
const MAX_HELD_BYTES = 64 * 1024;

/**
 * Forwards an OpenAI SSE body without parsing it, on event boundaries: what follows the
 * last blank line of a chunk waits for the next one. So an upstream that breaks off
 * mid-event never leaves half an event before the error event, and a stream that fails
 * before its first whole event can still fall back (the router starts a stream at its
 * first chunk). Only the last few chunks are inspected at the end: to check the stream
 * really finished (`[DONE]`) and to pick up `usage`. With `stripUsage` (the client did not ask
 * for usage: the gateway did, or the server sends it unasked) the usage event is cut out, and the
 * `"usage":null` the other chunks carry with it (OpenAI sends the field only when asked). An
 * error event the upstream sends ends the stream as the gateway's error, without the provider's
 * key (`apiKey`) in its text. A reader that stops early closes the body, which releases the
 * upstream socket. With `toolsDeclared` (the request has tools) each tool call gets its own `index` (call-indexes.ts):
 * OpenAI-format servers that send none, or the same one for every call, are read right by the client's SDK. Every stream from an OpenAI-format upstream (`openai`, `openai-compatible`) is
 * read here, so this is where a burst is handed on between turns of the event loop (event-turns.ts):
 * undici hands over each HTTP chunk (an upstream's event, as a rule) as a read of its own.
 */
export function passThroughStream(
  provider: string,
  res: { body: AsyncIterable<Buffer> },
  signal: AbortSignal,
  stripUsage: boolean,
  apiKey?: string,
  toolsDeclared = false,
): ChatStream {
  const stream: ChatStream = {
    [Symbol.asyncIterator]: () =>
      mapStream(res.body, new PassThrough(provider, signal, stripUsage, stream, apiKey, toolsDeclared ? new CallIndexes() : undefined)),
  };
  return stream;
}

class PassThrough implements StreamSteps<Buffer, Buffer> {
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;
  private readonly partial: PartialEvent;
  private readonly lineEnds = new LoneCrs();
  /** An event with data came. */
  private started = false;
  /**
   * A chunk with a choice came: the answer began. Until then events are held (`held`), so that a stream of
   * none (a usage chunk, then `[DONE]`) is no answer before anything is sent: the attempt fails and the next
   * deployment answers. An opening chunk without choices (Azure's prompt-filter verdict) waits for the first one.
   */
  private answering = false;
  /** The held events went out (past MAX_HELD_BYTES) before any choice came. */
  private released = false;
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  /** Reads counted for turns of the event loop: a burst of buffered reads would go on in microtasks alone. */
  private readonly turns = new EventTurns();
  complete = false;

  constructor(
    private readonly provider: string,
    private readonly signal: AbortSignal,
    private readonly stripUsage: boolean,
    private readonly stream: ChatStream,
    private readonly apiKey: string | undefined,
    /** Set when the request has tools: a request without tools gets no call, and its stream is not searched for one. */
    private readonly calls: CallIndexes | undefined,
  ) {
    this.partial = new PartialEvent(provider);
  }

  step(received: Buffer): Buffer[] | Promise<Buffer[]> {
    const out = this.forward(received);
    return this.turns.due() ? nextTurn().then(() => out) : out;
  }

  /** What a read forwards: the whole events it ends. */
  private forward(read: Buffer): Buffer[] {
    const received = this.lineEnds.toLf(read);
    this.tail.push(received);
    this.tailBytes += received.length;
    while (this.tailBytes - this.tail[0]!.length >= TAIL_BYTES) this.tailBytes -= this.tail.shift()!.length;
    let events = this.partial.events(received);
    if (!events) return NO_OUTPUT;
    if (!this.started) {
      events = fromFirstData(events);
      if (!events) return NO_OUTPUT;
      this.started = true;
    }
    const error = upstreamErrorEvent(this.provider, events, this.apiKey, this.answering || this.released);
    if (error) throw error;
    if (!this.answering) {
      const opening = openingChunks(this.provider, events, this.apiKey);
      if (opening === 'done') throw noAnswer(this.provider);
      this.answering = opening === 'choice';
      if (!this.answering && !this.released && this.heldBytes + events.length <= MAX_HELD_BYTES) {
        this.held.push(events);
        this.heldBytes += events.length;
        return NO_OUTPUT;
      }
      // Past the hold's bound the events go on, still read until a choice: none by `[DONE]` is no answer
      // (an error event then, as the answer has begun).
      this.released = true;
      if (this.held.length) events = Buffer.concat([...this.held.splice(0), events]);
    }
    events = framedEvents(this.provider, events);
    if (!events.length) return NO_OUTPUT;
    if (this.calls) events = this.calls.numbered(events);
    // `[DONE]` ends the answer even when the upstream keeps the connection open after it, and what follows it in the
    // same read (a proxy's keep-alive comment: recheck34b D1, the stream waited for the idle timeout) is not sent.
    const done = throughDone(events);
    if (done) {
      this.complete = true;
      this.partial.clear();
      events = done;
    }
    return [this.stripUsage ? withoutUsage(events) : events];
  }

  /**
   * The stream is complete with its `[DONE]`, or, from a server that leaves it out (text-generation-webui and
   * TGI did), when its body ended cleanly right after whole events the last finish_reason of which is set: the
   * client then gets the `[DONE]` OpenAI sends. Otherwise it was cut, and an incomplete last event is not sent.
   */
  end(): Buffer[] {
    // A response that ended cleanly before any chunk with a choice answered nothing: not a cut connection.
    if (!this.answering) throw noAnswer(this.provider);
    // Most streams come in one read: that read is the tail, not a copy of it.
    const end = this.tail.length === 1 ? this.tail[0]! : Buffer.concat(this.tail);
    // A `[DONE]` line set `complete` (forward), or is the last event, which the upstream did not end with its blank
    // line (http34 D3). Its bytes elsewhere do not count (utf34 D6: in a text delta quoting them, a cut answer passed).
    const rest = this.partial.rest();
    const lastDone = rest && throughDone(rest);
    const done = this.complete || lastDone !== undefined;
    if (!done && (rest?.toString('latin1').trim() || !finishedLast(end))) throw truncated(this.provider);
    const last = lastUsage(end);
    this.stream.usage = last?.usage;
    this.stream.serviceTier = last?.serviceTier;
    if (!done) return [DONE_ADDED];
    return lastDone ? [lastDone] : NO_OUTPUT;
  }

  fail(err: unknown): never {
    throw midStreamError(this.provider, fromTransportError(this.provider, err, this.signal));
  }
}

/**
 * `events` as they go out, the first ones included: an event that is not JSON must not reach the client (its SDK
 * throws a SyntaxError), and one whose data is empty does not either (withoutEmptyDataEvents). The events are
 * looked at again only when their framing failed: the usual stream has no empty data. Bytes that are not UTF-8 go
 * out replaced (utf8Bytes): whole events end on a line end, so no character is split between two reads.
 */
export function framedEvents(provider: string, events: Buffer): Buffer {
  if (dataFramedAsJson(events)) return utf8Bytes(events);
  const kept = withoutEmptyDataEvents(events);
  if (!dataFramedAsJson(kept)) throw notAnObjectEvent(provider);
  return utf8Bytes(kept);
}

/**
 * `events` (whole SSE events, and what follows the last) without those whose data is empty (`data:`, `data: `, a
 * keep-alive of some servers): such an event holds no chunk, and the openai SDKs, which dispatch it, fail on it
 * (JSON.parse of ''), so one forwarded ended the client's stream. Comments and other events are kept, byte for byte.
 */
function withoutEmptyDataEvents(events: Buffer): Buffer {
  const kept: Buffer[] = [];
  for (let from = 0; from < events.length;) {
    const { end, next } = eventAt(events, from);
    const event = events.toString('utf8', from, end);
    if (eventData(event) || !DATA_LINE.test(event)) kept.push(events.subarray(from, next));
    from = next;
  }
  return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
}

/**
 * `events` from the first one with a `data:` line, undefined when none has one. Events without
 * data (`: ping` comments, which proxies and some servers send while the model is queued) are no
 * answer: the attempt's timeout and fallback still apply, as before any byte. Once the answer
 * began, comments pass through as the upstream sent them (keep-alives for the client's proxies).
 */
function fromFirstData(events: Buffer): Buffer | undefined {
  // A byte-order mark may open the stream (SSE ignores it); read as text before `data:`, it hid the first event.
  if (events[0] === 0xef && events[1] === 0xbb && events[2] === 0xbf) events = events.subarray(3);
  for (let at = events.indexOf(DATA_FIELD); at >= 0; at = events.indexOf(DATA_FIELD, at + 1)) {
    if (at > 0 && events[at - 1] !== LF && events[at - 1] !== CR) continue;
    let start = eventsEnd(events.subarray(0, at));
    // Blank lines right before it (an event's end cut between reads left one in this read) are no part of it.
    while (start < at && (events[start] === LF || events[start] === CR)) start++;
    return start ? events.subarray(start) : events;
  }
  return undefined;
}

/**
 * Reads the events of a stream's opening (before any chunk with a choice) up to the first chunk with a
 * choice (`choice`), or its `[DONE]` (`done`: the stream held no answer), or their end (`no choice yet`).
 * Each is checked to be a chunk (parseChunkEvent): one that is not is the upstream's invalid answer, before
 * anything is sent, so the attempt fails and another deployment may answer, as after an HTTP error. Only
 * these are parsed: the events after the first choice are forwarded unread (a parse of each costs the hot
 * path more than it is worth, docs/providers.md), their data only checked to be framed as a JSON object
 * (dataFramedAsJson); the codecs that translate a stream parse every event and report one that is not
 * JSON as this does.
 */
function openingChunks(provider: string, events: Buffer, apiKey: string | undefined): 'choice' | 'done' | 'no choice yet' {
  for (let from = 0; from < events.length;) {
    const { end, next } = eventAt(events, from);
    const event = events.toString('utf8', from, end);
    from = next;
    const data = eventData(event);
    // No data: a comment (a keep-alive), or empty data, which holds no chunk either (withoutEmptyDataEvents).
    if (!data) continue;
    if (data === '[DONE]') return 'done';
    if (parseChunkEvent<{ choices?: unknown[] | null }>(provider, data, apiKey).choices?.length) return 'choice';
  }
  return 'no choice yet';
}

/** A stream that ended before its first chunk with a choice, at its `[DONE]` or its end: the upstream's invalid answer (retryable). */
function noAnswer(provider: string): GatewayError {
  return GatewayError.invalidResponse(`Provider ${provider} ended the stream without sending a chunk with a choice.`);
}

/**
 * `events` (whole events, line ends LF or CRLF) through the event of their `[DONE]` line, when they hold one; else
 * undefined. What follows that event is not sent. One search of the read for `[DONE]`, which text rarely holds, and a
 * look at its line: its bytes inside a text are no end (utf34 D6). Spaces after it (the Python SDK tests the data's
 * start) are taken out: the Node SDK compares the whole data (recheck34b D3). An event the stream ended without its
 * blank line gets one (http34 D3), in the line ends the upstream used.
 */
function throughDone(events: Buffer): Buffer | undefined {
  for (let at = events.indexOf(DONE_VALUE); at >= 0; at = events.indexOf(DONE_VALUE, at + DONE_VALUE.length)) {
    const line = at - DATA_FIELD.length - (events[at - 1] === SPACE ? 1 : 0);
    if (line < 0 || (line > 0 && events[line - 1] !== LF)) continue;
    if (events.compare(DATA_FIELD, 0, DATA_FIELD.length, line, line + DATA_FIELD.length) !== 0) continue;
    const valueEnd = at + DONE_VALUE.length;
    let after = valueEnd;
    while (events[after] === SPACE) after++;
    if (after < events.length && events[after] !== LF && events[after] !== CR) continue;
    const end = eventEnd(events, after);
    // The usual `[DONE]`: the read as it came, no copy when it is the last event.
    if (after === valueEnd && end >= 0) return end === events.length ? events : events.subarray(0, end);
    if (end >= 0) return Buffer.concat([events.subarray(0, valueEnd), events.subarray(after, end)]);
    let last = events.length;
    while (last > after && (events[last - 1] === LF || events[last - 1] === CR)) last--;
    const eol = events[after] === CR ? CRLF : LF_END;
    return Buffer.concat([events.subarray(0, valueEnd), events.subarray(after, last), eol, eol]);
  }
  return undefined;
}

/** Where the event whose line ends at `from` ends: past its blank line; -1 when the bytes end before one. */
function eventEnd(events: Buffer, from: number): number {
  const lineEndAt = (i: number) => (events[i] === CR && events[i + 1] === LF ? 2 : events[i] === LF || events[i] === CR ? 1 : 0);
  for (let at = from; at < events.length;) {
    const ending = lineEndAt(at);
    if (!ending) {
      at++;
      continue;
    }
    const blank = lineEndAt(at + ending);
    if (blank) return at + ending + blank;
    at += ending;
  }
  return -1;
}

/**
 * `events` without the usage the client did not ask for: the `choices: []` + usage event, with its blank line,
 * and the `"usage": null` field of the other chunks, with a comma beside it (OpenAI writes that field into every
 * chunk but the usage chunk when `include_usage` is set, and none when it is not: its API reference; the gateway
 * sets it for the bill, so without this a client that did not ask saw it on every chunk). The rest goes byte for
 * byte. Works on the bytes (no decoding and re-encoding of the chunk), JSON whitespace allowed around the colons
 * (Python servers write `"usage": {`): a `"usage"` followed by a colon is a key (in a JSON string its closing
 * quote would be escaped). One search a read finds both (USAGE_MARK).
 */
function withoutUsage(events: Buffer): Buffer {
  const kept: Buffer[] = [];
  let cursor = 0; // the first byte not yet kept or dropped
  for (let at = events.indexOf(USAGE_MARK); at >= 0; at = events.indexOf(USAGE_MARK, Math.max(at + USAGE_MARK.length, cursor))) {
    const value = events[at - 1] === QUOTE ? valueAt(events, at + USAGE_MARK.length) : -1;
    if (value < 0) continue;
    let start: number;
    let end: number;
    if (events[value] === OBJECT) {
      start = eventsEnd(events.subarray(0, at));
      const event = eventAt(events, start);
      if (!hasNoChoices(events, start, event.end)) continue;
      end = event.next;
    } else if (isNullAt(events, value)) {
      // The comma before it (`…],"usage":null}`), or else the one after it (`{"usage":null,…`), on its line: JSON
      // split over `data:` lines (valid SSE) is left as it came where the field's comma is on another line.
      start = at - 1;
      end = value + 4;
      let before = start - 1;
      while (isInlineSpace(events[before])) before--;
      let after = end;
      while (isInlineSpace(events[after])) after++;
      if (events[before] === COMMA) start = before;
      else if (events[after] === COMMA) end = after + 1;
      else if (events[before] !== OBJECT || events[after] !== OBJECT_END) continue;
    } else continue;
    if (start > cursor) kept.push(events.subarray(cursor, start));
    cursor = Math.max(end, cursor);
  }
  if (cursor === 0) return events;
  if (cursor < events.length) kept.push(events.subarray(cursor));
  return kept.length === 1 ? kept[0]! : Buffer.concat(kept);
}

/** A space or tab: JSON whitespace that does not end an SSE line. */
function isInlineSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

/** Whether `null` is at `at`: four byte compares, not a Buffer method (each is a call into C++). */
function isNullAt(bytes: Buffer, at: number): boolean {
  return bytes[at] === 0x6e && bytes[at + 1] === 0x75 && bytes[at + 2] === 0x6c && bytes[at + 3] === 0x6c;
}

/** Whether the event in [start, end) has `"choices": []`. */
function hasNoChoices(events: Buffer, start: number, end: number): boolean {
  for (let at = events.indexOf(CHOICES_KEY, start); at >= 0 && at < end; at = events.indexOf(CHOICES_KEY, at + 1)) {
    let i = valueAt(events, at + CHOICES_KEY.length, end);
    if (i < 0 || events[i] !== ARRAY) continue;
    do i++;
    while (i < end && isSpace(events[i]));
    if (i < end && events[i] === 0x5d /* ] */) return true;
  }
  return false;
}

/** A failure after the answer began: a broken connection leaves the stream incomplete, not the upstream unreachable. */
export function midStreamError(provider: string, error: GatewayError): GatewayError {
  return error.code === 'upstream_unreachable' ? truncated(provider) : error;
}

/**
 * Whether the last `finish_reason` in `tail` (the stream's last bytes, whole events) is set, not null: the answer's
 * last choice finished. A usage chunk after it has none (`choices: []`).
 */
function finishedLast(tail: Buffer): boolean {
  const at = tail.lastIndexOf(FINISH_REASON_KEY);
  if (at < 0) return false;
  const value = valueAt(tail, at + FINISH_REASON_KEY.length);
  return value >= 0 && tail[value] === QUOTE;
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

/** The usage of the last event in the stream's tail that carries one, and the service tier it names, read from the bytes around it. */
function lastUsage(tail: Buffer): Pick<ChatStream, 'usage' | 'serviceTier'> | undefined {
  let at = tail.lastIndexOf(USAGE_KEY);
  while (at >= 0) {
    const start = eventsEnd(tail.subarray(0, at));
    // Its data lines joined (the data of one event may span several), as the codecs read it.
    const data = eventData(tail.toString('utf8', start, eventAt(tail, at).end).trim());
    if (data) {
      try {
        const chunk = JSON.parse(data);
        if (chunk.usage)
          return {
            usage: withCacheHits(chunk.usage),
            serviceTier: typeof chunk.service_tier === 'string' ? chunk.service_tier : undefined,
          };
      } catch {
        // A partial event at the start of the tail: nothing to read there.
      }
    }
    at = start > 0 ? tail.lastIndexOf(USAGE_KEY, start - 1) : -1;
  }
  return undefined;
}
