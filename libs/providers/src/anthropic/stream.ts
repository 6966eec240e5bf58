import type Anthropic from '@anthropic-ai/sdk';
import { GatewayError } from '../gateway-error';
import type { StreamSteps } from '../map-stream';
import { truncated } from '../openai/stream';
import type { ChatStream, RunningUsage } from '../provider';
import { isObject } from '../translation/chunk-shape';
import { ChunkFrames, DONE_FRAME, NO_FRAMES, type Translate } from '../translation/chunks';
import type { FinishReason } from '../translation/completion';
import type { ThinkingBlock } from './kept-thinking';
import { type AnthropicUsage, finishReason, refusalOf, servedTier, usageFrom } from './response';

type Event = Anthropic.RawMessageStreamEvent;

/**
 * The object each event's translation reads, by the event's type. Of another type (`"delta": null`), it threw a
 * TypeError, mapped as the SDK refusing the request (the gateway's 500): it is the upstream's invalid answer.
 */
const EVENT_OBJECTS: Readonly<Record<string, string>> = {
  message_start: 'message',
  content_block_start: 'content_block',
  content_block_delta: 'delta',
  message_delta: 'delta',
};

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
  /** Given, once the message is whole, its first tool call's id (if any) and its thinking blocks (rememberThinking). */
  keep?(firstCallId: string | undefined, blocks: readonly ThinkingBlock[]): void;
}

/**
 * Anthropic's event sequence as OpenAI chunks: message_start opens the stream
 * (its role delta leaves with the first content, see `roleSent`), text_delta / thinking_delta / input_json_delta become content,
 * reasoning_content and tool-call argument deltas, message_delta carries the
 * stop reason and final usage, message_stop ends it. The event reader drops `ping`
 * and throws on `error` events (events.ts). A stream that ends without message_stop was cut.
 */
export function translateEvents(options: StreamOptions): Translate<Event> {
  return (stream) => new EventFrames(options, stream);
}

class EventFrames implements StreamSteps<Event, string>, RunningUsage {
  private frames: ChunkFrames | undefined;
  private usage: AnthropicUsage | undefined;
  /** A message_delta came: `usage` counts the output so far, not message_start's placeholder. */
  private outputCounted = false;
  private finish: FinishReason = 'stop';
  private stopped = false;
  private calls = 0;
  private firstCallId: string | undefined;
  /** The message's thinking blocks so far, whole: what a client that drops `thinking_blocks` does not send back. */
  private readonly thinking: ThinkingBlock[] = [];
  private readonly blocks = new Map<number, OpenBlock>();
  /**
   * The role delta goes with the first frame after message_start, not alone: Anthropic sends
   * message_start (and pings) before it knows whether it can answer, and an overloaded `error`
   * can follow. Until a frame leaves, that error can still fall back (the router starts a
   * stream at its first chunk). A thinking block's start is the answer begun, and the role goes
   * with it: with its thinking omitted (`display: "omitted"`) the block's one delta is the signature,
   * minutes later, and until a first chunk the attempt's timeout runs and no keep-alive is sent.
   */
  private roleSent = false;

  constructor(
    private readonly options: StreamOptions,
    private readonly stream: ChatStream,
  ) {
    stream.runningUsage = this;
  }

  step(event: Event): readonly string[] {
    return this.withRole(this.translate(event), event.type === 'content_block_start' && event.content_block.type !== 'text');
  }

  /** `out`, after the role delta where it is the first frame, or where the event `began` the answer (roleSent). */
  private withRole(out: readonly string[], began = false): readonly string[] {
    if (this.roleSent || !this.frames || !(out.length || began)) return out;
    this.roleSent = true;
    return [this.frames.role(), ...out];
  }

