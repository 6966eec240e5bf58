/**
 * A stream's events handed on between turns of the event loop. A burst the upstream (or a
 * buffering proxy) delivered at once is otherwise read, parsed and forwarded in microtasks alone,
 * and `/health` and every other request wait for the whole of it (10,000 Gemini events held the
 * loop 1-4 s; 10,000 OpenAI-format chunks, ~200 ms). One setImmediate per this many events costs
 * nothing next to the events' own work.
 */
export const EVENTS_PER_TURN = 64;

/** Counts a stream's events: `due` answers true once every EVENTS_PER_TURN + 1, when its reader awaits `nextTurn`. */
export class EventTurns {
  private sinceTurn = 0;

  due(): boolean {
    if (++this.sinceTurn <= EVENTS_PER_TURN) return false;
    this.sinceTurn = 0;
    return true;
  }
}

/** Resolves in the next turn of the event loop, after the I/O waiting in this one. */
export function nextTurn(): Promise<void> {
  return new Promise(setImmediate);
}
