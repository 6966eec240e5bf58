import { type ChatCompletionChunk, type ChatStream, GatewayError, mapStream } from '@gateway/providers';

/** A protocol's stream codec: the SSE events it makes of chat chunks, each event's text whole. */
export interface ChunkEncoder {
  /** The events one chunk makes. */
  chunk(chunk: ChatCompletionChunk): string[];
  /** The closing events, once the chat stream ended normally. */
  end(): string[] | Promise<string[]>;
}

/**
 * The pipeline's OpenAI SSE frames re-encoded in another protocol, read once: one output
 * per frame (the events of all its chunks joined), not one per event, so a stream costs
 * a write per upstream read. An error event inside the stream (OpenAI-format upstreams
 * forward theirs) throws, so the stream ends with its protocol's failure events like
 * any other failure. Usage reads through to the frames, which fill it in as they end
 * (and what was reported of it so far, for a stream that ends early).
 */
export function encodeChunks(frames: ChatStream, encoder: ChunkEncoder): ChatStream {
  return new EncodedStream(frames, encoder);
}

/**
 * A class and not an object literal with `get usage()`: V8 makes such a literal a
 * dictionary-mode object, and what its accessor closed over (the frames, hence the request's
 * upstream objects) was then promoted at scavenges instead of dying young. On the Messages
 * route that was 130-190 KB promoted a scavenge against 6 KB (BENCHMARKS.md, "Changes, each
 * measured"); why, inside V8, was not established.
 */
class EncodedStream implements ChatStream {
  constructor(
    private readonly frames: ChatStream,
    private readonly encoder: ChunkEncoder,
  ) {}

  get usage() {
    return this.frames.usage;
  }

  get runningUsage() {
    return this.frames.runningUsage;
  }

  [Symbol.asyncIterator](): AsyncIterator<string, undefined> {
    const reader = new ChunkReader();
    const encoder = this.encoder;
    return mapStream<string | Uint8Array, string>(this.frames, {
      step: (frame) => joined(reader.step(frame).flatMap((chunk) => encoder.chunk(chunk))),
      end: async () => joined(await encoder.end()),
    });
  }
}

function joined(events: string[]): string[] {
  return events.length ? [events.join('')] : [];
}

/**
 * The chat chunks in SSE frames, whatever the read boundaries. Events and lines are found
 * with indexOf rather than split: no arrays of events and lines a read, and a frame's text
 * is copied only when it has CR line ends to normalise (SSE allows them; few send them).
 */
class ChunkReader {
  private readonly decoder = new TextDecoder();
  private rest = '';

  step(frame: string | Uint8Array): ChatCompletionChunk[] {
    let text = this.rest + (typeof frame === 'string' ? frame : this.decoder.decode(frame, { stream: true }));
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    const chunks: ChatCompletionChunk[] = [];
    let start = 0;
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
      readEvent(text, start, end, chunks);
      start = end + 2;
    }
    this.rest = start ? text.slice(start) : text;
    return chunks;
  }
}

/** The chunks of the event in text[start, end): each `data:` line but `[DONE]`. */
function readEvent(text: string, start: number, end: number, chunks: ChatCompletionChunk[]): void {
  for (let line = start; line < end;) {
    const newline = text.indexOf('\n', line);
    const stop = newline < 0 || newline > end ? end : newline;
    if (text.startsWith('data:', line)) {
      const payload = text.slice(line + 5, stop).trim();
      if (payload && payload !== '[DONE]') chunks.push(parseChunk(payload));
    }
    line = stop + 1;
  }
}

function parseChunk(payload: string): ChatCompletionChunk {
  const chunk = JSON.parse(payload) as ChatCompletionChunk & { error?: { message?: string; code?: string | null } };
  if (chunk.error) {
    throw new GatewayError(
      502,
      chunk.error.message ?? 'The upstream failed mid-stream.',
      'upstream_error',
      chunk.error.code ?? 'upstream_error',
    );
  }
  return chunk;
}
