/**
 * Code in a prompt, where the order of operands and the case of letters carry meaning that prose words
 * do not: "a < b" / "b < a", "i++" / "++i", "main..feature" / "feature..main", "\d+" / "\D+", "ls -a" /
 * "ls -A". The guard reads prose words as an ordered list of stems and symbols as a multiset, lower-cased;
 * both lose exactly this.
 */
export interface CodeFacts {
  /** Operators (a run of ASCII operator characters, or two dots or more), sorted. */
  operators: string[];
  /** Each operator with the word on either side of it ("a<b", "i++", "-A"), sorted. */
  operations: string[];
  /** Backtick spans as written, sorted. */
  spans: string[];
}

/** "!" and "." alone end sentences; with another operator character ("!=", "..") they are code. */
const OPERATOR = String.raw`\.{2,}|[<>=+\-*\/%^&|~\\!]*[<>=+\-*\/%^&|~\\][<>=+\-*\/%^&|~\\!]*`;
const WORD = String.raw`[\p{L}\p{N}_]*`;
const OPERATION = new RegExp(String.raw`(?<=(?:^|[^\p{L}\p{N}_])(${WORD})(\s*))(?:${OPERATOR})(?=(\s*)(${WORD}))`, 'gu');
const SPAN = /`([^`\n]+)`/g;

export function readCode(text: string): CodeFacts {
  const matches = [...text.matchAll(OPERATION)];
  const operations = matches.map(([operator, before, spaceBefore, spaceAfter, after]) => {
    // An operator spaced on one side only is a prefix ("ls -A") or a postfix ("C++ and"): the word
    // across the space is prose. A word attached after it is a flag or an escape ("-A", "\D"): its case
    // is its meaning; the others are names ("C++" is "c++", "A < B" is "a < b").
    const left = spaceBefore && !spaceAfter ? '' : before.toLowerCase();
    const right = spaceAfter && !spaceBefore ? '' : spaceAfter ? after.toLowerCase() : after;
    return left + operator + right;
  });
  return {
    operators: matches.map((m) => m[0]).sort(),
    operations: operations.sort(),
    spans: [...text.matchAll(SPAN)].map((m) => m[1].trim()).sort(),
  };
}
