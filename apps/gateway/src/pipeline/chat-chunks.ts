import { type ChatCompletionChunk, type ChatStream, dataOf, GatewayError, mapStream, parseChunkEvent, SseEvents } from '@gateway/providers';

/** A protocol's stream codec: the SSE events it makes of chat chunks, each event's text whole. */
export interface ChunkEncoder {
  /** The events one chunk makes. */
  chunk(chunk: ChatCompletionChunk): string[];
  /** The closing events, once the chat stream ended normally. */
  end(): string[] | Promise<string[]>;
  /** The protocol's keep-alive event (ChatStream.keepAlive); none without. */
  keepAlive?: string;
}

/**
 * The pipeline's OpenAI SSE frames re-encoded in another protocol, read once: one output
 * per frame (the events of all its chunks joined), not one per event, so a stream costs
 * a write per upstream read. An error event inside the stream (OpenAI-format upstreams
 * forward theirs) throws, so the stream ends with its protocol's failure events like
 * any other failure. Usage reads through to the frames, which fill it in as they end
 * (and what was reported of it so far, for a stream that ends early).
 */
export function encodeChunks(frames: ChatStream, encoder: ChunkEncoder, provider = 'upstream'): ChatStream {
  return new EncodedStream(frames, encoder, provider);
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
    private readonly provider: string,
  ) {}

  get usage() {
    return this.frames.usage;
  }

  get runningUsage() {
    return this.frames.runningUsage;
  }

  get keepAlive() {
    return this.encoder.keepAlive;
  }

  [Symbol.asyncIterator](): AsyncIterator<string, undefined> {
    const reader = new ChunkReader(this.provider);
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
 * The chat chunks in SSE frames, whatever the read boundaries: each event's data but `[DONE]`.
 * `provider`: whose frames they are, named when one is not JSON (an OpenAI-format upstream's events
 * pass through unread after the first, passThroughStream).
 */
class ChunkReader {
  private readonly events = new SseEvents();

  constructor(private readonly provider: string) {}

  step(frame: string | Uint8Array): ChatCompletionChunk[] {
    const chunks: ChatCompletionChunk[] = [];
    this.events.read(frame, (lines) => {
      // An event's data is its `data:` lines' values joined by LF (SSE): a chunk's JSON may span several.
      let payload: string | undefined;
      for (const line of lines) {
        const data = dataOf(line);
        if (data !== undefined) payload = payload === undefined ? data : `${payload}\n${data}`;
      }
      if (payload && payload !== '[DONE]') chunks.push(parseChunk(this.provider, payload));
    });
    return chunks;
  }
}

function parseChunk(provider: string, payload: string): ChatCompletionChunk {
  const chunk = parseChunkEvent<ChatCompletionChunk & { error?: { message?: string; code?: string | null } }>(provider, payload);
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
