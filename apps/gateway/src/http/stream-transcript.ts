import { StringDecoder } from 'node:string_decoder';

/**
 * The most text kept: a JSON answer is read up to its provider's `maxResponseBytes`, 256 MiB by
 * default, and a stream's text is kept no further (a stream has no such cap, and past V8's longest
 * string, ~512 MiB, appending would throw).
 */
export const MAX_TRANSCRIPT_CHARS = 256 * 1024 * 1024;

/**
 * The text of a streamed answer as its client received it, for the access log's `completion` when
 * LOG_BODIES is on (a JSON answer is logged as its body; a stream has none to keep). Reads the
 * frames written, in the caller's protocol, whole or split anywhere (an upstream's own event stream
 * is passed on as its bytes came): the text deltas of OpenAI's chat chunks, Anthropic's
 * `content_block_delta` and the Responses API's `response.output_text.delta`: the text only, not
 * the events' envelopes, bounded as a JSON body is (MAX_TRANSCRIPT_CHARS). A stream cut short
 * leaves what its client got.
 */
export class StreamTranscript {
  private readonly decoder = new StringDecoder('utf8');
  /** The end of the frames written that is not a whole line yet. */
  private pending = '';
  private assembled = '';
  private truncated = false;

  constructor(private readonly maxChars = MAX_TRANSCRIPT_CHARS) {}

  add(chunk: string | Uint8Array): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (let end = this.pending.indexOf('\n'); end !== -1; end = this.pending.indexOf('\n', start)) {
      const line = this.pending.slice(start, end);
      start = end + 1;
      if (line.startsWith('data:')) this.append(deltaText(line.slice(5).trim()));
    }
    this.pending = this.pending.slice(start);
  }

  get text(): string {
    return this.truncated ? `${this.assembled}[truncated at ${this.maxChars} characters]` : this.assembled;
  }

  private append(text: string): void {
    if (this.truncated || !text) return;
    const room = this.maxChars - this.assembled.length;
    this.assembled += text.length > room ? text.slice(0, room) : text;
    this.truncated = text.length > room;
  }
}

interface StreamEvent {
  choices?: { delta?: { content?: unknown } }[];
  type?: string;
  delta?: unknown;
}

/** The answer's text one event adds, in whichever protocol; '' for every other event and `[DONE]`. */
function deltaText(data: string): string {
  if (!data.startsWith('{')) return '';
  let event: StreamEvent;
  try {
    event = JSON.parse(data) as StreamEvent;
  } catch {
    return '';
  }
  if (Array.isArray(event.choices))
    return event.choices.map((c) => (typeof c?.delta?.content === 'string' ? c.delta.content : '')).join('');
  const delta = event.delta as { type?: string; text?: unknown } | string | undefined;
  if (event.type === 'content_block_delta' && typeof delta === 'object' && delta?.type === 'text_delta' && typeof delta.text === 'string')
    return delta.text;
  if (event.type === 'response.output_text.delta' && typeof delta === 'string') return delta;
  return '';
}
