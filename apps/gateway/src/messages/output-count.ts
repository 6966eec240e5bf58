import { bodyText, type ChatStream, type CompletionUsage, type JsonResult, mapStream, parseEvent, wholeUsage } from '@gateway/providers';

const MESSAGE_START = Buffer.from('message_start');
const MESSAGE_DELTA = Buffer.from('message_delta');
/** Where one event of whole events ends: its blank line (LF or CRLF line ends: the native stream keeps CRLFs). */
const AFTER_EVENT = /(?<=\r?\n\r?\n)/;

/**
 * An Anthropic upstream's own message (the Messages API's pass-through) whose usage the bill did not take whole, given
 * `billed()`, the usage the gateway bills (accounting.ts), as a translated message carries the usage billed (toMessage,
 * MessageEvents): its counts where the upstream gave none (billedCounts). A client sizing its context by them (Claude
 * Code) read none, or `null`, which Anthropic's SDKs type as a number. Read only when the usage the adapter took from
 * the message is not whole.
 */
export function withBilledCounts(result: JsonResult, billed: () => CompletionUsage): JsonResult {
  if (wholeUsage(result.usage)) return result;
  const message = JSON.parse(bodyText(result.body)) as { usage?: unknown };
  const usage = billedCounts(message.usage, billed, result.usage === undefined);
  return usage ? { ...result, body: JSON.stringify({ ...message, usage }) } : result;
}

/**
 * An Anthropic upstream's own event stream given the bill's counts as withBilledCounts gives a created message:
 * message_start's input count when it has none (the bill's prompt: the estimate when the upstream counted none), and
 * message_delta's output count when the bill did not take the upstream's. message_delta comes after the last content,
 * so the estimate counts all of it (the router counts each read's output before handing it on, PrimedStream.produced).
 * Only a stream whose message_start has no whole usage is looked at (a search a read, and a layer: +0.3 µs a read
 * measured in process); Anthropic's always has one, which the bill and the SDKs keep when message_delta has none, and
 * its stream costs one read of what was reported so far (1 µs) and no layer.
 */
export function streamWithBilledCounts(frames: ChatStream, billed: () => CompletionUsage): ChatStream {
  if (frames.runningUsage?.soFar()?.usage.completion_tokens != null) return frames;
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
function withBilledEvents(events: string | Uint8Array, frames: ChatStream, billed: () => CompletionUsage): string | Uint8Array {
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
 * A message_start given the bill's prompt when it has no input count, a message_delta the bill's output when it has
 * none or the bill read no usage of the stream (its message_start had no input count: the whole is estimated).
 * Undefined for any other event, or one that keeps its counts.
 */
function billedEvent(data: Record<string, unknown>, frames: ChatStream, billed: () => CompletionUsage): object | undefined {
  if (data.type === 'message_start') {
    const message = countsOf(data.message);
    const usage = message && billedInput(message.usage, billed);
    return usage && { ...data, message: { ...message, usage } };
  }
  if (data.type !== 'message_delta') return undefined;
  const usage = billedOutput(data.usage ?? {}, billed, frames.runningUsage?.soFar() === undefined);
  return usage && { ...data, usage };
}

/**
 * `usage` (an object) showing the bill's counts where the bill did not take the upstream's: the output's when it has
 * none, and, when the bill read no usage of the answer (`estimated`: `"input_tokens": null`, which makes the whole
 * usage an estimate), the input's and the output's. Undefined when nothing changes, or `usage` is no object.
 */
function billedCounts(usage: unknown, billed: () => CompletionUsage, estimated: boolean): Record<string, unknown> | undefined {
  const input = billedInput(usage, billed, estimated);
  return billedOutput(input ?? usage, billed, estimated) ?? input;
}

/** `usage` (an object) with the bill's prompt as `input_tokens` when it has no count there (or `estimated`); else undefined. */
function billedInput(usage: unknown, billed: () => CompletionUsage, estimated = false): Record<string, unknown> | undefined {
  const counts = countsOf(usage);
  return counts && (estimated || counts.input_tokens == null) ? { ...counts, input_tokens: billed().prompt_tokens } : undefined;
}

/** `usage` (an object) with the bill's output as `output_tokens` when it has none (or `estimated`); else undefined. */
function billedOutput(usage: unknown, billed: () => CompletionUsage, estimated: boolean): Record<string, unknown> | undefined {
  const counts = countsOf(usage);
  return counts && (estimated || counts.output_tokens == null) ? { ...counts, output_tokens: billed().completion_tokens } : undefined;
}

function countsOf(usage: unknown): Record<string, unknown> | undefined {
  return typeof usage === 'object' && usage !== null && !Array.isArray(usage) ? (usage as Record<string, unknown>) : undefined;
}
