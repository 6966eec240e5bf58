import { bodyText, type ChatStream, type JsonResult, mapStream, parseEvent } from '@gateway/providers';

const MESSAGE_DELTA = Buffer.from('message_delta');
/** Where one event of whole events ends: its blank line (LF or CRLF line ends: the native stream keeps CRLFs). */
const AFTER_EVENT = /(?<=\r?\n\r?\n)/;

/**
 * An Anthropic upstream's own message (the Messages API's pass-through) whose usage has no `output_tokens` (a
 * compatible server's; Anthropic always counts it) given `output()`, the count the gateway bills (its estimate), as a
 * translated message carries the usage billed (toMessage, MessageEvents): a client sizing its context by it (Claude
 * Code) read none. Read only when the usage the adapter took from the message lacks the output count.
 */
export function withOutputCount(result: JsonResult, output: () => number): JsonResult {
  if (result.usage?.completion_tokens != null) return result;
  const message = JSON.parse(bodyText(result.body)) as { usage?: unknown };
  const usage = withOutput(message.usage, output);
  return usage ? { ...result, body: JSON.stringify({ ...message, usage }) } : result;
}

/**
 * An Anthropic upstream's own event stream whose message_delta has no `output_tokens` in its usage, given `output()`
 * as withOutputCount gives a created message: message_delta comes after the last content, so the estimate counts all
 * of it (the router counts each read's output before handing it on, PrimedStream.produced). Only a stream whose
 * message_start has no output count is looked at (a search a read, and a layer: +0.3 µs a read measured in process);
 * Anthropic's always has one, which the bill and the SDKs keep when message_delta has none, and its stream costs one
 * read of what was reported so far (1 µs) and no layer.
 */
export function streamWithOutputCount(frames: ChatStream, output: () => number): ChatStream {
  if (frames.runningUsage?.soFar()?.usage.completion_tokens != null) return frames;
  const counted: ChatStream = {
    native: frames.native,
    runningUsage: frames.runningUsage,
    [Symbol.asyncIterator]: () =>
      mapStream<string | Uint8Array, string | Uint8Array>(frames, {
        step: (events) => [withDeltaOutput(events, output)],
        // The usage the upstream's stream set as it ended, for accounting.
        end: () => {
          counted.usage = frames.usage;
          return [];
        },
      }),
  };
  return counted;
}

/** `events` (whole events), their message_delta given the output count when it has none. */
function withDeltaOutput(events: string | Uint8Array, output: () => number): string | Uint8Array {
  const bytes = typeof events === 'string' ? Buffer.from(events) : Buffer.from(events.buffer, events.byteOffset, events.byteLength);
  if (bytes.indexOf(MESSAGE_DELTA) < 0) return events;
  let changed = false;
  const out = bytes
    .toString('utf8')
    .split(AFTER_EVENT)
    .map((event) => {
      const data = event.includes('message_delta') ? parseEvent(event) : undefined;
      const usage = data?.type === 'message_delta' ? withOutput(data.usage ?? {}, output) : undefined;
      if (!usage) return event;
      changed = true;
      return `event: message_delta\ndata: ${JSON.stringify({ ...data, usage })}\n\n`;
    });
  return changed ? out.join('') : events;
}

/** `usage` (an object) with `output_tokens` from `output()` when it has none; undefined when it has one, or is no object. */
function withOutput(usage: unknown, output: () => number): Record<string, unknown> | undefined {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return undefined;
  const counts = usage as Record<string, unknown>;
  return counts.output_tokens == null ? { ...counts, output_tokens: output() } : undefined;
}
