/**
 * How a stored response is kept: its own part of the conversation only (its input, its output) after
 * a first line of its state and the id of the response it continued (empty for none):
 * `<state><previous id>\n<JSON>`. The conversation is rebuilt by following the links
 * (chain-backend.ts), so a chain takes storage linear in its length; a record that held the whole
 * conversation again took the square of it. The line is first so that Redis reads and changes it
 * with GETRANGE and SETRANGE, without the record. A record written before links (plain JSON, `{`
 * first) holds its whole conversation: a chain ends there.
 */
export type Linked = { whole: true; json: string } | { whole: false; previous: string | undefined; json: string };

/**
 * `live`; `continued`: a later response links to it, so a delete only hides it (`deleted`), kept
 * for the conversations that hold it, as a copy of it in theirs was before links. Each record counts
 * the records that link to it (redis-chain.ts, MemoryChain): when the last goes, a hidden record is
 * deleted too, and a continued one is live again. One whose count is unknown (written or continued by
 * the previous version, during a rolling upgrade) stays hidden until it expires.
 */
export type State = 'live' | 'continued' | 'deleted';

/** The first byte of each state, as the Redis scripts read and write it too. */
export const STATE_BYTE: Record<State, string> = { live: '=', continued: '>', deleted: 'x' };
const STATES = new Map(Object.entries(STATE_BYTE).map(([state, byte]) => [byte, state as State]));

/** A response id is 41 characters (ids.ts): the first line fits in this many bytes. */
export const LINK_BYTES = 64;

export function linkedRecord(previous: string | undefined, json: string): string {
  return `${STATE_BYTE.live}${previous ?? ''}\n${json}`;
}

export function readLinked(value: string): Linked {
  if (value.startsWith('{')) return { whole: true, json: value };
  const end = value.indexOf('\n');
  return { whole: false, previous: value.slice(1, end) || undefined, json: value.slice(end + 1) };
}

/** The id of the record `value` links back to; undefined at a chain's start. */
export function linkedFrom(value: string): string | undefined {
  const linked = readLinked(value);
  return linked.whole ? undefined : linked.previous;
}

/** A record's state; undefined for one written before links. */
export function stateOf(value: string): State | undefined {
  return STATES.get(value[0]!);
}

/** `value` in `state` (a record written before links stays as it is: it has no state). */
export function inState(value: string, state: State): string {
  return value.startsWith('{') ? value : STATE_BYTE[state] + value.slice(1);
}

/** Whether a record is to be read as a response: not one deleted while later ones kept it for their conversation. */
export function isShown(value: string): boolean {
  return stateOf(value) !== 'deleted';
}
