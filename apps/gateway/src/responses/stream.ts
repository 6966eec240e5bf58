import {
  type ChatCompletionChunk,
  type ChatStream,
  type CompletionUsage,
  type GatewayError,
  geminiSignatures,
  refuseAnswerImages,
  ToolCallSlots,
} from '@gateway/providers';
import { encodeChunks } from '../pipeline/chat-chunks';
import { type HeldCall, HeldCalls, type ToolDelta } from '../pipeline/held-calls';
import type { Response, ResponseError, ResponseOutputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { CustomInputStream, customInput } from './custom-tools';
import { inResponsesNames } from './errors';
import { type ItemKind, itemId } from './ids';
import {
  callPrefix,
  finishResponse,
  messageItem,
  NO_ARGUMENTS,
  reasoningItem,
  type ResponseContext,
  responseShell,
  signatureItem,
  toolCallItem,
} from './response';
import { KeptText } from '../pipeline/kept-text';
import { type Delta, WaitingDeltas } from './waiting-deltas';

/** An event before its place in the stream is known. */
type Unnumbered = { type: ResponseStreamEvent['type'] } & Record<string, unknown>;

/** An output item being streamed. */
interface OpenItem {
  id: string;
  index: number;
  /** `function_call` is any tool call: a custom tool's (with `custom`) and a tool search (`searching`) too. */
  kind: 'reasoning' | 'message' | 'function_call';
  text: string;
  refusal: string;
  blocks: unknown[];
  /**
   * Message content parts opened so far, in order: the first kind streams; the other kind's text is
   * kept and sent as a second part when the item closes (after the first part's done events, as OpenAI
   * finishes a part before it starts the next), so text and refusal deltas that alternate each go to their own part.
   */
  parts: ('output_text' | 'refusal')[];
  callId: string;
  name: string;
  /** A tool call's slot (ToolCallSlots), which its fragments name. */
  slot?: number;
  /** A custom tool's call: its input decoded from the arguments as they come, and the part of it sent. */
  custom?: { input: CustomInputStream; sent: string };
  /** A tool search call: its arguments come whole in output_item.done, as there are no events for their parts. */
  searching?: true;
}

/** Stores a response (unless the request said `store: false`: undefined); false when it was not stored. */
type Save = (response: Response) => Promise<boolean | void>;

/**
 * Turns chat completion chunks (choice 0) into the Responses API event sequence:
 * response.created, response.in_progress, then per output item output_item.added,
 * its part/delta/done events and output_item.done, and response.completed (or
 * response.incomplete). As on OpenAI, one item (and one content part) is done before the next
 * is added: what the upstream sends for another item while a tool call streams (a parallel
 * call, text after the call) waits (`deferred`) until the end, when the call is known to be
 * whole, as a call's fragments may come until then. A failure after the stream began ends it with
 * response.failed and an `error` event (`failure`, which writeSse sends where it accounts
 * every protocol's failed stream); `sequence_number` counts every event.
 */
export class ResponseEventEncoder {
  private sequence = 0;
  private shell: Response | undefined;
  private readonly items: OpenItem[] = [];
  private readonly done: ResponseOutputItem[] = [];
  private current: OpenItem | undefined;
  /** Which call each tool-call fragment is, whatever `index` the upstream gave it (tool-call-slots.ts). */
  private readonly slots = new ToolCallSlots();
  /** Tool call slot -> its item. */
  private readonly calls = new Map<number, OpenItem>();
  /** Tool calls seen before their name: announced once it comes (or at the end, nameless, so nothing is lost). */
  private readonly unnamed = new HeldCalls();
  /** The events made since `chunk`, `complete` or `failure` last returned. */
  private out: ResponseStreamEvent[] = [];
  /** What came for other items while a tool call was streaming, in order: sent once the call is done. */
  private deferred: Delta[] = [];
  /** The text kept until the stream ends (the answer, and what waits in `deferred`), bounded. */
  private readonly kept = new KeptText();
  private finish: ChatCompletionChunk.Choice['finish_reason'] = null;
  private usage: CompletionUsage | undefined;
  /** The tier the upstream says served the answer (OpenAI's chunks carry it). */
  private serviceTier: ChatCompletionChunk['service_tier'];
  /** Stores a finished or failed response (unless the request said `store: false`). */
  private save: Save = async () => {};

  constructor(private readonly ctx: ResponseContext) {}

  /**
   * The SSE text of a whole chat frame stream (of `provider`'s, ChatOutcome.provider), which throws where the frames failed.
   * `completed` runs before the last event (response.completed or response.incomplete)
   * is sent: the response is stored before the client hears it is complete, so its next
   * request can continue from it. When it says the response was not stored (its key over its
   * bound), that last event says so too (`gateway_stored: false`): the headers are gone by then.
   */
  encode({ frames, provider }: { frames: ChatStream; provider?: string }, completed: Save): ChatStream {
    this.save = completed;
    return encodeChunks(
      frames,
      {
        chunk: (chunk) => this.chunk(chunk).map(sseFrame),
        end: async () => {
          const { events, response } = this.complete();
          if ((await completed(response)) === false) Object.assign(events.at(-1)!, { gateway_stored: false });
          return events.map(sseFrame);
        },
      },
      provider,
    );
  }

  /** The events one chunk makes. */
  private chunk(chunk: ChatCompletionChunk): ResponseStreamEvent[] {
    this.take(chunk);
    return this.drain();
  }

  private drain(): ResponseStreamEvent[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private take(chunk: ChatCompletionChunk): void {
    this.start(chunk.model);
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.service_tier) this.serviceTier = chunk.service_tier;
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (!choice) return;
    // A choice without a delta (some servers' last chunk: the finish reason alone) adds nothing.
    const delta = (choice.delta ?? {}) as Delta;
    refuseAnswerImages(delta, 'the Responses API');
    this.kept.keep(textLength(delta));
    if (delta.reasoning_content || delta.thinking_blocks?.length)
      this.route({ reasoning_content: delta.reasoning_content, thinking_blocks: delta.thinking_blocks });
    if (delta.content) this.route({ content: delta.content });
    if (delta.refusal) this.route({ refusal: delta.refusal });
    for (const call of delta.tool_calls ?? []) this.route({ tool_calls: [{ ...call, index: this.slots.of(call) }] });
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  /** One piece of a delta: streamed, unless a tool call is streaming and it is not that call's (then deferred). */
  private route(delta: Delta): void {
    const call = delta.tool_calls?.[0];
    const current = this.current?.kind === 'function_call' ? this.current : undefined;
    if (current && (!call || this.calls.get(call.index) !== current)) {
      this.kept.keep(0, true);
      this.deferred.push(delta);
      return;
    }
    if (call) this.toolDelta(call);
    else if (delta.content) this.messageDelta('output_text', delta.content);
    else if (delta.refusal) this.messageDelta('refusal', delta.refusal);
    else {
      const item = this.switchTo('reasoning');
      if (delta.thinking_blocks) item.blocks.push(...delta.thinking_blocks);
      if (delta.reasoning_content) {
        if (!item.text)
          this.emit({ type: 'response.reasoning_summary_part.added', ...this.at(item), summary_index: 0, part: summaryPart('') });
        item.text += delta.reasoning_content;
        this.emit({
          type: 'response.reasoning_summary_text.delta',
          ...this.at(item),
          summary_index: 0,
          delta: delta.reasoning_content,
        });
      }
    }
  }

  private start(model: string): void {
    if (this.shell) return;
    this.shell = responseShell(this.ctx, model);
    this.emit({ type: 'response.created', response: this.shell });
    this.emit({ type: 'response.in_progress', response: this.shell });
  }

  /** The open item of `kind`, closing the open item of another kind first. */
  private switchTo(kind: 'reasoning' | 'message'): OpenItem {
    if (this.current?.kind === kind) return this.current;
    if (this.current) this.close(this.current, 'completed');
    const item = this.open(kind, kind === 'reasoning' ? 'rs' : 'msg');
    this.current = item;
    this.emit({ type: 'response.output_item.added', output_index: item.index, item: this.snapshot(item, 'in_progress') });
    return item;
  }

  private messageDelta(part: 'output_text' | 'refusal', text: string): void {
    const item = this.switchTo('message');
    if (part === 'output_text') item.text += text;
    else item.refusal += text;
    if (!item.parts.length) {
      item.parts.push(part);
      this.emit({ type: 'response.content_part.added', ...this.at(item), content_index: 0, part: contentPart(part, '') });
    }
    // The other kind is kept for a second part, sent when the item closes.
    if (item.parts[0] === part) this.partDelta(item, 0, text);
  }

  private partDelta(item: OpenItem, content_index: number, text: string): void {
    const at = { ...this.at(item), content_index };
    if (item.parts[content_index] === 'output_text') this.emit({ type: 'response.output_text.delta', ...at, delta: text, logprobs: [] });
    else this.emit({ type: 'response.refusal.delta', ...at, delta: text });
  }

  /**
   * Fragments are merged by slot (`take` numbers them, held-calls.ts merges); the item is announced once its name is
   * known, with the arguments held until then.
   */
  private toolDelta(call: ToolDelta): void {
    const item = this.calls.get(call.index);
    const args = call.function?.arguments ?? '';
    if (item) {
      if (args) this.argumentsDelta(item, args);
      return;
    }
    const held = this.unnamed.merge(call);
    if (!held.name) return;
    this.unnamed.delete(call.index);
    this.openCall(call.index, held);
  }

  private openCall(index: number, held: HeldCall): void {
    if (this.current) this.close(this.current, 'completed');
    const signed = geminiSignatures.thoughtSignatureOf(held.extra) ? this.open('reasoning', 'rs') : undefined;
    const name = held.name ?? '';
    const prefix = callPrefix(name, this.ctx.callNames);
    const item = this.open('function_call', prefix);
    item.slot = index;
    item.callId = held.id || `call_${item.id}`;
    item.name = name;
    if (prefix === 'ctc') item.custom = { input: new CustomInputStream(), sent: '' };
    if (prefix === 'tsc') item.searching = true;
    // Its thought signature first, complete at once: announced with it, as clients that read reasoning
    // items from output_item.added (LangChain) would otherwise send the call back unsigned.
    if (signed) {
      const reasoning = signatureItem(signed.id, item.callId, held.extra)!;
      this.emit({ type: 'response.output_item.added', output_index: signed.index, item: { ...reasoning, status: 'in_progress' } });
      this.done[signed.index] = reasoning;
      this.emit({ type: 'response.output_item.done', output_index: signed.index, item: reasoning });
    }
    this.calls.set(index, item);
    this.current = item;
    this.emit({ type: 'response.output_item.added', output_index: item.index, item: this.snapshot(item, 'in_progress') });
    if (held.args) this.argumentsDelta(item, held.args);
  }

  private argumentsDelta(item: OpenItem, args: string): void {
    item.text += args;
    if (item.custom) this.inputDelta(item, item.custom.input.push(args));
    else if (!item.searching) this.emit({ type: 'response.function_call_arguments.delta', ...this.at(item), delta: args });
  }

  private inputDelta(item: OpenItem, text: string): void {
    if (!text) return;
    item.custom!.sent += text;
    this.emit({ type: 'response.custom_tool_call_input.delta', ...this.at(item), delta: text });
  }

  private open(kind: OpenItem['kind'], prefix: ItemKind): OpenItem {
    const index = this.items.length;
    const item: OpenItem = {
      id: itemId(this.ctx.id, prefix, index),
      index,
      kind,
      text: '',
      refusal: '',
      blocks: [],
      parts: [],
      callId: '',
      name: '',
    };
    this.items.push(item);
    return item;
  }

  private closePart(item: OpenItem, content_index: number): void {
    const at = { ...this.at(item), content_index };
    if (item.parts[content_index] === 'output_text') {
      this.emit({ type: 'response.output_text.done', ...at, text: item.text, logprobs: [] });
      this.emit({ type: 'response.content_part.done', ...at, part: contentPart('output_text', item.text) });
    } else {
      this.emit({ type: 'response.refusal.done', ...at, refusal: item.refusal });
      this.emit({ type: 'response.content_part.done', ...at, part: contentPart('refusal', item.refusal) });
    }
  }

  private close(item: OpenItem, status: 'completed' | 'incomplete'): void {
    if (item.kind === 'message') {
      this.closePart(item, 0);
      const second = item.parts[0] === 'output_text' ? 'refusal' : 'output_text';
      const text = second === 'output_text' ? item.text : item.refusal;
      if (text) {
        item.parts.push(second);
        this.emit({ type: 'response.content_part.added', ...this.at(item), content_index: 1, part: contentPart(second, '') });
        this.partDelta(item, 1, text);
        this.closePart(item, 1);
      }
    }
    if (item.kind === 'reasoning' && item.text) {
      this.emit({ type: 'response.reasoning_summary_text.done', ...this.at(item), summary_index: 0, text: item.text });
      this.emit({
        type: 'response.reasoning_summary_part.done',
        ...this.at(item),
        summary_index: 0,
        part: summaryPart(item.text),
      });
    }
    if (item.kind === 'function_call') {
      if (!item.text) this.argumentsDelta(item, NO_ARGUMENTS);
      if (item.custom) {
        // What the stream could not decode (arguments that are no JSON string) comes whole at the end.
        const input = customInput(item.text);
        if (input.startsWith(item.custom.sent)) this.inputDelta(item, input.slice(item.custom.sent.length));
        this.emit({ type: 'response.custom_tool_call_input.done', ...this.at(item), input });
      } else if (!item.searching) {
        const name = this.ctx.callNames?.get(item.name)?.name ?? item.name;
        this.emit({ type: 'response.function_call_arguments.done', ...this.at(item), name, arguments: item.text });
      }
    }
    const final = this.snapshot(item, status);
    this.done[item.index] = final;
    this.emit({ type: 'response.output_item.done', output_index: item.index, item: final });
    if (this.current === item) this.current = undefined;
  }

  private complete(): { events: ResponseStreamEvent[]; response: Response } {
    this.start(this.ctx.request.model);
    // The streaming call is whole now: what waited for it goes, in order, until it opens a call; then that
    // call's own fragments, the rest waiting again for it to be whole.
    const waiting = new WaitingDeltas(this.deferred);
    this.deferred = [];
    while (waiting.left) {
      this.close(this.current!, 'completed');
      while (waiting.left && this.current?.kind !== 'function_call') this.route(waiting.take());
      if (this.current?.kind === 'function_call') for (const delta of waiting.takeCall(this.current.slot!)) this.route(delta);
    }
    for (const [index, held] of this.unnamed) this.openCall(index, held);
    this.unnamed.clear();
    const status = this.finish === 'length' || this.finish === 'content_filter' ? 'incomplete' : 'completed';
    const last = this.items.length - 1;
    for (const item of this.items) if (!this.done[item.index]) this.close(item, item.index === last ? status : 'completed');
    const response = finishResponse(this.shell!, this.done, this.finish, this.usage, this.serviceTier);
    this.emit({ type: response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response });
    return { events: this.drain(), response };
  }

  /**
   * The SSE text that ends the stream once it failed: response.failed with the items so far, and an
   * `error` event with the gateway's own code. The failed response is stored first (as OpenAI keeps
   * failed responses: GET shows what failed), unless the request said `store: false`.
   */
  async failure(error: GatewayError): Promise<string> {
    this.start(this.ctx.request.model);
    const response: Response = {
      ...this.shell!,
      status: 'failed',
      output: this.items.map((item) => this.done[item.index] ?? this.snapshot(item, 'incomplete')),
      error: { code: responseErrorCode(error), message: error.message },
    };
    await this.save(response);
    this.emit({ type: 'response.failed', response });
    const fields = { code: error.code, ...inResponsesNames(error.message, error.param) };
    // Flat, as OpenAI's reference shows, and nested under `error`, as its API sends: the official SDKs raise on
    // the nested object (openai-python, openai-node before 7); without it their stream loops ended quietly.
    this.emit({ type: 'error', ...fields, error: { type: error.type, ...fields } });
    return this.drain().map(sseFrame).join('');
  }

  private snapshot(item: OpenItem, status: 'in_progress' | 'completed' | 'incomplete'): ResponseOutputItem {
    const building = status === 'in_progress';
    if (item.kind === 'reasoning') return reasoningItem(item.id, building ? '' : item.text, building ? undefined : item.blocks, status);
    if (item.kind === 'function_call') {
      return toolCallItem(item.id, item.callId, item.name, building ? '' : item.text, status, this.ctx.callNames);
    }
    if (building) return { id: item.id, type: 'message', role: 'assistant', status, content: [] };
    return messageItem(item.id, item.text, item.refusal || null, status, item.parts[0] === 'refusal');
  }

  private at(item: OpenItem) {
    return { item_id: item.id, output_index: item.index };
  }

  /** Numbers `event` and queues it for the current `chunk`, `complete` or `failure` to return. */
  private emit(event: Unnumbered): void {
    this.out.push({ ...event, sequence_number: this.sequence++ } as unknown as ResponseStreamEvent);
  }
}

/**
 * A failure as one of the codes OpenAI documents for `response.error.code` (a closed enum, which
 * clients generated from its spec decode strictly): the gateway's own code goes in the `error` event.
 */
function responseErrorCode(error: GatewayError): ResponseError['code'] {
  if (error.status === 429) return 'rate_limit_exceeded';
  if (error.status === 400) return 'invalid_prompt';
  return 'server_error';
}

function sseFrame(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

function contentPart(type: 'output_text' | 'refusal', text: string) {
  return type === 'output_text' ? { type, text, annotations: [], logprobs: [] } : { type, refusal: text };
}

function summaryPart(text: string) {
  return { type: 'summary_text' as const, text };
}

/** The characters of text a delta carries: its content, refusal, reasoning, thinking blocks and tool-call fragments. */
function textLength(delta: Delta): number {
  let length = (delta.content?.length ?? 0) + (delta.refusal?.length ?? 0) + (delta.reasoning_content?.length ?? 0);
  for (const call of delta.tool_calls ?? []) length += (call.function?.arguments?.length ?? 0) + (call.function?.name?.length ?? 0);
  for (const block of delta.thinking_blocks ?? []) {
    const { thinking, signature, data } = block as Record<string, unknown>;
    for (const text of [thinking, signature, data]) if (typeof text === 'string') length += text.length;
  }
  return length;
}
