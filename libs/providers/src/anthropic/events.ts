import { APIError } from '@anthropic-ai/sdk';
import type Anthropic from '@anthropic-ai/sdk';
import { DONE, mapStream, type StreamSteps } from '../map-stream';

type Event = Anthropic.RawMessageStreamEvent;

/**
 * Anthropic's event stream as the events the SDK's `messages.create({ stream: true })` yields,
 * read from the bytes undici hands over (NativeMessages) instead of through the SDK's fetch
 * `Response` and web stream. The same rules as the SDK's reader: SSE lines ended by LF, CRLF or
 * CR, a BOM dropped, `event:` and `data:` fields only (several `data:` lines joined by LF), an
 * event dispatched by a blank line (and by the end of the stream after a line end); `ping` and
 * events without a name skipped, an `error` event thrown as the SDK's `APIError`, any other
 * event's data parsed as JSON (an empty one skipped; an invalid one throws). message_stop is the
 * last event read: the body is released then, without waiting for its end.
 */
export function messageEvents(body: AsyncIterable<Uint8Array>, headers: () => Headers): AsyncIterator<Event> {
  const items = mapStream(body, new EventReader(headers));
  const close = async (): Promise<IteratorResult<Event, undefined>> => {
    await items.return?.();
    return DONE;
  };
  return {
    async next(): Promise<IteratorResult<Event, undefined>> {
      const item = await items.next();
      if (item.done || !(item.value instanceof Failure)) return item as IteratorResult<Event, undefined>;
      await close();
      throw item.value.error;
    },
    return: close,
  };
}

/**
 * A failure in a read's text, after the events before it: it is thrown when the reader gets
 * to it, as the SDK throws it, so those events come first whatever the read boundaries.
 */
class Failure {
  constructor(readonly error: unknown) {}
}

class EventReader implements StreamSteps<Uint8Array, Event | Failure> {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /**
   * The text after the last whole line, in the pieces it came in: no piece holds a line end but
   * for a CR last in the last one (maybe half a CRLF). Joined only once a line end comes, so a
   * long event (a base64 image, a tool call's arguments: up to 8 MiB) is scanned once, not again
   * with every chunk (that cost grew with the square of its length: 4 MB, ~3 s of CPU).
   */
  private pending: string[] = [];
  private event: string | null = null;
  private data: string[] = [];
  /** message_stop came: the answer is whole, whatever follows (an upstream may keep the connection open). */
  complete = false;

  /** The answer's headers, for an `error` event's APIError: built only then. */
  constructor(private readonly headers: () => Headers) {}

  step(chunk: Uint8Array): (Event | Failure)[] {
    const fresh = this.decoder.decode(chunk, { stream: true });
    const held = this.pending.at(-1);
    const heldCr = held !== undefined && held.charCodeAt(held.length - 1) === 0x0d;
    if (!heldCr && fresh.indexOf('\n') < 0 && fresh.indexOf('\r') < 0) {
      if (fresh) this.pending.push(fresh);
      return [];
    }
    const text = this.pending.join('') + fresh;
    this.pending = [];
    const events: (Event | Failure)[] = [];
    let start = 0;
    // What was pending holds no line end (but its held CR): the scan starts where it did.
    for (let i = text.length - fresh.length - (heldCr ? 1 : 0); i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (char !== 0x0a && char !== 0x0d) continue;
      // A CR last in the text may be the first half of a CRLF: read again with what follows.
      if (char === 0x0d && i + 1 === text.length) break;
      if (!this.line(text.slice(start, i), events) || this.complete) return events;
      if (char === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
      start = i + 1;
    }
    if (start < text.length) this.pending.push(text.slice(start));
    return events;
  }

  end(): (Event | Failure)[] {
    if (this.complete) return [];
    const text = this.pending.join('') + this.decoder.decode();
    const events: (Event | Failure)[] = [];
    if (text) for (const line of text.replace(/\r$/, '').split(/\r\n|[\n\r]/)) if (!this.line(line, events)) break;
    return events;
  }

  /** Reads one line into `events`; false once it failed (a Failure is the last item then). */
  private line(line: string, events: (Event | Failure)[]): boolean {
    if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (!line) {
      // As the SDK: an empty `event:` with no data dispatches nothing and stays set.
      if (!this.event && !this.data.length) return true;
      const [event, data] = [this.event, this.data.join('\n')];
      this.event = null;
      this.data = [];
      try {
        this.dispatch(event, data, events);
      } catch (err) {
        events.push(new Failure(err));
        return false;
      }
      return true;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return true;
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'event' && field !== 'data') return true;
    const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 0x20 ? colon + 2 : colon + 1);
    if (field === 'event') this.event = value;
    else this.data.push(value);
    return true;
  }

  private dispatch(event: string | null, data: string, events: (Event | Failure)[]): void {
    if (event === null || event === 'ping') return;
    if (event === 'error') {
      let body: unknown = data;
      try {
        body = JSON.parse(data) ?? data;
      } catch {
        // Not JSON: the SDK keeps the text.
      }
      const type = (body as { error?: { type?: Anthropic.ErrorType } } | undefined)?.error?.type;
      throw new APIError(undefined, body as object, undefined, this.headers(), type);
    }
    if (!data) return;
    const parsed = JSON.parse(data) as Event;
    events.push(parsed);
    if (parsed.type === 'message_stop') this.complete = true;
  }
}
