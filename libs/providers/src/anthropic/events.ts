import { APIError } from '@anthropic-ai/sdk';
import type Anthropic from '@anthropic-ai/sdk';
import { DONE, mapStream, type StreamSteps } from '../map-stream';
import { oversizedEvent } from '../openai/partial-event';
import { SseLines } from '../sse-lines';
import { isObject } from '../translation/chunk-shape';
import { notAnObjectEvent } from '../translation/errors';

type Event = Anthropic.RawMessageStreamEvent;

/**
 * Anthropic's event stream as the events the SDK's `messages.create({ stream: true })` yields,
 * read from the bytes undici hands over (NativeMessages) instead of through the SDK's fetch
 * `Response` and web stream. The same rules as the SDK's reader: SSE lines ended by LF, CRLF or
 * CR, a BOM dropped, `event:` and `data:` fields only (several `data:` lines joined by LF), an
 * event dispatched by a blank line (and by the end of the stream after a line end); `ping` and
 * events without a name skipped, an `error` event thrown as the SDK's `APIError`, any other
 * event's data parsed as JSON (an empty one skipped; an invalid one throws). message_stop is the
 * last event read: the body is released then, without waiting for its end. An event not ended
 * within 8 MiB (MAX_EVENT_BYTES) fails the stream as `provider`'s invalid answer.
 */
export function messageEvents(provider: string, body: AsyncIterable<Uint8Array>, headers: () => Headers): AsyncIterator<Event> {
  const items = mapStream(body, new EventReader(provider, headers));
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
  private readonly lines = new SseLines();
  private event: string | null = null;
  private data: string[] = [];
  /** The length of the lines `data`'s values came in, line ends counted: about their bytes. */
  private dataLength = 0;
  /** message_stop came: the answer is whole, whatever follows (an upstream may keep the connection open). */
  complete = false;

  /** The answer's headers, for an `error` event's APIError: built only then. */
  constructor(
    private readonly provider: string,
    private readonly headers: () => Headers,
  ) {}

  step(chunk: Uint8Array): (Event | Failure)[] {
    const events: (Event | Failure)[] = [];
    this.lines.read(this.decoder.decode(chunk, { stream: true }), (line) => this.line(line, events) && !this.complete);
    const oversized = oversizedEvent(this.provider, this.dataLength + this.lines.pendingLength);
    if (oversized) events.push(new Failure(oversized));
    return events;
  }

  end(): (Event | Failure)[] {
    if (this.complete) return [];
    const events: (Event | Failure)[] = [];
    let read = true;
    this.lines.read(this.decoder.decode(), (line) => (read = this.line(line, events)));
    const rest = this.lines.rest();
    if (read && rest) this.line(rest, events);
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
      this.dataLength = 0;
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
    else {
      this.data.push(value);
      this.dataLength += line.length + 1;
    }
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
    // JSON of another kind (`null`, a number): no event's fields to read (the translation threw a TypeError on it).
    if (!isObject(parsed)) throw notAnObjectEvent(this.provider);
    events.push(parsed);
    if (parsed.type === 'message_stop') this.complete = true;
  }
}
