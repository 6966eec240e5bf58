import type Anthropic from '@anthropic-ai/sdk';
import { truncated } from '../openai/stream';
import type { ChatStream } from '../provider';
import { ChunkFrames, DONE_FRAME } from '../translation/chunks';
import type { FinishReason } from '../translation/completion';
import { type AnthropicUsage, finishReason, refusalOf, usageFrom } from './response';

type Event = Anthropic.RawMessageStreamEvent;

/** What the stream remembers about an open content block, by Anthropic's block index. */
type OpenBlock =
  | { kind: 'tool'; call: number; argumentsSent: boolean }
  | { kind: 'thinking'; thinking: string; signature: string }
  | { kind: 'redacted'; data: string }
  | { kind: 'text' };

export interface StreamOptions {
  provider: string;
  exposeReasoning: boolean;
  includeUsage: boolean;
}

/**
 * Anthropic's event sequence as OpenAI chunks: message_start opens the stream
 * (role delta), text_delta / thinking_delta / input_json_delta become content,
 * reasoning_content and tool-call argument deltas, message_delta carries the
 * stop reason and final usage, message_stop ends it. The SDK drops `ping` and
 * throws on `error` events. A stream that ends without message_stop was cut.
 */
export function translateEvents(options: StreamOptions) {
  return async function* (events: AsyncIterable<Event>, stream: ChatStream): AsyncGenerator<string> {
    let frames: ChunkFrames | undefined;
    let usage: AnthropicUsage = { input_tokens: 0, output_tokens: 0 };
    let finish: FinishReason = 'stop';
    let stopped = false;
    let calls = 0;
    const blocks = new Map<number, OpenBlock>();

    for await (const event of events) {
      if (event.type === 'message_start') {
        frames = new ChunkFrames(event.message.id, event.message.model);
        usage = event.message.usage;
        yield frames.role();
        continue;
      }
      if (!frames) continue;
      switch (event.type) {
        case 'content_block_start': {
          const block = event.content_block;
          if (block.type === 'tool_use') {
            blocks.set(event.index, { kind: 'tool', call: calls, argumentsSent: false });
            yield frames.toolCall(calls++, { id: block.id, name: block.name });
          } else if (block.type === 'thinking')
            blocks.set(event.index, { kind: 'thinking', thinking: block.thinking, signature: block.signature });
          else if (block.type === 'redacted_thinking') blocks.set(event.index, { kind: 'redacted', data: block.data });
          else if (block.type === 'text') {
            blocks.set(event.index, { kind: 'text' });
            if (block.text) yield frames.content(block.text);
          }
          break;
        }
        case 'content_block_delta': {
          const delta = event.delta;
          const open = blocks.get(event.index);
          if (delta.type === 'text_delta') yield frames.content(delta.text);
          else if (delta.type === 'input_json_delta' && open?.kind === 'tool') {
            if (!delta.partial_json) break;
            open.argumentsSent = true;
            yield frames.toolArguments(open.call, delta.partial_json);
          } else if (delta.type === 'thinking_delta' && open?.kind === 'thinking') {
            open.thinking += delta.thinking;
            if (options.exposeReasoning) yield frames.reasoning(delta.thinking);
          } else if (delta.type === 'signature_delta' && open?.kind === 'thinking') open.signature = delta.signature;
          break;
        }
        case 'content_block_stop': {
          const open = blocks.get(event.index);
          // OpenAI never leaves a call without arguments: a tool with no input still gets "{}".
          if (open?.kind === 'tool' && !open.argumentsSent) yield frames.toolArguments(open.call, '{}');
          if (open?.kind === 'thinking')
            yield frames.delta({ thinking_blocks: [{ type: 'thinking', thinking: open.thinking, signature: open.signature }] });
          if (open?.kind === 'redacted') yield frames.delta({ thinking_blocks: [{ type: 'redacted_thinking', data: open.data }] });
          blocks.delete(event.index);
          break;
        }
        case 'message_delta': {
          finish = finishReason(event.delta.stop_reason);
          usage = mergeUsage(usage, event.usage);
          const refusal = refusalOf(event.delta.stop_reason, event.delta.stop_details);
          if (refusal) yield frames.delta({ refusal });
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
      }
    }
    if (!frames || !stopped) throw truncated(options.provider);
    yield frames.finish(finish);
    stream.usage = usageFrom(usage);
    if (options.includeUsage) yield frames.usage(stream.usage);
    yield DONE_FRAME;
  };
}

/** message_delta usage is cumulative; its null fields mean "unchanged since message_start". */
export function mergeUsage(usage: AnthropicUsage, delta: Anthropic.MessageDeltaUsage): AnthropicUsage {
  const merged = { ...usage } as Record<string, unknown>;
  for (const [key, value] of Object.entries(delta)) if (value != null) merged[key] = value;
  return merged as AnthropicUsage;
}
