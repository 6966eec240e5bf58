import { type ChatCompletionChunk, type CompletionUsage, refuseAnswerImages, ToolCallSlots, wholeUsage } from '@gateway/providers';
import { type HeldCall, HeldCalls, type ToolDelta } from '../pipeline/held-calls';
import { KeptText } from '../pipeline/kept-text';
import { jsonObject } from './cut-input';
import { anthropicUsage, declaredToolName, invalidArguments, signatureBlocks, stopReason } from './response';
import { type AnthropicBlock, newMessageId, toolUseIdOf } from './wire';

type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; thinking_blocks?: AnthropicBlock[] };

function jsonDelta(index: number, partial_json: string): string {
  return sseEvent('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
}

/** One Anthropic SSE event: the `event:` line repeats the payload's `type`. */
export function sseEvent(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * Chat completion chunks as Anthropic's event sequence: message_start and a ping,
 * then for each content block content_block_start, its deltas (text_delta,
 * thinking_delta + signature_delta, input_json_delta) and content_block_stop, then
 * message_delta with the stop reason and usage, and message_stop. Blocks never
 * overlap: a new kind of content closes the open block. A tool call with a Gemini
 * thought signature comes after a thinking block carrying it (response.ts,
 * signatureBlocks), a signature_delta its only delta. Choice 0 only.
 */
export class MessageEvents {
  private started = false;
  private open: { index: number; kind: 'text' | 'thinking' | 'tool'; call?: number } | undefined;
  private blocks = 0;
  private finish: string | null = null;
  private usage: CompletionUsage | undefined;
  /** What message_start said of the prompt: message_delta's usage too when the upstream reports none. */
  private prompt: CompletionUsage | undefined;
  /** The model's text began. */
  private said = false;
  /**
   * A refusal (OpenAI's, or the gateway's note that a vendor stopped for a content filter), held:
   * it is the answer's text only when the model said nothing, as in toMessage (`content || refusal`),
   * so an answer cut off after some text reads the same streamed or not.
   */
  private refusal = '';
  /** Which call each tool-call fragment is, whatever `index` the upstream gave it (tool-call-slots.ts). */
  private readonly slots = new ToolCallSlots();
  /** Tool call slot -> Anthropic block index, for argument fragments. */
  private readonly calls = new Map<number, number>();
  /** Each started call's arguments so far, checked as the stream ends (checkArguments). */
  private readonly args = new Map<number, string>();
  /**
   * Tool calls not started yet: seen before their name (content_block_start needs it), or while
   * another call's block is open (a block's deltas must come before its stop, and an upstream
   * may interleave the fragments of parallel calls). Sent whole when the open block ends.
   */
  private readonly waiting = new HeldCalls();
  /** The text kept until the stream ends (`args`, `waiting`, `refusal`), bounded. */
  private readonly kept = new KeptText();
  /** The events made since the last `push` or `end` returned. */
  private out: string[] = [];

  constructor(
    private readonly thinking: boolean,
    /** Fitted tool names -> declared ones (MessagesTranslation.toolNames). */
    private readonly toolNames?: ReadonlyMap<string, string>,
    /** The prompt's usage as known before the answer (codec.ts, promptUsage), for message_start. */
    private readonly promptUsage?: () => CompletionUsage,
    /** The model asked for: message_start's when the first chunk names none (as `end` has it for an empty stream). */
    private readonly requestedModel?: string,
    /** The usage the gateway bills for the stream's (codec.ts), for message_delta: the bill's counts, as toMessage's. */
    private readonly billed?: () => CompletionUsage,
  ) {}

  /** The events one chunk makes. */
  push(chunk: ChatCompletionChunk): string[] {
    this.take(chunk);
    return this.drain();
  }

  /** The closing events, once the chat stream ended normally. */
  end(model: string): string[] {
    if (!this.started) this.start(model, undefined);
    const refused = !this.said && !!this.refusal;
    if (refused) this.text(this.refusal);
    this.closeAll();
    this.checkArguments();
    const usage = anthropicUsage(this.billed?.() ?? wholeUsage(this.usage) ?? this.prompt);
    const stop_reason = stopReason(this.finish, this.calls.size > 0, refused);
    this.out.push(sseEvent('message_delta', { delta: { stop_reason, stop_sequence: null }, usage }));
    this.out.push(sseEvent('message_stop', {}));
    return this.drain();
  }

  /**
   * Arguments that are no JSON object are a call cut by the output limit (`length`: the client's SDK
   * reads the block's input as far as it parses, as toMessage gives it), else the upstream's invalid
   * answer: the stream ends with that error, as the same answer created is one.
   */
  private checkArguments(): void {
    if (this.finish === 'length') return;
    for (const args of this.args.values()) if (!jsonObject(args || '{}')) throw invalidArguments();
  }

  private drain(): string[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private take(chunk: ChatCompletionChunk): void {
    if (!this.started) this.start(chunk.model, chunk.usage);
    if (chunk.usage) this.usage = chunk.usage;
    // `choices` missing too: a server's own first event (`{}`) passes through chat completions and Responses as well.
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (!choice) return;
    const delta = (choice.delta ?? {}) as Delta;
    refuseAnswerImages(delta, 'the Messages API');
    if (delta.reasoning_content && this.thinking) {
      this.ensure('thinking', { type: 'thinking', thinking: '', signature: '' });
      this.out.push(this.delta({ type: 'thinking_delta', thinking: delta.reasoning_content }));
    }
    if (delta.thinking_blocks && this.thinking) for (const block of delta.thinking_blocks) this.thinkingBlock(block);
    if (delta.content) {
      this.said = true;
      this.text(delta.content);
    }
    if (delta.refusal) {
      this.kept.keep(delta.refusal.length);
      this.refusal += delta.refusal;
    }
    for (const call of delta.tool_calls ?? []) this.toolCall({ ...call, index: this.slots.of(call) });
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  private text(text: string): void {
    this.ensure('text', { type: 'text', text: '' });
    this.out.push(this.delta({ type: 'text_delta', text }));
  }

  /** `usage`: the first chunk's, when the upstream reports usage on every chunk (vLLM's continuous usage stats). */
  private start(model: string | undefined, usage: CompletionUsage | null | undefined): void {
    this.started = true;
    this.prompt = usage ?? this.promptUsage?.();
    const message = {
      // Fresh, as toMessage's (the upstream's id can repeat); a chunk without a model (some servers' first) still starts a message the SDKs accept.
      id: newMessageId(),
      type: 'message',
      role: 'assistant',
      model: model || this.requestedModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The prompt as counted or estimated so far, output none yet (as Anthropic's own has it); message_delta carries the totals.
      usage: { ...anthropicUsage(this.prompt), output_tokens: 0 },
    };
    this.out.push(sseEvent('message_start', { message }));
    this.out.push(sseEvent('ping', {}));
  }

  /** The Anthropic adapter sends a block's signature (or a redacted block) when the block ends. */
  private thinkingBlock(block: AnthropicBlock): void {
    if (block.type === 'thinking') {
      if (this.open?.kind !== 'thinking') {
        this.ensure('thinking', { type: 'thinking', thinking: '', signature: '' });
        if (block.thinking) this.out.push(this.delta({ type: 'thinking_delta', thinking: block.thinking }));
      }
      if (block.signature) this.out.push(this.delta({ type: 'signature_delta', signature: block.signature }));
      return this.close();
    }
    this.closeAll();
    this.openBlock('thinking', block);
    this.close();
  }

  /**
   * Fragments are merged by slot (`take` numbers them, held-calls.ts merges). The first call streams as it comes once
   * named; a call that starts while it is open waits (see `waiting`).
   */
  private toolCall(call: ToolDelta): void {
    const args = call.function?.arguments ?? '';
    const block = this.calls.get(call.index);
    this.kept.keep(args.length + (call.function?.name?.length ?? 0), block === undefined);
    if (block !== undefined) {
      if (args) {
        this.args.set(call.index, this.args.get(call.index) + args);
        this.out.push(jsonDelta(block, args));
      }
      return;
    }
    const held = this.waiting.merge(call);
    if (!held.name || this.open?.kind === 'tool') return;
    this.waiting.delete(call.index);
    this.openCall(call.index, held);
  }

  private openCall(call: number, { id, name, args, extra }: HeldCall): void {
    this.close();
    const toolUseId = toolUseIdOf(id);
    for (const { signature, ...block } of signatureBlocks(toolUseId, extra)) {
      this.openBlock('thinking', { ...block, signature: '' });
      this.out.push(this.delta({ type: 'signature_delta', signature }));
      this.close();
    }
    this.calls.set(call, this.blocks);
    this.args.set(call, args ?? '');
    this.openBlock('tool', { type: 'tool_use', id: toolUseId, name: declaredToolName(name ?? '', this.toolNames), input: {} }, call);
    if (args) this.out.push(jsonDelta(this.open!.index, args));
  }

  /** Closes the open block, then sends the waiting calls whole (one never named, too: its arguments are not lost). */
  private closeAll(): void {
    this.close();
    for (const [index, call] of this.waiting) {
      this.openCall(index, call);
      this.close();
    }
    this.waiting.clear();
  }

  private ensure(kind: 'text' | 'thinking', block: AnthropicBlock): void {
    if (this.open?.kind === kind) return;
    this.closeAll();
    this.openBlock(kind, block);
  }

  private openBlock(kind: 'text' | 'thinking' | 'tool', block: AnthropicBlock, call?: number): void {
    this.open = { index: this.blocks++, kind, call };
    this.out.push(sseEvent('content_block_start', { index: this.open.index, content_block: block }));
  }

  private delta(delta: object): string {
    return sseEvent('content_block_delta', { index: this.open!.index, delta });
  }

  private close(): void {
    if (!this.open) return;
    this.out.push(sseEvent('content_block_stop', { index: this.open.index }));
    this.open = undefined;
  }
}
