import {
  bodyText,
  parseExactIntegers,
  type ChatStream,
  type CompletionUsage,
  type JsonResult,
  mapStream,
  parseEvent,
} from '@gateway/providers';
import { anthropicUsage } from './response';

const MESSAGE_START = Buffer.from('message_start');
const MESSAGE_DELTA = Buffer.from('message_delta');
/** Where one event of whole events ends: its blank line (LF or CRLF line ends: the native stream keeps CRLFs). */
const AFTER_EVENT = /(?<=\r?\n\r?\n)/;

/**
 * An Anthropic upstream's own message (the Messages API's pass-through) given the bill's counts (billedCounts) when the
 * bill did not take the upstream's usage, as a translated message carries the usage billed (toMessage, MessageEvents).
 * `billed()`: the usage the gateway bills for the usage the message reported (accounting.ts). A client sizing its
 * context by these counts (Claude Code) read none, `null` (which Anthropic's SDKs type as a number), an output of 1e12
 * the bill did not believe, or cache reads added to a prompt the bill estimated whole.
 */
export function withBilledCounts(result: JsonResult, billed: () => CompletionUsage): JsonResult {
  const bill = billed();
  // The bill took the upstream's usage: billedUsage gives it back, the same object.
  if (bill === result.usage) return result;
  const message = parseExactIntegers(bodyText(result.body)) as { usage?: unknown };
  const usage = billedCounts(message.usage, bill);
  return usage ? { ...result, body: JSON.stringify({ ...message, usage }) } : result;
}

/**
 * An Anthropic upstream's own event stream given the bill's counts as withBilledCounts gives a created message, in
 * message_start (the bill of the prompt: the estimate when the upstream counted none believable) and message_delta (of
 * the whole answer), each when the bill did not take the usage reported by then. message_delta comes after the last
 * content, so the estimate counts all of it (the router counts each read's output before handing it on,
 * PrimedStream.produced). Every stream is looked at, as an output count the bill does not believe comes in
 * message_delta: a search a read and a layer (+0.3 µs a read, measured in process when only streams without whole
 * usage had them), and twice a stream (message_start, message_delta) an event parsed, a read of the usage so far
 * (~1 µs measured then) and the bill's check of it.
 */
export function streamWithBilledCounts(frames: ChatStream, billed: (reported: CompletionUsage | undefined) => CompletionUsage): ChatStream {
  const counted: ChatStream = {
    native: frames.native,
    runningUsage: frames.runningUsage,
    [Symbol.asyncIterator]: () =>
      mapStream<string | Uint8Array, string | Uint8Array>(frames, {
        step: (events) => [withBilledEvents(events, frames, billed)],
        // The usage the upstream's stream set as it ended, for accounting.
        end: () => {
          counted.usage = frames.usage;
          return [];
        },
      }),
  };
  return counted;
}

/** `events` (whole events), their message_start's and message_delta's usage given the bill's counts. */
function withBilledEvents(
  events: string | Uint8Array,
  frames: ChatStream,
  billed: (reported: CompletionUsage | undefined) => CompletionUsage,
): string | Uint8Array {
  const bytes = typeof events === 'string' ? Buffer.from(events) : Buffer.from(events.buffer, events.byteOffset, events.byteLength);
  if (bytes.indexOf(MESSAGE_START) < 0 && bytes.indexOf(MESSAGE_DELTA) < 0) return events;
  let changed = false;
  const out = bytes
    .toString('utf8')
    .split(AFTER_EVENT)
    .map((event) => {
      const data = event.includes('message_') ? parseEvent(event) : undefined;
      const shown = data && billedEvent(data, frames, billed);
      if (!shown) return event;
      changed = true;
      return `event: ${String(data.type)}\ndata: ${JSON.stringify(shown)}\n\n`;
    });
  return changed ? out.join('') : events;
}

/**
 * A message_start or message_delta given the bill's counts for the usage reported by then (the stream's running usage
 * reads message_delta's before it is handed on), when the bill did not take it. Undefined for any other event, or one
 * that keeps its counts.
 */
function billedEvent(
  data: Record<string, unknown>,
  frames: ChatStream,
  billed: (reported: CompletionUsage | undefined) => CompletionUsage,
): object | undefined {
  if (data.type !== 'message_start' && data.type !== 'message_delta') return undefined;
  const reported = reportedSoFar(frames);
  const bill = billed(reported);
  if (bill === reported) return undefined;
  if (data.type === 'message_delta') {
    const usage = billedCounts(data.usage ?? {}, bill);
    return usage && { ...data, usage };
  }
  const message = countsOf(data.message);
  const usage = message && billedCounts(message.usage, bill);
  return usage && { ...data, message: { ...message, usage } };
}

/**
 * `usage` (an object) with the counts of `bill`, the usage billed, in Anthropic's shape: fresh input, output, cache reads
 * and writes (anthropicUsage). Where the bill took the upstream's prompt they are its own; where it estimated the prompt
 * there are no cache reads or writes (the estimate is the whole prompt). Undefined when `usage` is no object.
 */
function billedCounts(usage: unknown, bill: CompletionUsage): Record<string, unknown> | undefined {
  const counts = countsOf(usage);
  return counts && { ...counts, ...anthropicUsage(bill) };
}

/** The usage a stream reported: once it ended, else so far (Anthropic's message_start has the prompt's counts). */
export function reportedSoFar(frames: ChatStream): CompletionUsage | undefined {
  return frames.usage ?? frames.runningUsage?.soFar()?.usage;
}

function countsOf(usage: unknown): Record<string, unknown> | undefined {
  return typeof usage === 'object' && usage !== null && !Array.isArray(usage) ? (usage as Record<string, unknown>) : undefined;
}
