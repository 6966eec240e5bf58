import {
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatStream,
  completionId,
  dataOf,
  DONE,
  parseChunkEvent,
  SseEvents,
  ToolCallSlots,
} from '@gateway/providers';
import { canonicalJson } from './cache-keys';

type Choice = ChatCompletion['choices'][number];
type ToolCall = NonNullable<Choice['message']['tool_calls']>[number];
type Audio = NonNullable<Choice['message']['audio']>;
type Annotation = NonNullable<Choice['message']['annotations']>[number];
/**
 * What answers carry beyond OpenAI's fields and a hit must give back in either shape: the
 * reasoning text (`reasoning_content`, as DeepSeek names it), Anthropic's signed thinking blocks
 * (the next turn sends them back), a Gemini tool call's thought signature (`extra_content`), the
 * pictures of an image model behind OpenRouter (`images`, whole in one delta each).
 */
type Message = Choice['message'] & { reasoning_content?: string; thinking_blocks?: ThinkingBlock[]; images?: unknown[] };
type ThinkingBlock = { type: string; thinking?: string };
/**
 * OpenAI streams two fields its SDK's chunk type leaves out: `audio` in pieces (the id, transcript and data
 * pieces, then `expires_at`; its SDK's stream helper joins them so) and a web search's `annotations`.
 */
type Delta = ChatCompletionChunk['choices'][number]['delta'] & {
  reasoning_content?: string | null;
  thinking_blocks?: ThinkingBlock[];
  audio?: Partial<Audio>;
  annotations?: Annotation[];
  images?: unknown[];
};

/**
 * Reads the JSON chunks out of an OpenAI SSE stream as it is forwarded, whatever the read
 * boundaries, and assembles the completion as they come. `complete` is true once `[DONE]` arrived
 * after no error event. The limit applies to what is kept (the assembled text), not to the stream:
 * OpenAI streams a few characters a chunk in ~250 bytes of JSON, so a 20 KB answer is ~1 MB of SSE.
 */
export class SseChunkCollector {
  /** Set once the answer grew past `maxBytes`: too large to cache, dropped. */
  tooLarge = false;
  private readonly assembler = new CompletionAssembler();
  private readonly events = new SseEvents();
  private done = false;
  private broken = false;

  /** `maxBytes`: the most answer text (UTF-8) kept; beyond it the answer is dropped. */
  constructor(private readonly maxBytes: number) {}

  get complete(): boolean {
    return this.done && !this.broken;
  }

  /** The `chat.completion` a non-streamed request would have returned. */
  completion(): ChatCompletion {
    return this.assembler.completion();
  }

  push(data: string | Uint8Array): void {
    if (this.broken) return;
    this.events.read(data, (lines) => this.read(lines));
    // An unfinished event longer than the limit carries more than an entry may hold (UTF-8 takes at
    // least a byte per UTF-16 unit); buffering it further would only grow memory.
    if (!this.broken && this.events.pendingLength > this.maxBytes) this.drop(true);
  }

  /** Reads an event's chunks; false once the answer was dropped (nothing more is read). */
  private read(lines: string[]): boolean {
    for (const line of lines) {
      const payload = dataOf(line);
      if (payload === undefined) continue;
      if (payload === '[DONE]') {
        this.done = true;
        continue;
      }
      let chunk: ChatCompletionChunk & { error?: unknown };
      try {
        // Checked as the codecs check a chunk (its fields' types; content parts read as text): an OpenAI-format
        // upstream's stream is forwarded unread, and a `content` that is a number made the assembler throw, which
        // turned the client's stream into an internal_error. Such an answer is not stored; the client's stream
        // stays as the pass-through forwards it (the cache does not change what a client gets).
        chunk = parseChunkEvent('upstream', payload);
      } catch {
        return this.drop();
      }
      if (chunk.error) return this.drop();
      this.assembler.add(chunk);
      if (this.assembler.bytes > this.maxBytes) return this.drop(true);
    }
    return true;
  }

  private drop(tooLarge = false): false {
    this.broken = true;
    this.tooLarge = tooLarge;
    return false;
  }
}

/** Joins streamed chunks, one at a time, into the `chat.completion` a non-streamed request would have returned. */
export class CompletionAssembler {
  /** UTF-8 bytes of what the chunks added: texts, tool calls, thinking blocks, logprobs. */
  bytes = 0;
  private first?: ChatCompletionChunk;
  private usage: ChatCompletion['usage'];
  private readonly choices = new Map<number, Choice>();
  /** Per choice, which call each tool-call fragment is (tool-call-slots.ts). */
  private readonly slots = new Map<number, ToolCallSlots>();
  /** Per choice, the annotations kept, as canonical JSON. */
  private readonly annotations = new Map<number, Set<string>>();

