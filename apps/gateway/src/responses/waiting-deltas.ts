import type { ChatCompletionChunk } from '@gateway/providers';

export type Delta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string | null; thinking_blocks?: unknown[] };

/**
 * The deltas that came for other items while a tool call streamed, replayed in order once it is done
 * (ResponseEventEncoder.complete). Replayed, they wait again while a call one of them opens streams: only
 * that call's own fragments go on. Re-queueing everything else at each such call was a pass over all that
 * waited per call, quadratic in the calls (20,000 parallel calls held the event loop 10-24 s); here each
 * delta is taken once, a call's fragments found by its slot.
 */
export class WaitingDeltas {
  private readonly taken: Uint8Array;
  /** The indexes of each tool call's fragments, by slot (deleted once taken). */
  private readonly bySlot = new Map<number, number[]>();
  /** No delta before this index is left. */
  private next = 0;
  private count: number;

  constructor(private readonly deltas: readonly Delta[]) {
    this.taken = new Uint8Array(deltas.length);
    this.count = deltas.length;
    deltas.forEach((delta, i) => {
      const slot = delta.tool_calls?.[0]?.index;
      if (slot === undefined) return;
      const indexes = this.bySlot.get(slot);
      if (indexes) indexes.push(i);
      else this.bySlot.set(slot, [i]);
    });
  }

  /** How many deltas are left. */
  get left(): number {
    return this.count;
  }

  /** The first delta left; call only while some are. */
  take(): Delta {
    while (this.taken[this.next]) this.next++;
    return this.takeAt(this.next++);
  }

  /** The fragments left of the tool call in `slot`, in order. */
  takeCall(slot: number): Delta[] {
    const indexes = this.bySlot.get(slot) ?? [];
    this.bySlot.delete(slot);
    return indexes.filter((i) => !this.taken[i]).map((i) => this.takeAt(i));
  }

  private takeAt(i: number): Delta {
    this.taken[i] = 1;
    this.count--;
    return this.deltas[i];
  }
}
