import { parseExactIntegers } from '../exact-integers';
import { eventData } from '../parse-event';
import { type ToolCallFragment, ToolCallSlots } from '../tool-call-slots';
import { eventAt, eventsEnd } from './partial-event';

/**
 * The end of the key `"tool_calls"`: a search runs from one occurrence of its first byte to the next, and `_` is rare
 * in a chunk where `"` and letters are not (2.2-2.7 µs over the bench's 13 events against 3.8-4.7 for `tool_calls"`
 * and 5.4-6.4 for the whole key). What else it finds (`"finish_reason":"tool_calls"`) is read and left as it is.
 */
const TOOL_CALLS_MARK = Buffer.from('_calls"');
const CR = 0x0d;

type Chunk = { choices?: unknown };
type Choice = { index?: unknown; delta?: { tool_calls?: unknown } | null } | null;

/**
 * Gives each tool call of a chat stream forwarded unparsed (passThroughStream) its own `index`, numbered as
 * ToolCallSlots numbers calls (0, 1, … in the order they begin). OpenAI keys a call's fragments by `index`, and so
 * does the openai SDK's stream helper; Ollama sends every call at 0, Mistral and Gemini's OpenAI-compatible endpoint
 * none, and the helper joined two calls' arguments into one or threw ("invalid tool call index: undefined"), where
 * the Messages and Responses streams of the same answer were right. Only the events with a `"tool_calls"` key are
 * read (one search a read, only when the request has tools), and only those with a fragment at another index are written again (their data as one
 * `data:` line, their other lines kept): OpenAI's own streams, whose indexes are their calls', go on byte for byte.
 */
export class CallIndexes {
  /** Per choice, which call each fragment is. */
  private readonly slots = new Map<number, ToolCallSlots>();

  /** `events` (whole SSE events, LF or CRLF) with each tool-call fragment at its call's index: `events` itself when every one was. */
  numbered(events: Buffer): Buffer {
    let at = events.indexOf(TOOL_CALLS_MARK);
    if (at < 0) return events;
    const parts: Buffer[] = [];
    let kept = 0;
    while (at >= 0) {
      const start = eventsEnd(events.subarray(0, at));
      const { end, next } = eventAt(events, start);
      const event = this.renumbered(events.toString('utf8', start, end), events[end] === CR ? '\r\n' : '\n');
      if (event !== undefined) {
        parts.push(events.subarray(kept, start), Buffer.from(event));
        kept = end;
      }
      at = events.indexOf(TOOL_CALLS_MARK, next);
    }
    if (!parts.length) return events;
    parts.push(events.subarray(kept));
    return Buffer.concat(parts);
  }

  /** The event's text with its fragments renumbered (lines ended by `lineEnd`), undefined when none needed it. */
  private renumbered(event: string, lineEnd: string): string | undefined {
    let chunk: Chunk;
    try {
      chunk = parseExactIntegers(eventData(event)) as Chunk;
    } catch {
      // Framed as JSON but no JSON (dataFramedAsJson reads the frame only): forwarded as it came, as any such event.
      return undefined;
    }
    if (!this.renumber(chunk)) return undefined;
    const lines = event.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
    const first = lines.findIndex((line) => line.startsWith('data:'));
    const rest = lines.slice(first).filter((line) => !line.startsWith('data:'));
    return [...lines.slice(0, first), `data: ${JSON.stringify(chunk)}`, ...rest].join(lineEnd);
  }

  /** Sets each fragment's `index` to its call's slot; whether one changed. Every fragment is read: the slots follow the stream. */
  private renumber(chunk: Chunk): boolean {
    if (!Array.isArray(chunk?.choices)) return false;
    let changed = false;
    for (const choice of chunk.choices as Choice[]) {
      const calls = choice?.delta?.tool_calls;
      if (!Array.isArray(calls)) continue;
      const index = typeof choice!.index === 'number' ? choice!.index : 0;
      let slots = this.slots.get(index);
      if (!slots) this.slots.set(index, (slots = new ToolCallSlots()));
      for (const call of calls as (ToolCallFragment | null)[]) {
        if (typeof call !== 'object' || call === null) continue;
        const slot = slots.of(call);
        if (call.index === slot) continue;
        call.index = slot;
        changed = true;
      }
    }
    return changed;
  }
}
