/**
 * Code in a prompt, where the order of operands and the case of letters carry meaning that prose words
 * do not: "a < b" / "b < a", "i++" / "++i", "main..feature" / "feature..main", "\d+" / "\D+", "ls -a" /
 * "ls -A", "[] + {}" / "{} + []". The guard reads prose words as an ordered list of stems and symbols as a
 * multiset, lower-cased, and ASCII punctuation not at all; all three lose exactly this.
 */
export interface CodeFacts {
  /** Each operator (a run of ASCII operator characters, or two dots or more) with the word on either side of it ("a<b", "i++", "-A", "[]+{}"), sorted. */
  operations: string[];
  /** Brackets and braces, sorted: "[]" is not "{}". */
  brackets: string[];
  /** Backtick spans and fenced blocks as written but for whitespace (spacing), sorted. */
  spans: string[];
}

/**
 * What the text is cut into, in one pass: each kind a run of one character class, no two classes sharing
 * a character, so no character is read twice whatever the input (a pattern with overlapping quantifiers
 * took quadratic time on a long run of "!"). An operand holds letters, digits, _ and brackets.
 */
export const SEGMENT_CLASSES = {
  operand: String.raw`[\p{L}\p{N}_\[\]{}]`,
  space: String.raw`\s`,
  dot: String.raw`\.`,
  operator: String.raw`[<>=+\-*\/%^&|~\\!]`,
};
export const SEGMENT = new RegExp(
  `${Object.values(SEGMENT_CLASSES)
    .map((c) => `${c}+`)
    .join('|')}|.`,
  'gsu',
);
const OPERAND = new RegExp(`^${SEGMENT_CLASSES.operand}`, 'u');
const OPERATOR = new RegExp(`^${SEGMENT_CLASSES.operator}`, 'u');
const SPAN = /`([^`\n]+)`/g;
const FENCE = '```';

export function readCode(text: string): CodeFacts {
  const segments = text.match(SEGMENT) ?? [];
  const operations: string[] = [];
  for (const [i, segment] of segments.entries()) {
    if (!isOperator(segment)) continue;
    const spaceBefore = /^\s/.test(segments[i - 1] ?? '');
    const spaceAfter = /^\s/.test(segments[i + 1] ?? '');
    const before = operand(segments[spaceBefore ? i - 2 : i - 1]);
    const after = operand(segments[spaceAfter ? i + 2 : i + 1]);
    // An operator spaced on one side only is a prefix ("ls -A") or a postfix ("C++ and"): the word
    // across the space is prose. A word attached after it is a flag or an escape ("-A", "\D"): its case
    // is its meaning; the others are names ("C++" is "c++", "A < B" is "a < b").
    const left = spaceBefore && !spaceAfter ? '' : before.toLowerCase();
    const right = spaceAfter && !spaceBefore ? '' : spaceAfter ? after.toLowerCase() : after;
    operations.push(left + segment + right);
  }
  // Split, not matched: a pattern for fenced blocks rescans the text after each unclosed fence.
  const parts = text.split(FENCE);
  const blocks = parts.filter((_, i) => i % 2).map((block) => block.replace(/^[^\n]*\n/, ''));
  const prose = parts.filter((_, i) => i % 2 === 0).join(' ');
  return {
    operations: operations.sort(),
    brackets: (text.match(/[[\]{}]/g) ?? []).sort(),
    spans: [...[...prose.matchAll(SPAN)].map((m) => m[1]), ...blocks].map(spacing).sort(),
  };
}

/**
 * Code as compared: whitespace is one space between two words ("unsigned int") and none elsewhere
 * ("COUNT( * )" is "COUNT(*)"), so re-indented or re-spaced code is the same code.
 */
function spacing(code: string): string {
  return code
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/ (?=[^\p{L}\p{N}_])|(?<=[^\p{L}\p{N}_]) /gu, '');
}

/** "!" and "." alone end sentences; with another operator character ("!=", "..") they are code. */
function isOperator(segment: string): boolean {
  return segment[0] === '.' ? segment.length > 1 : OPERATOR.test(segment) && /[^!]/.test(segment);
}

function operand(segment: string | undefined): string {
  return segment && OPERAND.test(segment) ? segment : '';
}
