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

  constructor(private readonly thinking: boolean) {}

  *push(chunk: ChatCompletionChunk): Generator<string> {
    if (!this.started) yield* this.start(chunk.id, chunk.model);
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return;
    const delta = (choice.delta ?? {}) as Delta;
    if (delta.reasoning_content && this.thinking) {
      yield* this.ensure('thinking', { type: 'thinking', thinking: '', signature: '' });
      yield this.delta({ type: 'thinking_delta', thinking: delta.reasoning_content });
    }
    if (delta.thinking_blocks && this.thinking) for (const block of delta.thinking_blocks) yield* this.thinkingBlock(block);
    const text = delta.content || delta.refusal;
    if (text) {
      yield* this.ensure('text', { type: 'text', text: '' });
      yield this.delta({ type: 'text_delta', text });
    }
    for (const call of delta.tool_calls ?? []) yield* this.toolCall(call);
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  /** The closing events, once the chat stream ended normally. */
  *end(fallbackId: string, model: string): Generator<string> {
    if (!this.started) yield* this.start(fallbackId, model);
    yield* this.close();
    const usage = anthropicUsage(this.usage);
    yield sseEvent('message_delta', { delta: { stop_reason: stopReason(this.finish), stop_sequence: null }, usage });
    yield sseEvent('message_stop', {});
  }

  private *start(id: string, model: string): Generator<string> {
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
    yield sseEvent('message_start', { message });
    yield sseEvent('ping', {});
  }

  /** The Anthropic adapter sends a block's signature (or a redacted block) when the block ends. */
  private *thinkingBlock(block: AnthropicBlock): Generator<string> {
    if (block.type === 'thinking') {
      if (this.open?.kind !== 'thinking') {
        yield* this.ensure('thinking', { type: 'thinking', thinking: '', signature: '' });
        if (block.thinking) yield this.delta({ type: 'thinking_delta', thinking: block.thinking });
      }
      if (block.signature) yield this.delta({ type: 'signature_delta', signature: block.signature });
      return yield* this.close();
    }
    yield* this.close();
    yield* this.openBlock('thinking', block);
    yield* this.close();
  }

  private *toolCall(call: ChatCompletionChunk.Choice.Delta.ToolCall): Generator<string> {
    if (call.id) {
      yield* this.close();
      this.calls.set(call.index, this.blocks);
      const block = { type: 'tool_use', id: anthropicTables.toolUseId(call.id), name: call.function?.name ?? '', input: {} };
      yield* this.openBlock('tool', block, call.index);
    }
    const args = call.function?.arguments;
    const index = this.calls.get(call.index);
    if (args && index !== undefined)
      yield sseEvent('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: args } });
  }

  private *ensure(kind: 'text' | 'thinking', block: AnthropicBlock): Generator<string> {
    if (this.open?.kind === kind) return;
    yield* this.close();
    yield* this.openBlock(kind, block);
  }

  private *openBlock(kind: 'text' | 'thinking' | 'tool', block: AnthropicBlock, call?: number): Generator<string> {
    this.open = { index: this.blocks++, kind, call };
    yield sseEvent('content_block_start', { index: this.open.index, content_block: block });
  }

  private delta(delta: object): string {
    return sseEvent('content_block_delta', { index: this.open!.index, delta });
  }

  private *close(): Generator<string> {
    if (!this.open) return;
    yield sseEvent('content_block_stop', { index: this.open.index });
    this.open = undefined;
  }
}
