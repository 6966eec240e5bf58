import { type ChatCompletionChunk, type ChatStream, GatewayError } from '@gateway/providers';

/**
 * The chat chunks in the pipeline's OpenAI SSE frames, whatever the read boundaries.
 * An error event inside the stream (OpenAI-format upstreams forward theirs) throws,
 * so the Responses stream ends with response.failed like any other failure.
 */
export async function* chatChunks(frames: ChatStream): AsyncGenerator<ChatCompletionChunk> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const frame of frames) {
    const events = (rest + (typeof frame === 'string' ? frame : decoder.decode(frame, { stream: true })))
      .replace(/\r\n?/g, '\n')
      .split('\n\n');
    rest = events.pop()!;
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
        yield chunk;
      }
    }
  }
}
