import { ApiError, type GenerateContentResponse } from '@google/genai';
import { EventTurns, nextTurn } from '../event-turns';
import { parseExactIntegers } from '../exact-integers';
import { DONE, type Releasable } from '../map-stream';
import { oversizedEvent } from '../openai/partial-event';
import { SseLines } from '../sse-lines';

/**
 * The chunks of a `streamGenerateContent?alt=sse` answer (each a partial GenerateContentResponse)
 * as the SDK's `generateContentStream` yields them, read from the answer's body by the gateway
 * instead of by the SDK, whose reader parses every network chunk as JSON, builds a `Response`
 * per event and rescans its whole buffer for three delimiters per event (6-8x the CPU of the
 * OpenAI-format path). The SDK's rules: an event's data is JSON (invalid JSON throws a
 * SyntaxError); one that is an error object with an HTTP code throws the SDK's ApiError, after
 * the events before it; a body that ends inside an event throws "Incomplete JSON segment", unless
 * what is left is such an error object sent bare. Lines end with LF, CRLF or CR, `data:` lines
 * are joined by LF, other fields are ignored. There SSE is followed where the SDK is not (it takes
 * `data:` off an event's first line only and parses the rest): several `data:` lines are one JSON
 * text (the SDK fails on them), and JSON continued on lines without `data:` is not read (the SDK
 * reads it; Google sends each event's JSON on one line). The SDK's converter only copies these
 * fields, so the parsed JSON is the chunk. Closing it early closes the body. An event not ended
 * within 8 MiB (MAX_EVENT_BYTES) fails it as `provider`'s invalid answer. The chunk that ends the answer
 * (StreamEnd; `candidates`: how many were asked for) is the last one read: the body is released then, as
 * after OpenAI's `[DONE]` and Anthropic's `message_stop`, without waiting for its end.
 */
export function chunkEvents(
  provider: string,
  body: AsyncIterable<Uint8Array>,
  candidates: number,
): AsyncIterator<GenerateContentResponse, undefined> {
  return new ChunkEvents(body[Symbol.asyncIterator](), new EventLines(provider), new StreamEnd(candidates));
}

/**
 * Where a Gemini answer ends. `streamGenerateContent` has no end marker: the API closes the body after its last
 * chunk, which holds each candidate's finishReason and the final usageMetadata. A server or proxy that keeps the
 * connection open after it left the stream waiting until the provider's `timeoutMs`, which failed an answer the
 * client had whole. A chunk with a finishReason is not always the last, though: a finish may come before its usage
 * (a chunk of usage alone follows, and the bill needs it), or before the other candidates' (`n` > 1). So the answer
 * ends at the first chunk, at or after the one where every candidate asked for has finished, whose usage counts the
 * prompt and the output (what usageFrom bills: Vertex sends usage without counts on the chunks before, and Gemini
 * running totals of the prompt alone, also on the finish chunk, before a chunk of the whole usage: recheck33b D1, an
 * answer cut there billed as an estimate). What may still come (a grounding's metadata) is nothing the translation
 * reads. A stream that never has such a chunk (an answer without output counts none) is read to its end.
 */
class StreamEnd {
  private readonly finished = new Set<number>();

  constructor(private readonly candidates: number) {}

  reachedAt(chunk: GenerateContentResponse): boolean {
    if (Array.isArray(chunk.candidates))
      for (const candidate of chunk.candidates) if (candidate?.finishReason) this.finished.add(candidate.index ?? 0);
    const usage = chunk.usageMetadata;
    return this.finished.size >= this.candidates && usage?.promptTokenCount != null && usage.candidatesTokenCount != null;
  }
}

class ChunkEvents implements AsyncIterator<GenerateContentResponse, undefined> {
  private events: GenerateContentResponse[] = [];
  private at = 0;
  private reading = true;
  /** What the reader threw, thrown once the events read before it were handed on. */
  private failure: { error: unknown } | undefined;
  /** A burst's events handed on between turns of the event loop (event-turns.ts). */
  private readonly turns = new EventTurns();

