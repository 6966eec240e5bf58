import type Anthropic from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import { mapStream, type StreamSteps } from '../map-stream';
import { endedEvents, ERROR_EVENT_LINE, eventData, parseEvent } from '../parse-event';
import { ERROR_WORD } from '../openai/error-event';
import { LoneCrs } from '../openai/lone-crs';
import { PartialEvent } from '../openai/partial-event';
import { framedEvents, midStreamError, truncated } from '../openai/stream';
import type { ChatStream, RunningUsage } from '../provider';
import { isObject } from '../translation/chunk-shape';
import { vendorError } from '../translation/errors';
import { type AnthropicUsage, servedTier, usageFrom } from './response';
import { mergeUsage } from './stream';
import { anthropicMapping } from './error-mapping';

/** How much of the stream's end is kept to find message_stop and the last usage (a message_delta is ~0.3 KB). */
const TAIL_BYTES = 4096;
/** message_start is the first event; a head longer than this without one is not Anthropic's stream. */
const HEAD_BYTES = 64 * 1024;
/** How message_stop's event ends as Anthropic sends it: its data, nothing but its type, and the blank line. */
const STOP_END = Buffer.from('{"type":"message_stop"}\n\n');
const STOP = Buffer.from('message_stop');
const EVENT_SEPARATOR = /\n\r?\n/;
const NO_OUTPUT: Buffer[] = [];

/** An `error` event's `error`, as far as it is read (any field may be missing or of another type). */
type ErrorEventBody = { type?: unknown; message?: unknown; details?: unknown };

/**
 * Anthropic's event stream as it came, for a client of the Messages API (the request was
 * native, `CallContext.native`): nothing is translated, so every block and field Claude
 * streams (server tool calls and results, citations, signatures, stop details, cache write
 * tokens) reaches the client as sent, and no chunk is parsed. Only the edges are read:
 * message_start's usage from the first event; at the end, message_stop (without it the
 * stream was cut; with it the stream ends, even if the upstream keeps the connection open) and
 * the last message_delta's usage. An `error` event before the answer
 * begins (as the first event, or after message_start, pings and an empty first text block's start) throws before anything is
 * sent, so the router can fail over; a later one is not relayed: the stream fails as the event
 * says, and the SSE writer sends the gateway's one error event, without the provider's key
 * (`toError`: some upstreams repeat the key they were sent; relayed, it reached the client).
 *
 * Forwarded on event boundaries, as the OpenAI-format pass-through is (PartialEvent, its 8 MiB
 * bound on an event, lone CRs made LFs), each event checked on its bytes to hold data framed as
 * a JSON object (dataFramedAsJson): a proxy's page, a cut or bare-word event ends the stream with
 * the gateway's error before it (relayed, the SDK threw a SyntaxError). Bytes that are not UTF-8
 * go out as U+FFFD, as every translated stream's do.
 */
export function nativeStream(provider: string, body: AsyncIterable<Uint8Array>, toError: (err: unknown) => GatewayError): ChatStream {
  const stream: ChatStream = {
    native: 'anthropic',
    [Symbol.asyncIterator]: () => mapStream(body, new NativeEvents(provider, stream, toError)),
  };
  return stream;
}

class NativeEvents implements StreamSteps<Uint8Array, Uint8Array>, RunningUsage {
  /** The bytes before the answer's first event (past message_start and pings) is whole; undefined once it was read. */
  private head: Buffer | undefined = Buffer.alloc(0);
  /** message_start's usage, once it came. */
  private started: AnthropicUsage | undefined;
  private readonly tail: Buffer[] = [];
  private tailBytes = 0;
  /** The word message_stop came by: an event's end is then looked for in any form SSE allows. */
  private stopNamed = false;
  /** The end of the bytes before, where the word may have begun. */
  private carry = Buffer.alloc(0);
  private readonly partial: PartialEvent;
  private readonly lineEnds = new LoneCrs();
  complete = false;

  constructor(
    private readonly provider: string,
    private readonly stream: ChatStream,
    private readonly toError: (err: unknown) => GatewayError,
  ) {
    stream.runningUsage = this;
    this.partial = new PartialEvent(provider);
  }

