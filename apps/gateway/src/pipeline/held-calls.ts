import type { ChatCompletionChunk } from '@gateway/providers';

export type ToolDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number];

/** A streamed tool call gathered from its fragments until a codec can announce it. */
export interface HeldCall {
  id?: string;
  name?: string;
  args: string;
  /** Fields a vendor adds beside the standard ones (kept by codecs that pass them on). */
  extra?: Record<string, unknown>;
}

/**
 * Tool-call fragments held by `index` (the codecs' slot, ToolCallSlots, not the upstream's own), merged as
 * OpenAI's SDK merges them: some servers repeat the id in every fragment, some send none, a few send the name
 * after the first fragment.
 */
export class HeldCalls extends Map<number, HeldCall> {
  /** Adds a fragment to its call's held state and returns that state. */
  merge(call: ToolDelta): HeldCall {
    const held = this.get(call.index) ?? { args: '' };
    const { index: _i, id: _id, type: _t, function: _f, ...extra } = call as ToolDelta & Record<string, unknown>;
    held.id ||= call.id;
    held.name ||= call.function?.name;
    held.args += call.function?.arguments ?? '';
    if (Object.keys(extra).length) held.extra = { ...held.extra, ...extra };
    this.set(call.index, held);
    return held;
  }
}
