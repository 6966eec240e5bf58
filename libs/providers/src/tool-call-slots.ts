/** What a streamed tool-call fragment says of the call it belongs to. */
export interface ToolCallFragment {
  index?: number | null;
  id?: string | null;
  /** A call's first fragment names its function; the rest carry its arguments. */
  function?: { name?: string | null } | null;
}

/**
 * Which call each streamed tool-call fragment belongs to, numbered 0, 1, ... in the order the calls
 * begin. OpenAI keys fragments by `index`, but OpenAI-format servers differ: Mistral and Gemini's
 * OpenAI-compatible endpoint send no `index`, Ollama and some vLLM builds `index: 0` on every call, some
 * proxies repeat the `id` on every fragment, and others send a call's later fragments under another `id`
 * (Poolside, vLLM's harmony streaming: a new id a chunk). What holds everywhere: a call's first fragment
 * carries its `id` and its function's name. So a fragment with an `id` not seen before that names a function
 * starts a new call (unless the call it would continue has no id yet: a server that names the id after the
 * first fragment); one with a known `id` is that call's; any other is the call at its `index`, or without one
 * the last call, and an unknown `id` it carries is that call's from then on.
 */
export class ToolCallSlots {
  /** The upstream's `index` -> the call it last stood for. */
  private readonly byIndex = new Map<number, number>();
  private readonly byId = new Map<string, number>();
  /** Each call's id, by slot (undefined while none came). */
  private readonly ids: (string | undefined)[] = [];

  /** The slot of the call `fragment` belongs to. */
  of(fragment: ToolCallFragment): number {
    const id = fragment.id || undefined;
    const index = typeof fragment.index === 'number' ? fragment.index : undefined;
    const known = id === undefined ? undefined : this.byId.get(id);
    if (known !== undefined) return this.at(index, known);
    const continued = index === undefined ? (this.ids.length ? this.ids.length - 1 : undefined) : this.byIndex.get(index);
    const starts = id !== undefined && !!fragment.function?.name && this.ids[continued ?? -1] !== undefined;
    const slot = continued !== undefined && !starts ? continued : this.ids.length;
    if (slot === this.ids.length) this.ids.push(undefined);
    if (id !== undefined) {
      this.ids[slot] ??= id;
      this.byId.set(id, slot);
    }
    return this.at(index, slot);
  }

  private at(index: number | undefined, slot: number): number {
    if (index !== undefined) this.byIndex.set(index, slot);
    return slot;
  }
}
