import { type ChatStream, mapStream, parseExactIntegers, SseEvents } from '@gateway/providers';
import type { AnthropicBlock } from '../wire';

/**
 * Whether a threaded answer was kept, its id continuing the thread: `false` when another continue of
 * the same response was kept first (this one's claim had lapsed) or the store could not keep it. The
 * answer is served all the same (the model ran, and is paid for); its id then continues nothing
 * (thread_not_found, or thread_too_large for a thread the in-process store could not hold).
 * A stream's headers are gone by then: its `message_stop` event says it (`gateway_thread_kept`).
 */
export const THREAD_KEPT_HEADER = 'x-gateway-thread-kept';

/** A Messages API response as a thread keeps it: its id, and the assistant turn it adds. */
export interface ThreadReply {
  id: string;
  content: AnthropicBlock[];
}

type StreamEvent = {
  type: string;
  index?: number;
  message?: { id: string; content?: AnthropicBlock[] };
  content_block?: AnthropicBlock;
  delta?: Record<string, unknown>;
};

/**
 * The message an Anthropic event stream carries, rebuilt from its events as the SDKs do
 * (text, thinking and signature deltas appended; a tool input's JSON fragments parsed at the
 * block's end), with `id` in place of the stream's own. `reply` is set once `message_stop`
 * arrived: a stream cut before it has no reply.
 */
class MessageAssembler {
  reply: ThreadReply | undefined;
  private readonly events = new SseEvents();
  private readonly content: AnthropicBlock[] = [];
  private readonly json = new Map<number, string>();

  constructor(private readonly id: string) {}

  /** The lines of each event `frame` ended, in order: [] for a blank line that ended no event. */
  feed(frame: string | Uint8Array): string[][] {
    const events: string[][] = [];
    this.events.read(frame, (lines) => void events.push(lines));
    return events;
  }

  /** An event taken in, as sent (LF line ends) but for message_start's id. */
  read(lines: string[]): string {
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith('data:')) continue;
      const data = JSON.parse(line.slice(5)) as StreamEvent;
      this.take(data);
      if (data.type === 'message_start') lines[i] = `data: ${JSON.stringify({ ...data, message: { ...data.message, id: this.id } })}`;
    }
    return lines.join('\n');
  }

  private take(event: StreamEvent): void {
    const at = event.index ?? 0;
    switch (event.type) {
      case 'message_start':
        this.content.push(...(event.message?.content ?? []));
        return;
      case 'content_block_start':
        this.content[at] = { ...event.content_block! };
        return;
      case 'content_block_delta':
        return this.delta(this.content[at], at, event.delta ?? {});
      case 'content_block_stop': {
        const json = this.json.get(at);
        if (json !== undefined && this.content[at]) this.content[at].input = json ? parseExactIntegers(json) : {};
        return;
      }
      case 'message_stop':
        this.reply = { id: this.id, content: this.content.filter(Boolean) };
    }
  }

  private delta(block: AnthropicBlock | undefined, at: number, delta: Record<string, unknown>): void {
    if (!block) return;
    if (delta.type === 'input_json_delta') this.json.set(at, (this.json.get(at) ?? '') + String(delta.partial_json ?? ''));
    else if (delta.type === 'text_delta') block.text = String(block.text ?? '') + String(delta.text ?? '');
    else if (delta.type === 'thinking_delta') block.thinking = String(block.thinking ?? '') + String(delta.thinking ?? '');
    else if (delta.type === 'signature_delta') block.signature = delta.signature;
    else if (delta.type === 'citations_delta') block.citations = [...((block.citations as unknown[]) ?? []), delta.citation];
  }
}

/**
 * `stream` (Anthropic's events) with the message id `id`, and `keep` called on its message once
 * `message_stop` went by, before that event reaches the client: a client that continues the
 * thread as soon as the stream ends finds it, and the event says whether it was kept.
 */
export function keepingReply(stream: ChatStream, id: string, keep: (reply: ThreadReply) => Promise<boolean>): ChatStream {
  return new KeepingStream(stream, id, keep);
}

/** A class, as EncodedStream (pipeline/chat-chunks.ts) is, for the same reason: usage read through a getter. */
class KeepingStream implements ChatStream {
  constructor(
    private readonly frames: ChatStream,
    private readonly id: string,
    private readonly keep: (reply: ThreadReply) => Promise<boolean>,
  ) {}

  get usage() {
    return this.frames.usage;
  }

  get runningUsage() {
    return this.frames.runningUsage;
  }

  get native() {
    return this.frames.native;
  }

  get keepAlive() {
    return this.frames.keepAlive;
  }

  [Symbol.asyncIterator]() {
    const assembler = new MessageAssembler(this.id);
    let kept = false;
    return mapStream<string | Uint8Array, string>(this.frames, {
      step: async (frame) => {
        let events = '';
        for (const lines of assembler.feed(frame)) {
          // A blank line that ends no event is passed on too: the text is the stream's, event for event.
          if (!lines.length) {
            events += '\n';
            continue;
          }
          const read = assembler.read(lines);
          if (!assembler.reply || kept) {
            events += `${read}\n\n`;
            continue;
          }
          kept = true; // the message_stop event, which says whether its message was
          events += `${withData(read, { gateway_thread_kept: await this.keep(assembler.reply) })}\n\n`;
        }
        return events ? [events] : [];
      },
    });
  }
}

/** An event with `fields` added to its data. */
function withData(event: string, fields: Record<string, unknown>): string {
  return event
    .split('\n')
    .map((line) => (line.startsWith('data:') ? `data: ${JSON.stringify({ ...JSON.parse(line.slice(5)), ...fields })}` : line))
    .join('\n');
}