  add(chunk: ChatCompletionChunk): void {
    this.first ??= chunk;
    if (chunk.usage) this.usage = chunk.usage;
    for (const part of chunk.choices ?? []) {
      let choice = this.choices.get(part.index);
      if (!choice) {
        choice = {
          index: part.index,
          message: { role: 'assistant', content: null, refusal: null },
          finish_reason: null as never,
          logprobs: null,
        };
        this.choices.set(part.index, choice);
        this.slots.set(part.index, new ToolCallSlots());
      }
      const message: Message = choice.message;
      const delta: Delta = part.delta ?? {};
      if (delta.reasoning_content) message.reasoning_content = (message.reasoning_content ?? '') + this.counted(delta.reasoning_content);
      if (delta.thinking_blocks?.length) {
        this.counted(JSON.stringify(delta.thinking_blocks));
        (message.thinking_blocks ??= []).push(...delta.thinking_blocks);
      }
      if (delta.content) message.content = (message.content ?? '') + this.counted(delta.content);
      if (delta.refusal) message.refusal = (message.refusal ?? '') + this.counted(delta.refusal);
      if (delta.audio) this.addAudio(message, delta.audio);
      if (delta.annotations?.length) this.addAnnotations(message, part.index, delta.annotations);
      if (delta.images?.length) {
        this.counted(JSON.stringify(delta.images));
        (message.images ??= []).push(...delta.images);
      }
      for (const call of delta.tool_calls ?? []) {
        this.counted(JSON.stringify(call));
        mergeToolCall((message.tool_calls ??= []), this.slots.get(part.index)!.of(call), call);
      }
      if (part.finish_reason) choice.finish_reason = part.finish_reason;
      if (part.logprobs) {
        this.counted(JSON.stringify(part.logprobs));
        const into = (choice.logprobs ??= { content: null, refusal: null });
        if (part.logprobs.content) into.content = [...(into.content ?? []), ...part.logprobs.content];
        if (part.logprobs.refusal) into.refusal = [...(into.refusal ?? []), ...part.logprobs.refusal];
      }
    }
  }

  completion(): ChatCompletion {
    const first = this.first;
    return {
      id: first?.id ?? '',
      object: 'chat.completion',
      created: first?.created ?? Math.floor(Date.now() / 1000),
      model: first?.model ?? '',
      ...(first?.system_fingerprint ? { system_fingerprint: first.system_fingerprint } : {}),
      choices: [...this.choices.values()].sort((a, b) => a.index - b.index),
      ...(this.usage ? { usage: this.usage } : {}),
    };
  }

  /**
   * Each annotation once: OpenAI streams a web search's citations in one delta, Perplexity and OpenRouter send
   * the list so far with every chunk (5 chunks of the same 2 citations were stored as 10; OpenAI's SDK keeps the
   * last list). Kept in the order first seen, so both senders come out as the list the answer cites.
   */
  private addAnnotations(message: Message, choice: number, annotations: Annotation[]): void {
    let kept = this.annotations.get(choice);
    if (!kept) this.annotations.set(choice, (kept = new Set()));
    for (const annotation of annotations) {
      const key = canonicalJson(annotation);
      if (kept.has(key)) continue;
      kept.add(key);
      this.counted(key);
      (message.annotations ??= []).push(annotation);
    }
  }

  /** Audio comes in pieces: its id and expiry as they come, its transcript and data (base64) joined, as OpenAI's SDK joins them. */
  private addAudio(message: Message, delta: Partial<Audio>): void {
    const audio = (message.audio ??= {} as Audio);
    if (delta.id) audio.id = delta.id;
    if (delta.transcript) audio.transcript = (audio.transcript ?? '') + this.counted(delta.transcript);
    if (delta.data) audio.data = (audio.data ?? '') + this.counted(delta.data);
    if (delta.expires_at != null) audio.expires_at = delta.expires_at;
  }

  private counted(text: string): string {
    this.bytes += Buffer.byteLength(text);
    return text;
  }
}

type ToolCallDelta = NonNullable<ChatCompletionChunk['choices'][number]['delta']['tool_calls']>[number];

/** Tool calls stream as fragments of a call (its `position`, ToolCallSlots): the first carries id and name, later ones more arguments. */
function mergeToolCall(calls: ToolCall[], position: number, delta: ToolCallDelta): void {
  const call = (calls[position] ??= { id: '', type: 'function', function: { name: '', arguments: '' } } as ToolCall);
  // A call's first id: some servers send its later fragments under others (ToolCallSlots).
  call.id ||= delta.id ?? '';
  const extra = (delta as { extra_content?: unknown }).extra_content;
  if (extra !== undefined) (call as { extra_content?: unknown }).extra_content = extra;
  if (call.type === 'function' && delta.function) {
    if (delta.function.name) call.function.name += delta.function.name;
    if (delta.function.arguments) call.function.arguments += delta.function.arguments;
  }
}