  constructor(
    private readonly source: AsyncIterator<Uint8Array> & Partial<Releasable>,
    private readonly lines: EventLines,
    private readonly end: StreamEnd,
  ) {}

  async next(): Promise<IteratorResult<GenerateContentResponse, undefined>> {
    if (this.turns.due()) await nextTurn();
    while (this.at >= this.events.length) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        await this.return();
        throw error;
      }
      if (!this.reading) return DONE;
      const read = await this.source.next();
      this.events = [];
      this.at = 0;
      try {
        if (read.done) {
          this.reading = false;
          this.lines.end(this.events);
        } else {
          this.lines.read(read.value, this.events);
          this.stopAtEnd();
        }
      } catch (error) {
        this.failure = { error };
      }
    }
    return { value: this.events[this.at++]!, done: false };
  }

  /** Once a read held the answer's last chunk: what follows it is dropped and the body released (its end not awaited). */
  private stopAtEnd(): void {
    const last = this.events.findIndex((event) => this.end.reachedAt(event));
    if (last < 0) return;
    this.events.length = last + 1;
    this.reading = false;
    if (this.source.release) this.source.release();
    else void this.source.return?.();
  }

  /** Stops reading: the events not handed on are dropped, the body (if still read) closed. */
  async return(): Promise<IteratorResult<GenerateContentResponse, undefined>> {
    const { reading } = this;
    [this.reading, this.events, this.at] = [false, [], 0];
    if (reading) await this.source.return?.();
    return DONE;
  }
}

/** SSE lines (sse-lines.ts) read into events. */
class EventLines {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly lines = new SseLines();
  /** The event's `data:` values so far. */
  private data: string[] = [];
  /** The event's other lines: a bare JSON error's, should the body end with one. */
  private other: string[] = [];
  /** The length of `data`'s and `other`'s lines, line ends counted: about their bytes. */
  private length = 0;

  constructor(private readonly provider: string) {}

  read(chunk: Uint8Array, events: GenerateContentResponse[]): void {
    this.lines.read(this.decoder.decode(chunk, { stream: true }), (line) => this.line(line, events));
    const oversized = oversizedEvent(this.provider, this.length + this.lines.pendingLength);
    if (oversized) throw oversized;
  }

  end(events: GenerateContentResponse[]): void {
    this.lines.read(this.decoder.decode(), (line) => this.line(line, events));
    const other = [...this.other, this.lines.rest()].join('\n');
    if (!this.data.length && !other.trim()) return;
    // What the SDK checks every network chunk for: an error object sent without `data:`.
    if (!this.data.length) throwIfError(parseOrUndefined(other));
    throw new Error('Incomplete JSON segment at the end');
  }

  private line(line: string, events: GenerateContentResponse[]): void {
    if (!line) {
      this.other = [];
      this.length = 0;
      if (!this.data.length) return;
      const data = this.data.join('\n');
      this.data = [];
      if (!data.trim()) return;
      const event = parseExactIntegers(data) as GenerateContentResponse;
      throwIfError(event);
      events.push(event);
      return;
    }
    this.length += line.length + 1;
    if (line.startsWith('data:')) this.data.push(line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5));
    else this.other.push(line);
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return parseExactIntegers(text);
  } catch {
    return undefined;
  }
}

/** An error object with an HTTP code, as the SDK's ApiError for it (its message: what fromGeminiError parses). */
function throwIfError(chunk: unknown): void {
  const error = (chunk as { error?: unknown } | null | undefined)?.error;
  if (error === null || typeof error !== 'object') return;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (typeof code === 'number' && code >= 400 && code < 600)
    throw new ApiError({ message: `got status: ${String(status)}. ${JSON.stringify(chunk)}`, status: code });
}
