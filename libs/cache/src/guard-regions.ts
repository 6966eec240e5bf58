/**
 * The text two prompts differ in, once what they share whole is set aside. A prompt that pastes a document or
 * code and asks about it embeds as the document: two questions about one document score near 1 whatever they
 * ask, and every word of either question may also occur in the document, so the guard's checks, which ask
 * whether a word or name is on the other side, find it there ("the extension of Alice Martin" / "…of Bruno
 * Costa" over a staff list naming both). Judged without the shared sentences, the questions differ as they are.
 */

/** Each side's sentences and lines that the other side lacks, joined in order. */
export interface DifferingRegions {
  asked: string;
  cached: string;
  /**
   * Whether the text set aside is at least as long as either side's rest: then the embedding is mostly the
   * shared text's, and the similarity says little of how the rest differs ("Hola." before two questions does
   * not drown them; a staff list before them does).
   */
  sharedDominates: boolean;
}

/**
 * The sentences and lines of each prompt that the other lacks (compared as a multiset, so a sentence said twice
 * on one side and once on the other is left once), or undefined when the prompts share none, or share all in
 * another order: then there is nothing to set aside, or nothing left to judge, and the whole prompts are judged.
 */
export function differingRegions(asked: string, cached: string): DifferingRegions | undefined {
  const [mine, theirs] = [segments(asked), segments(cached)];
  const left = (x: Segment[], y: Segment[]) => {
    const pool = new Map<string, number>();
    for (const s of y) pool.set(s.text, (pool.get(s.text) ?? 0) + 1);
    return x.filter((s) => {
      const n = pool.get(s.text) ?? 0;
      if (n) pool.set(s.text, n - 1);
      return !n;
    });
  };
  const [onlyAsked, onlyCached] = [left(mine, theirs), left(theirs, mine)];
  if (onlyAsked.length === mine.length || (!onlyAsked.length && !onlyCached.length)) return undefined;
  const [rest, other] = [joined(onlyAsked), joined(onlyCached)];
  const shared = length(mine) - length(onlyAsked);
  return { asked: rest, cached: other, sharedDominates: shared >= Math.max(rest.length, other.length) };
}

/** A sentence or a line, its spacing made one space ("  return x" re-indented is the same line), and whether it is fenced code. */
interface Segment {
  text: string;
  code: boolean;
}

const FENCE = '```';

/**
 * Lines, and outside fenced code the sentences a full stop, "?" or "!" and a space end; empty ones dropped. A
 * fence line is a segment of its own, so the code between two fences both prompts have is set aside line by line.
 */
function segments(text: string): Segment[] {
  let fenced = false;
  const out: Segment[] = [];
  for (const line of text.normalize('NFKC').split('\n')) {
    const fence = line.trim().startsWith(FENCE);
    const code = fenced && !fence;
    if (fence) fenced = !fenced;
    for (const part of code || fence ? [line] : line.split(/(?<=[.!?])\s+/)) {
      const spaced = part.trim().replace(/\s+/g, ' ');
      if (spaced) out.push({ text: spaced, code });
    }
  }
  return out;
}

function length(list: Segment[]): number {
  return list.reduce((sum, s) => sum + s.text.length, 0);
}

/** Segments joined in order, each run of code lines fenced again, so the guard reads it as code (code.ts). */
function joined(list: Segment[]): string {
  return list
    .map((s, i) => {
      const opens = s.code && !list[i - 1]?.code;
      const closes = s.code && !list[i + 1]?.code;
      return `${opens ? `${FENCE}\n` : ''}${s.text}${closes ? `\n${FENCE}` : ''}`;
    })
    .join('\n');
}
