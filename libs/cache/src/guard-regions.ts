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
  /**
   * Whether a line is on both sides at another depth ("    return b" under an `if` on one side, after it on the
   * other; fenced or not): in Python or YAML that is another program or document, however alike the rest reads.
   */
  reindented: boolean;
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
    for (const s of y) pool.set(keyOf(s), (pool.get(keyOf(s)) ?? 0) + 1);
    return x.filter((s) => {
      const n = pool.get(keyOf(s)) ?? 0;
      if (n) pool.set(keyOf(s), n - 1);
      return !n;
    });
  };
  const [onlyAsked, onlyCached] = [left(mine, theirs), left(theirs, mine)];
  if (onlyAsked.length === mine.length || (!onlyAsked.length && !onlyCached.length)) return undefined;
  const [rest, other] = [joined(onlyAsked), joined(onlyCached)];
  const shared = length(mine) - length(onlyAsked);
  const reindented = onlyAsked.some((s) => onlyCached.some((t) => t.text === s.text));
  return { asked: rest, cached: other, sharedDominates: shared >= Math.max(rest.length, other.length), reindented };
}

/**
 * A sentence or a line, its spacing made one space, whether it is fenced code, and its depth: the rank of its
 * line's indentation among its block's, a fenced block or all the text outside fences ("  return x" in code
 * indented by 2 is "    return x" in code indented by 4; pasted code is not always fenced).
 */
interface Segment {
  text: string;
  code: boolean;
  depth: number;
}

function keyOf(s: Segment): string {
  return `${s.depth} ${s.text}`;
}

const FENCE = '```';
/** Markdown's two fences: three backticks or three tildes. */
const FENCE_LINE = /^\s*(```|~~~)/;

/**
 * Lines, and outside fenced code the sentences a full stop, "?" or "!" and a space end; empty ones dropped. A
 * fence line is a segment of its own, so the code between two fences both prompts have is set aside line by line.
 */
function segments(text: string): Segment[] {
  const lines = text.normalize('NFKC').split('\n');
  const depths = codeDepths(lines);
  let fenced = false;
  const out: Segment[] = [];
  for (const [i, line] of lines.entries()) {
    const fence = FENCE_LINE.test(line);
    const code = fenced && !fence;
    if (fence) fenced = !fenced;
    for (const part of code || fence ? [line] : line.split(/(?<=[.!?])\s+/)) {
      const spaced = part.trim().replace(/\s+/g, ' ');
      if (spaced) out.push({ text: spaced, code, depth: depths.get(i) ?? 0 });
    }
  }
  return out;
}

/**
 * Each line's depth, by line number: the rank of its indentation among its block's (a tab is 4 spaces), each fenced
 * block one block and the lines outside fences another.
 */
function codeDepths(lines: string[]): Map<number, number> {
  const depths = new Map<number, number>();
  const rank = (block: number[]) => {
    const widths = block.map((i) => indentation(lines[i]));
    const ranks = [...new Set(widths)].sort((a, b) => a - b);
    block.forEach((line, k) => depths.set(line, ranks.indexOf(widths[k])));
  };
  const outside: number[] = [];
  let fenced: number[] | undefined;
  for (const [i, line] of lines.entries()) {
    if (FENCE_LINE.test(line)) {
      if (fenced) rank(fenced);
      fenced = fenced ? undefined : [];
    } else if (line.trim()) (fenced ?? outside).push(i);
  }
  if (fenced) rank(fenced);
  rank(outside);
  return depths;
}

function indentation(line: string): number {
  const lead = /^\s*/.exec(line)![0];
  return lead.length + 3 * (lead.split('\t').length - 1);
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
