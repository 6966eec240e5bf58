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
