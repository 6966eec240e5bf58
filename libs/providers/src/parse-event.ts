/** An SSE event's `data:` payload, or undefined when it is not JSON. */
export function parseEvent(event: string): Record<string, unknown> | undefined {
  const data = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .join('\n');
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