  private translate(event: Event): readonly string[] {
    const read = EVENT_OBJECTS[event.type];
    if (read && !isObject((event as unknown as Record<string, unknown>)[read]))
      throw GatewayError.invalidResponse(
        `Provider ${this.options.provider} sent a ${event.type} event that is not Anthropic's (\`${read}\` is of the wrong type).`,
      );
    if (event.type === 'message_start') {
      this.frames = new ChunkFrames(this.options.provider, event.message.id, event.message.model, this.options.includeUsage);
      this.usage = event.message.usage;
      // Known from the start: a stream cut later is billed in the tier that served it too.
      this.stream.serviceTier = servedTier(this.usage);
      return NO_FRAMES;
    }
    const frames = this.frames;
    if (!frames) return NO_FRAMES;
    switch (event.type) {
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'tool_use') {
          this.firstCallId ??= block.id;
          this.blocks.set(event.index, { kind: 'tool', call: this.calls, argumentsSent: false });
          return [frames.toolCall(this.calls++, { id: block.id, name: block.name })];
        }
        if (block.type === 'thinking')
          this.blocks.set(event.index, { kind: 'thinking', thinking: block.thinking, signature: block.signature });
        else if (block.type === 'redacted_thinking') this.blocks.set(event.index, { kind: 'redacted', data: block.data });
        else if (block.type === 'text') {
          this.blocks.set(event.index, { kind: 'text' });
          if (block.text) return [frames.content(block.text)];
        }
        return NO_FRAMES;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        const open = this.blocks.get(event.index);
        if (delta.type === 'text_delta') return [frames.content(delta.text)];
        if (delta.type === 'input_json_delta' && open?.kind === 'tool') {
          if (!delta.partial_json) return NO_FRAMES;
          open.argumentsSent = true;
          return [frames.toolArguments(open.call, delta.partial_json)];
        }
        if (delta.type === 'thinking_delta' && open?.kind === 'thinking') {
          open.thinking += delta.thinking;
          if (this.options.exposeReasoning) return [frames.reasoning(delta.thinking)];
        } else if (delta.type === 'signature_delta' && open?.kind === 'thinking') open.signature = delta.signature;
        return NO_FRAMES;
      }
      case 'content_block_stop': {
        const open = this.blocks.get(event.index);
        this.blocks.delete(event.index);
        // OpenAI never leaves a call without arguments: a tool with no input still gets "{}".
        if (open?.kind === 'tool' && !open.argumentsSent) return [frames.toolArguments(open.call, '{}')];
        if (open?.kind === 'thinking')
          return this.thinkingDone(frames, { type: 'thinking', thinking: open.thinking, signature: open.signature });
        if (open?.kind === 'redacted') return this.thinkingDone(frames, { type: 'redacted_thinking', data: open.data });
        return NO_FRAMES;
      }
      case 'message_delta': {
        this.finish = finishReason(event.delta.stop_reason);
        this.usage = mergeUsage(this.usage, event.usage);
        this.outputCounted = true;
        const refusal = refusalOf(event.delta.stop_reason, event.delta.stop_details);
        return refusal ? [frames.delta({ refusal })] : NO_FRAMES;
      }
      case 'message_stop':
        this.stopped = true;
        return NO_FRAMES;
      default:
        return NO_FRAMES;
    }
  }

  /** A whole thinking block: sent as the gateway's `thinking_blocks` delta, and kept for `keep`. */
  private thinkingDone(frames: ChunkFrames, block: ThinkingBlock): readonly string[] {
    this.thinking.push(block);
    return [frames.delta({ thinking_blocks: [block] })];
  }

  soFar() {
    const usage = this.frames && usageFrom(this.usage);
    return usage && { usage, outputCounted: this.outputCounted };
  }

  end(): readonly string[] {
    const frames = this.frames;
    if (!frames || !this.stopped) throw truncated(this.options.provider);
    this.options.keep?.(this.firstCallId, this.thinking);
    const usage = (this.stream.usage = usageFrom(this.usage));
    this.stream.serviceTier = servedTier(this.usage);
    return this.withRole([frames.finish(this.finish), ...frames.usage(usage), DONE_FRAME]);
  }
}

/** message_delta usage is cumulative; its null fields mean "unchanged since message_start". */
export function mergeUsage(usage: AnthropicUsage | undefined, delta: Anthropic.MessageDeltaUsage | undefined): AnthropicUsage | undefined {
  // Without message_start's usage the input is unknown: the whole usage is then estimated.
  if (typeof usage !== 'object' || usage === null || typeof delta !== 'object' || delta === null) return usage ?? undefined;
  const merged = { ...usage } as Record<string, unknown>;
  for (const [key, value] of Object.entries(delta)) if (value != null) merged[key] = value;
  return merged as AnthropicUsage;
}
