/** An SSE event's `data:` lines' values, joined by LF (SSE's rule), each trimmed. */
export function eventData(event: string): string {
  return event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .join('\n');
}

/** An SSE event's `data:` payload, or undefined when it is not JSON. */
export function parseEvent(event: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(eventData(event)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
