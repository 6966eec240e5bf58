import { type ChatStream, mapStream, SseEvents } from '@gateway/providers';
import type { AnthropicBlock } from '../wire';

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

  /** The whole events `frame` ended, as sent (LF line ends) but for message_start's id. */
  feed(frame: string | Uint8Array): string {
    let events = '';
    // A blank line that ends no event is passed on too: the text is the stream's, event for event.
    this.events.read(frame, (lines) => void (events += lines.length ? `${this.read(lines)}\n\n` : '\n'));
    return events;
  }

  private read(lines: string[]): string {
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
        if (json !== undefined && this.content[at]) this.content[at].input = json ? JSON.parse(json) : {};
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
 * thread as soon as the stream ends finds it.
 */
export function keepingReply(stream: ChatStream, id: string, keep: (reply: ThreadReply) => Promise<void>): ChatStream {
  return new KeepingStream(stream, id, keep);
}

/** A class, as EncodedStream (pipeline/chat-chunks.ts) is, for the same reason: usage read through a getter. */
class KeepingStream implements ChatStream {
  constructor(
    private readonly frames: ChatStream,
    private readonly id: string,
    private readonly keep: (reply: ThreadReply) => Promise<void>,
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

  [Symbol.asyncIterator]() {
    const assembler = new MessageAssembler(this.id);
    let kept = false;
    return mapStream<string | Uint8Array, string>(this.frames, {
      step: async (frame) => {
        const events = assembler.feed(frame);
        if (assembler.reply && !kept) {
          kept = true;
          await this.keep(assembler.reply);
        }
        return events ? [events] : [];
      },
    });
  }
}
