import { anthropicTables, type ChatCompletionChunk, type CompletionUsage } from '@gateway/providers';
import { anthropicUsage, stopReason } from './response';
import { type AnthropicBlock, messageId } from './wire';

type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string; thinking_blocks?: AnthropicBlock[] };

/** One Anthropic SSE event: the `event:` line repeats the payload's `type`. */
export function sseEvent(type: string, data: object): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * Chat completion chunks as Anthropic's event sequence: message_start and a ping,
 * then for each content block content_block_start, its deltas (text_delta,
 * thinking_delta + signature_delta, input_json_delta) and content_block_stop, then
 * message_delta with the stop reason and usage, and message_stop. Blocks never
 * overlap: a new kind of content closes the open block. Choice 0 only.
 */
export class MessageEvents {
  private started = false;
  private open: { index: number; kind: 'text' | 'thinking' | 'tool'; call?: number } | undefined;
  private blocks = 0;
  private finish: string | null = null;
  private usage: CompletionUsage | undefined;
  /** OpenAI tool call index -> Anthropic block index, for argument fragments. */
  private readonly calls = new Map<number, number>();
  /** The events made since the last `push` or `end` returned. */
  private out: string[] = [];

  constructor(private readonly thinking: boolean) {}

  /** The events one chunk makes. */
  push(chunk: ChatCompletionChunk): string[] {
    this.take(chunk);
    return this.drain();
  }

  /** The closing events, once the chat stream ended normally. */
  end(fallbackId: string, model: string): string[] {
    if (!this.started) this.start(fallbackId, model);
    this.close();
    const usage = anthropicUsage(this.usage);
    this.out.push(sseEvent('message_delta', { delta: { stop_reason: stopReason(this.finish), stop_sequence: null }, usage }));
    this.out.push(sseEvent('message_stop', {}));
    return this.drain();
  }

  private drain(): string[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private take(chunk: ChatCompletionChunk): void {
    if (!this.started) this.start(chunk.id, chunk.model);
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const delta = (choice.delta ?? {}) as Delta;
    if (delta.reasoning_content && this.thinking) {
      this.ensure('thinking', { type: 'thinking', thinking: '', signature: '' });
      this.out.push(this.delta({ type: 'thinking_delta', thinking: delta.reasoning_content }));
    }
    if (delta.thinking_blocks && this.thinking) for (const block of delta.thinking_blocks) this.thinkingBlock(block);
    const text = delta.content || delta.refusal;
    if (text) {
      this.ensure('text', { type: 'text', text: '' });
      this.out.push(this.delta({ type: 'text_delta', text }));
    }
    for (const call of delta.tool_calls ?? []) this.toolCall(call);
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  private start(id: string, model: string): void {
    this.started = true;
    const message = {
      id: messageId(id),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Most upstreams report usage only at the end; message_delta carries the totals.
      usage: anthropicUsage(undefined),
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
    this.close();
    this.openBlock('thinking', block);
    this.close();
  }

  private toolCall(call: ChatCompletionChunk.Choice.Delta.ToolCall): void {
    if (call.id) {
      this.close();
      this.calls.set(call.index, this.blocks);
      const block = { type: 'tool_use', id: anthropicTables.toolUseId(call.id), name: call.function?.name ?? '', input: {} };
      this.openBlock('tool', block, call.index);
    }
    const args = call.function?.arguments;
    const index = this.calls.get(call.index);
    if (args && index !== undefined)
      this.out.push(sseEvent('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: args } }));
  }

  private ensure(kind: 'text' | 'thinking', block: AnthropicBlock): void {
    if (this.open?.kind === kind) return;
    this.close();
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