  step(chunk: Uint8Array): Uint8Array[] {
    let bytes: Buffer | undefined = this.lineEnds.toLf(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    // Nothing is sent before the answer's first event is whole and known not to be an error.
    if (this.head) bytes = this.readHead(bytes);
    if (!bytes) return [];
    this.tail.push(bytes);
    this.tailBytes += bytes.length;
    while (this.tailBytes - this.tail[0]!.length >= TAIL_BYTES) this.tailBytes -= this.tail.shift()!.length;
    // message_stop ends the answer even when the upstream keeps the connection open after it. As
    // Anthropic sends it, a byte compare finds it; CRLF or CR line ends, `event:` without its space or
    // data not written compact (Anthropic-compatible upstreams) are read from the tail's text.
    this.stopNamed ||= bytes.includes(STOP) || Buffer.concat([this.carry, bytes.subarray(0, STOP.length - 1)]).includes(STOP);
    this.carry = Buffer.from(bytes.subarray(Math.max(0, bytes.length - (STOP.length - 1))));
    this.complete = endsWith(this.tail, STOP_END) || (this.stopNamed && endsWithStop(tailText(this.tail)));
    const events = this.partial.events(bytes);
    // Nothing after message_stop goes out (a proxy's keep-alive comments, unended).
    if (this.complete) this.partial.clear();
    return this.checked(events);
  }

  end(): Uint8Array[] {
    const tail = tailText(this.tail);
    const error = lastEvent(tail, 'error') as { error?: ErrorEventBody } | undefined;
    if (error) throw this.eventError(error);
    if (eventAt(tail, 'message_stop') < 0) throw truncated(this.provider);
    const usage = this.usageWith(lastDeltaUsage(tail));
    this.stream.usage = usageFrom(usage);
    this.stream.serviceTier = servedTier(usage);
    // A last event without its blank line (the body ended right after it), ended with one.
    const rest = this.partial.rest();
    return this.checked(rest && endedEvents(rest));
  }

  /**
   * Whole events, as they may go to the client: an `error` event throws (the stream fails as it says,
   * nothing of it relayed), so does one whose data is not framed as a JSON object; one whose data is
   * empty (`event: ping` and `data:`, a proxy's keep-alive) holds nothing and is dropped, as the
   * OpenAI-format streams drop it (framedEvents: it ended the stream with an api_error, where the
   * Anthropic SDK skips it); bytes that are not UTF-8 are replaced (framedEvents). Cheap on the usual events: three
   * searches over their bytes, no parse (only events with the word "error" in them are parsed).
   */
  private checked(events: Buffer | undefined): Uint8Array[] {
    if (!events) return NO_OUTPUT;
    if (events.indexOf(ERROR_WORD) >= 0) {
      const error = errorEvent(events);
      if (error) throw this.eventError(error);
    }
    const framed = framedEvents(this.provider, events);
    return framed.length ? [framed] : NO_OUTPUT;
  }

  soFar() {
    if (!this.started) return undefined;
    const delta = lastDeltaUsage(tailText(this.tail));
    const usage = usageFrom(this.usageWith(delta));
    return usage && { usage, outputCounted: delta !== undefined };
  }

  /** message_start's usage, with a message_delta's output counts (they are cumulative); none without message_start's. */
  private usageWith(delta: Anthropic.MessageDeltaUsage | undefined): AnthropicUsage | undefined {
    return mergeUsage(this.started, delta);
  }

  fail(err: unknown): never {
    throw midStreamError(this.provider, this.toError(err));
  }

  /**
   * The bytes so far once the answer's first event is whole, else undefined. Anthropic sends
   * message_start, pings and the first text block's content_block_start (empty) before it knows whether
   * it can answer: an `error` among them or right after them throws, so the router can still fail
   * over, as it does on chat and Responses, whose translations send nothing before the first delta.
   */
  private readHead(bytes: Buffer): Buffer | undefined {
    const head = this.head!.length ? Buffer.concat([this.head!, bytes]) : bytes;
    // Read from its start at each read: it is at most HEAD_BYTES, and whole after a read or two.
    const all = withLf(head.toString('utf8'));
    for (let from = 0; ;) {
      const end = all.indexOf('\n\n', from);
      if (end < 0 && head.length < HEAD_BYTES) {
        this.head = head;
        return undefined;
      }
      // Not one event ended in HEAD_BYTES: no event stream (a server streaming something else),
      // refused before anything is sent, so the router may fail over (it was relayed as the answer).
      if (end < 0 && from === 0) throw notAStream(this.provider);
      const text = all.slice(from, end < 0 ? all.length : end);
      const event = parseEvent(text);
      if (event?.type === 'error') throw this.eventError(event as never);
      const usage = (event?.message as { usage?: AnthropicUsage } | undefined)?.usage;
      if (event?.type === 'message_start' && usage) {
        this.started = usage;
        // Known from the start: a stream cut later is billed in the tier that served it too.
        this.stream.serviceTier = servedTier(usage);
      }
      // Events without data (`: ping` comments a proxy sends while it waits), or with empty data, are no answer either.
      const beforeAnswer = event ? event.type === 'message_start' || event.type === 'ping' || opensEmptyBlock(event) : !eventData(text);
      if (end < 0 || !beforeAnswer) break;
      from = end + 2;
    }
    this.head = undefined;
    return head;
  }

  private eventError(event: { error?: ErrorEventBody }): GatewayError {
    const { type, message, details } = event.error ?? {};
    return vendorError(
      this.provider,
      anthropicMapping(undefined, type, (details as { error_code?: unknown } | null | undefined)?.error_code, message),
      typeof message === 'string' ? message : 'The upstream failed mid-stream.',
    );
  }
}

/** The first `error` event among `events` (`event: error`, or data whose type is `error`), its data ({} when not JSON). */
function errorEvent(events: Buffer): { error?: ErrorEventBody } | undefined {
  for (const event of events.toString('utf8').split(EVENT_SEPARATOR)) {
    if (!event.includes('rror')) continue;
    const data = parseEvent(event);
    if (data?.type === 'error' || ERROR_EVENT_LINE.test(event)) return typeof data === 'object' && data !== null ? data : {};
  }
  return undefined;
}

/**
 * A content_block_start of a text block with nothing in it yet, as Anthropic opens one right before its first delta:
 * no answer yet (held, the gateway's translations send nothing for it). A tool call's opening, with its name, or a
 * server tool's result, is answer; so is a thinking block's opening, empty or not: with its thinking omitted
 * (`display: "omitted"`) it has no delta but its signature, after the whole of its thinking, pings meanwhile. Held,
 * that was no first byte and no keep-alive for minutes, and the attempt's timeout cut a healthy answer (an
 * independent check).
 */
function opensEmptyBlock(event: Record<string, unknown>): boolean {
  if (event.type !== 'content_block_start' || !isObject(event.content_block)) return false;
  const { type, text } = event.content_block;
  return type === 'text' && text === '';
}

/** A body whose first event did not end within HEAD_BYTES: not an answer, so another deployment may give one. */
function notAStream(provider: string): GatewayError {
  return GatewayError.invalidResponse(
    `Provider ${provider} sent more than ${HEAD_BYTES / 1024} KiB without ending its first event: not an SSE stream.`,
  );
}

/** Whether the bytes of `parts`, one after the other, end with `suffix`; compared from the end, without joining them. */
function endsWith(parts: Buffer[], suffix: Buffer): boolean {
  let s = suffix.length;
  for (let p = parts.length - 1; p >= 0; p--) {
    const part = parts[p]!;
    for (let i = part.length - 1; i >= 0; i--) {
      if (part[i] !== suffix[--s]) return false;
      if (s === 0) return true;
    }
  }
  return false;
}

/** SSE lines may end with CRLF, LF or CR: what is inspected is read with LF only (the bytes go on as they came). */
function withLf(text: string): string {
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** The tail's text, line ends as LF. */
function tailText(tail: Buffer[]): string {
  return withLf(Buffer.concat(tail).toString('utf8'));
}

/** Whether `tail` ends with a whole message_stop event (then nothing but blank lines and comments, a proxy's keep-alives). */
function endsWithStop(tail: string): boolean {
  const at = eventAt(tail, 'message_stop');
  if (at < 0) return false;
  const end = tail.indexOf('\n\n', at);
  return end >= 0 && /^(\n|:[^\n]*(\n|$))*$/.test(tail.slice(end));
}

/** The usage of the last message_delta in `tail`, if one is there whole. */
function lastDeltaUsage(tail: string): Anthropic.MessageDeltaUsage | undefined {
  return (lastEvent(tail, 'message_delta') as { usage?: Anthropic.MessageDeltaUsage } | undefined)?.usage;
}

/** The payload of the last `type` event in `tail`, if one is there whole. */
function lastEvent(tail: string, type: string): Record<string, unknown> | undefined {
  const at = eventAt(tail, type);
  if (at < 0) return undefined;
  const end = tail.indexOf('\n\n', at);
  return parseEvent(tail.slice(at, end < 0 ? tail.length : end));
}

/**
 * Where the last `event: <type>` line (the space is optional in SSE) starts in `tail`, or -1. At a
 * line start only: the same words inside a delta's text (JSON, where a newline is `\n`) are not an event.
 */
function eventAt(tail: string, type: string): number {
  let last = -1;
  for (const line of [`event: ${type}\n`, `event:${type}\n`]) {
    const at = tail.lastIndexOf(`\n${line}`);
    last = Math.max(last, at >= 0 ? at + 1 : tail.startsWith(line) ? 0 : -1);
  }
  return last;
}
