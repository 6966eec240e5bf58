import type { GatewayError } from '../gateway-error';
import { DONE, mapStream, type StreamSteps } from '../map-stream';
import { midStreamError } from '../openai/stream';
import type { ChatStream } from '../provider';
import type { CompletionUsage } from '../wire';
import { misTypedFrame } from './chunk-shape';
import { clientUsage, type FinishReason, type ToolCallOut, toolCallJson } from './completion';
import { misTypedChunk } from './errors';

export const DONE_FRAME = 'data: [DONE]\n\n';
/** A chunk's head already checked (ChunkFrames' constructor): only a delta is looked at. */
const NO_HEAD = Object.freeze({});

/**
 * Writes `chat.completion.chunk` SSE frames the way OpenAI does: one id and
 * `created` for the whole stream, a role delta first, tool calls opened with
 * id and name then continued with argument fragments, a finish chunk, and
 * (when asked) a usage chunk with no choices.
 */
export class ChunkFrames {
  /** The JSON every chunk starts with, serialised once per stream. */
  private readonly head: string;
  /**
   * What closes every chunk but the usage chunk. OpenAI, with `include_usage`: "All other
   * chunks will also include a usage field, but with a null value"; without it, no field.
   */
  private readonly tail: string;
  private readonly includeUsage: boolean;

  /**
   * `provider`: the vendor whose stream is translated. What it sent goes into the chunks: a value of another type
   * (its id, its text a number, a tool's name a list) throws, as the upstream's invalid answer naming the field
   * (misTypedFrame: the checks the Messages and Responses codecs make of each chunk they read).
   */
  constructor(
    private readonly provider: string,
    id: string,
    model: string,
    includeUsage: boolean,
  ) {
    const field = misTypedFrame({ id, model }, undefined);
    if (field) throw misTypedChunk(provider, field);
    this.head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":${JSON.stringify(model)},"choices":`;
    this.tail = includeUsage ? ',"usage":null}' : '}';
    this.includeUsage = includeUsage;
  }

  role(choice = 0): string {
    return this.delta({ role: 'assistant', content: '' }, choice);
  }

  content(text: string, choice = 0): string {
    return this.delta({ content: text }, choice);
  }

  reasoning(text: string, choice = 0): string {
    return this.delta({ reasoning_content: text }, choice);
  }

  /** Opens tool call number `index` of the choice, with empty arguments to follow. */
  toolCall(index: number, call: Omit<ToolCallOut, 'arguments'>, choice = 0): string {
    return this.delta({ tool_calls: [{ index, ...toolCallJson({ ...call, arguments: '' }) }] }, choice);
  }

  toolArguments(index: number, fragment: string, choice = 0): string {
    return this.delta({ tool_calls: [{ index, function: { arguments: fragment } }] }, choice);
  }

  delta(delta: object, choice = 0): string {
    const field = misTypedFrame(NO_HEAD, delta as Record<string, unknown>, choice);
    if (field) throw misTypedChunk(this.provider, field);
    return `data: ${this.head}[{"index":${choice},"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}]${this.tail}\n\n`;
  }

  finish(reason: FinishReason, choice = 0): string {
    return `data: ${this.head}[{"index":${choice},"delta":{},"logprobs":null,"finish_reason":"${reason}"}]${this.tail}\n\n`;
  }

  /** The usage chunk, when the client asked for one and there is usage it may be shown (clientUsage). */
  usage(usage: CompletionUsage | undefined): readonly string[] {
    const shown = this.includeUsage && usage && clientUsage(usage);
    return shown ? [`data: ${this.head}[],"usage":${JSON.stringify(shown)}}\n\n`] : [];
  }
}

/**
 * Turns one stream's vendor events into OpenAI frames (its state lives in the steps); `end`
 * sets `stream.usage`, or throws when the stream was cut. Steps, not a generator: with async
 * generators on the streaming path most of each request's objects reached the old space (see
 * mapStream).
 */
export type Translate<E> = (stream: ChatStream) => StreamSteps<E, string>;

/** What a step returns when an event makes no frame. */
export const NO_FRAMES: readonly string[] = Object.freeze([]);

/**
 * Opens a translated stream. The first vendor event is awaited here, so an error the
 * upstream reports at once (an error event) is thrown before any byte reaches the client: it becomes
 * a plain HTTP error the router can fail over from. Later failures are thrown from
 * the iteration, as GatewayErrors.
 */
export async function openStream<E>(
  provider: string,
  events: AsyncIterator<E>,
  translate: Translate<E>,
  toError: (err: unknown) => GatewayError,
): Promise<ChatStream> {
  let first: IteratorResult<E>;
  try {
    first = await events.next();
  } catch (err) {
    await events.return?.();
    throw toError(err);
  }
  const stream: ChatStream = {
    [Symbol.asyncIterator]: () => {
      const steps = translate(stream);
      return mapStream(new Resumed(first, events), {
        step: (event) => steps.step(event),
        end: () => steps.end?.() ?? NO_FRAMES,
        fail: (err) => {
          throw midStreamError(provider, toError(err));
        },
      });
    },
  };
  return stream;
}

/** The peeked first event, then the rest; closing it early closes the upstream. */
class Resumed<E> implements AsyncIterableIterator<E, undefined> {
  constructor(
    private first: IteratorResult<E> | undefined,
    private readonly rest: AsyncIterator<E>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<E, undefined>> {
    const first = this.first;
    this.first = undefined;
    return first ? Promise.resolve(first) : this.rest.next();
  }

  async return(): Promise<IteratorResult<E, undefined>> {
    this.first = undefined;
    await this.rest.return?.();
    return DONE;
  }
}
