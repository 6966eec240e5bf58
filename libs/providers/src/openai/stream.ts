import type { Dispatcher } from 'undici';
import { GatewayError } from '../gateway-error';
import type { ChatStream } from '../provider';
import { fromTransportError } from './errors';

/** How many trailing upstream chunks we keep to find `[DONE]` and the usage chunk. */
const TAIL_CHUNKS = 3;
const USAGE_MARK = Buffer.from('"usage":{');
const EVENT_END = Buffer.from('\n\n');

/**
 * Forwards an OpenAI SSE body chunk by chunk without parsing it. Only the last few
 * chunks are inspected at the end: to check the stream really finished (`[DONE]`)
 * and to pick up `usage`. With `stripUsage` (the gateway asked for usage, the
 * client did not) the usage event is cut out: chunks are then forwarded on event
 * boundaries so that event is always seen whole.
 */
export function passThroughStream(provider: string, res: Dispatcher.ResponseData, signal: AbortSignal, stripUsage: boolean): ChatStream {
  const stream: ChatStream = {
    async *[Symbol.asyncIterator]() {
      const tail: Buffer[] = [];
      let carry: Buffer | undefined;
      let finished = false;
      try {
        for await (const received of res.body as AsyncIterable<Buffer>) {
          if (tail.push(received) > TAIL_CHUNKS) tail.shift();
          if (!stripUsage) {
            yield received;
            continue;
          }
          const chunk = carry ? Buffer.concat([carry, received]) : received;
          const end = chunk.lastIndexOf(EVENT_END);
          carry = end < 0 ? chunk : end + 2 < chunk.length ? chunk.subarray(end + 2) : undefined;
          if (end >= 0) yield withoutUsageEvent(chunk.subarray(0, end + 2));
        }
        if (carry) yield carry;
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

/** Drops the `choices: []` + usage event the client did not ask for; other events pass untouched. */
function withoutUsageEvent(events: Buffer): Buffer {
  if (events.indexOf(USAGE_MARK) < 0) return events;
  const kept = events
    .toString('utf8')
    .split('\n\n')
    .filter((event) => !(event.includes('"usage":{') && event.includes('"choices":[]')));
  return Buffer.from(kept.join('\n\n'));
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