/** Text per replayed content chunk: enough to look like a stream without thousands of frames. */
const REPLAY_PIECE_CHARS = 48;
/** Base64 per replayed audio chunk: a multiple of 4, so that each piece decodes on its own, as a player may read them. */
const REPLAY_AUDIO_CHARS = 32 * 1024;

/**
 * A cached completion as a hit sends it: with a fresh id, as the Responses and Messages APIs' hits have. A
 * hit is another response; clients that log or deduplicate by id would merge it with the original.
 */
export function withFreshId(completionJson: string): string {
  return JSON.stringify({ ...(JSON.parse(completionJson) as ChatCompletion), id: completionId() });
}

/**
 * A cached completion as a well-formed OpenAI stream: for each choice a role delta, its
 * reasoning (each signed thinking block after its own text, as Anthropic's translation streams
 * them), content pieces, audio, annotations (in one delta after the text, as OpenAI sends a web search's:
 * its SDK's stream helper keeps the last list it got), images (in one delta), tool calls and a finish chunk; then a usage chunk
 * when asked; then `[DONE]`.
 */
export function replayAsStream(completionJson: string, includeUsage: boolean): ChatStream {
  const completion = JSON.parse(completionJson) as ChatCompletion;
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
  const frame = (choices: unknown[], usage: ChatCompletion['usage'] | null = null) =>
    `data: ${JSON.stringify(includeUsage ? { ...base, choices, usage } : { ...base, choices })}\n\n`;

  const frames: string[] = [];
  for (const { index, message, finish_reason, logprobs } of completion.choices as (Choice & { message: Message })[]) {
    const delta = (d: Delta) => frames.push(frame([{ index, delta: d, finish_reason: null, logprobs: null }]));
    delta({ role: 'assistant', content: '' });
    const reasoning = (text: string | undefined) => {
      if (message.reasoning_content !== undefined) for (const piece of splitText(text ?? '')) delta({ reasoning_content: piece });
    };
    if (message.thinking_blocks?.length) {
      for (const block of message.thinking_blocks) {
        reasoning(block.thinking);
        delta({ thinking_blocks: [block] });
      }
    } else reasoning(message.reasoning_content);
    const pieces = splitText(message.content ?? '');
    pieces.forEach((content, i) =>
      frames.push(frame([{ index, delta: { content }, finish_reason: null, logprobs: i === 0 ? logprobs : null }])),
    );
    if (message.audio) audioDeltas(message.audio).forEach(delta);
    if (message.annotations?.length) delta({ annotations: message.annotations });
    if (message.images?.length) delta({ images: message.images });
    if (message.refusal) delta({ refusal: message.refusal });
    (message.tool_calls ?? []).forEach((call, position) => delta({ tool_calls: [{ index: position, ...call }] } as Delta));
    frames.push(frame([{ index, delta: {}, finish_reason, logprobs: null }]));
  }
  if (includeUsage && completion.usage) frames.push(frame([], completion.usage));
  frames.push('data: [DONE]\n\n');

  return {
    usage: completion.usage,
    [Symbol.asyncIterator]() {
      let next = 0;
      return { next: async () => (next < frames.length ? { value: frames[next++]!, done: false } : DONE) };
    },
  };
}

/**
 * An answer's audio as OpenAI streams it: its id with the transcript's first piece, the rest of the
 * transcript, the data in pieces, then `expires_at` alone (what OpenAI's SDK takes as the audio's end).
 */
function audioDeltas(audio: Audio): Delta[] {
  const [first = '', ...transcript] = splitText(audio.transcript ?? '');
  const data: string[] = [];
  for (let at = 0; at < (audio.data?.length ?? 0); at += REPLAY_AUDIO_CHARS) data.push(audio.data.slice(at, at + REPLAY_AUDIO_CHARS));
  return [
    { audio: { id: audio.id, transcript: first } },
    ...transcript.map((piece) => ({ audio: { transcript: piece } })),
    ...data.map((piece) => ({ audio: { data: piece } })),
    { audio: { expires_at: audio.expires_at } },
  ];
}

/** Splits at whitespace into pieces of about REPLAY_PIECE_CHARS; joined they give the text back exactly. */
function splitText(text: string): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const word of text.match(/\s*\S+\s*|\s+/g) ?? []) {
    piece += word;
    if (piece.length >= REPLAY_PIECE_CHARS) {
      pieces.push(piece);
      piece = '';
    }
  }
  if (piece) pieces.push(piece);
  return pieces;
}
