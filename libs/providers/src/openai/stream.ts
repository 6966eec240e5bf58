import type { Dispatcher } from 'undici';
import { GatewayError } from '../gateway-error';
import type { ChatStream } from '../provider';
import { fromTransportError } from './errors';

/** How many trailing upstream chunks we keep to find `[DONE]` and the usage chunk. */
const TAIL_CHUNKS = 3;

/**
 * Forwards an OpenAI SSE body chunk by chunk without parsing it. Only the last few
 * chunks are inspected at the end: to check the stream really finished (`[DONE]`)
 * and to pick up `usage` when the upstream sent it.
 */
export function passThroughStream(provider: string, res: Dispatcher.ResponseData, signal: AbortSignal): ChatStream {
  const stream: ChatStream = {
    async *[Symbol.asyncIterator]() {
      const tail: Buffer[] = [];
      let finished = false;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (tail.push(chunk) > TAIL_CHUNKS) tail.shift();
          yield chunk;
        }
        finished = true;
      } catch (err) {
        const error = fromTransportError(provider, err, signal);
        throw error.code === 'upstream_unreachable' ? truncated(provider) : error;
      } finally {
        // The consumer stopped early (client went away): release the upstream socket.
        if (!finished) res.body.destroy();
      }
      const end = Buffer.concat(tail).toString('utf8');
      if (!end.includes('data: [DONE]')) throw truncated(provider);
      stream.usage = lastUsage(end);
    },
  };
  return stream;
}

/** The upstream closed a stream without its end marker. */
export function truncated(provider: string): GatewayError {
  return new GatewayError(502, `Provider ${provider} ended the stream before it was complete.`, 'upstream_error', 'upstream_stream_truncated', null, {}, true);
}

function lastUsage(text: string): ChatStream['usage'] {
  const events = text.split('\n\n');
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i].trim();
    if (!event.startsWith('data: {') || !event.includes('"usage"')) continue;
    try {
      const usage = JSON.parse(event.slice(6)).usage;
      if (usage) return usage;
    } catch {
      // A partial event at the start of the tail: nothing to read there.
    }
  }
  return undefined;
}
