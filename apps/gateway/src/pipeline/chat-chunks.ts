import { type ChatCompletionChunk, type ChatStream, GatewayError, mapStream, type StreamSteps } from '@gateway/providers';

/**
 * The chat chunks in the pipeline's OpenAI SSE frames, whatever the read boundaries.
 * An error event inside the stream (OpenAI-format upstreams forward theirs) throws, so
 * a codec's stream ends with its protocol's failure events like any other failure.
 */
export function chatChunks(frames: ChatStream): AsyncIterableIterator<ChatCompletionChunk, undefined> {
  return mapStream(frames, new ChunkReader());
}

class ChunkReader implements StreamSteps<string | Uint8Array, ChatCompletionChunk> {
  private readonly decoder = new TextDecoder();
  private rest = '';

  step(frame: string | Uint8Array): ChatCompletionChunk[] {
    const events = (this.rest + (typeof frame === 'string' ? frame : this.decoder.decode(frame, { stream: true })))
      .replace(/\r\n?/g, '\n')
      .split('\n\n');
    this.rest = events.pop()!;
    const chunks: ChatCompletionChunk[] = [];
    for (const event of events) {
      for (const line of event.split('\n')) {
        const payload = line.startsWith('data:') ? line.slice(5).trim() : '';
        if (!payload || payload === '[DONE]') continue;
        const chunk = JSON.parse(payload) as ChatCompletionChunk & { error?: { message?: string; code?: string | null } };
        if (chunk.error) {
          throw new GatewayError(
            502,
            chunk.error.message ?? 'The upstream failed mid-stream.',
            'upstream_error',
            chunk.error.code ?? 'upstream_error',
          );
        }
        chunks.push(chunk);
      }
    }
    return chunks;
  }
}
