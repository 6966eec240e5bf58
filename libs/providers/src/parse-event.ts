/**
 * An `event: error` line of an SSE event: at a line start and end by SSE's line ends alone (CR, LF), not a regular
 * expression's `^`/`$` under `m`, which also match at U+2028 / U+2029: text holding them unescaped (JSON allows it)
 * and then the words `event: error` ended a healthy stream (utf34 D1).
 */
export const ERROR_EVENT_LINE = /(?<![^\r\n])event: ?error(?![^\r\n])/;

const EVENT_END = Buffer.from('\n\n');

/**
 * `events` ended by a blank line, the last of which a stream ended without it (TGI-style servers, a proxy trimming the
 * body): SSE readers dispatch an event only at its blank line, so the client never got it (http34 D3: a `[DONE]` or a
 * `message_stop` lost to eventsource-parser, which the Vercel AI SDK reads with).
 */
export function endedEvents(events: Buffer): Buffer {
  let end = events.length;
  while (end > 0 && (events[end - 1] === 0x0a || events[end - 1] === 0x0d)) end--;
  return Buffer.concat([events.subarray(0, end), EVENT_END]);
}

/** An SSE event's `data:` lines' values, joined by LF (SSE's rule), trimmed: '' for an event without data, or with empty data. */
export function eventData(event: string): string {
  // The usual event is one `data:` line: its value as it is, without splitting it into lines.
  if (!event.includes('\n')) return event.startsWith('data:') ? event.slice(5).trim() : '';
  return event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .join('\n')
    .trim();
}

/** An SSE event's `data:` payload, or undefined when it is not JSON. */
export function parseEvent(event: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(eventData(event)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
