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
  /**
   * Words with code punctuation in them ("list[1:]", "a?.b", "s[::2]", "a->b"), lower-cased, by their letters
   * and digits ("list 1"), sorted: the same letters punctuated otherwise are other code ("list[:1]", "a.b",
   * "s[2::]"), though the embedder reads them alike and the other facts see neither ":" nor "?".
   */
  punctuated: Map<string, string[]>;
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

/** `hyphenated`: the same text with its hyphenated words whole, as the guard keeps them apart in `text`. */
export function readCode(text: string, hyphenated = text): CodeFacts {
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
  const { prose, blocks } = fenced(text);
  return {
    operations: operations.sort(),
    brackets: (text.match(/[[\]{}]/g) ?? []).sort(),
    spans: [...[...prose.matchAll(SPAN)].map((m) => m[1]), ...blocks].map(spacing).sort(),
    punctuated: punctuatedWords(hyphenated),
  };
}

/** Prose and fenced blocks apart. Split, not matched: a pattern for fenced blocks rescans the text after each unclosed fence. */
function fenced(text: string): { prose: string; blocks: string[] } {
  const parts = text.split(FENCE);
  return {
    prose: parts.filter((_, i) => i % 2 === 0).join(' '),
    blocks: parts.filter((_, i) => i % 2).map((block) => block.replace(/^[^\n]*\n/, '')),
  };
}

/** A hyphen joining a word's parts ("two-week", "10-year-old", "Wi-Fi"): prose, not code. */
export const HYPHENATED = /(?<=[\p{L}\d])-(?=\p{L})/gu;
/** Letters and digits: what a punctuated word's key is made of ("jane_smith@" and "jane.smith@" are "jane smith"). */
const WORD_PART = /[\p{L}\p{N}]+/gu;
/** ASCII punctuation but _ and the apostrophe, which prose puts inside words ("don't"). */
const CODE_PUNCTUATION = /[^\p{L}\p{N}_\s'\P{ASCII}]/u;

function punctuatedWords(text: string): Map<string, string[]> {
  const { prose, blocks } = fenced(text);
  // Quoted code re-spaced is the same code ("COUNT( * )"), as spans compare it.
  const code = [prose.replace(SPAN, (_, span: string) => spacing(span)), ...blocks.map(spacing)].join(' ');
  const words = new Map<string, string[]>();
  for (const raw of code.split(/\s+/)) {
    const word = unwrapped(raw).toLowerCase();
    const parts = word.match(WORD_PART);
    // Hyphens count only beside other punctuation ("john-doe@", "config-prod.json"): "A-B" is "A B" in prose.
    if (!parts || !CODE_PUNCTUATION.test(word.replace(HYPHENATED, ' '))) continue;
    const key = parts.join(' ');
    // Each spelling once: a word said twice on one side and once on the other is the same word.
    words.set(key, [...new Set([...(words.get(key) ?? []), word])].sort());
  }
  return words;
}

/**
 * A word without the prose around it: quotes, a file type's dot (".tar.gz" is "tar.gz"), the sentence's
 * punctuation after it ("a.b?"), a bracket it does not close or open itself ("(see a.b)") or that wraps it
 * whole ("(a.b)"). Its own brackets stay: "list[1:]" is not "list[1]".
 */
function unwrapped(raw: string): string {
  let word = raw.replace(/^["'`\u2018\u201c.]+/u, '').replace(/["'`\u2019\u201d.,;:!?]+$/u, '');
  for (const [open, close] of ['()', '[]', '{}']) {
    const opens = word.split(open).length - word.split(close).length;
    if (opens > 0 && word.startsWith(open)) word = word.slice(1);
    else if (opens < 0 && word.endsWith(close)) word = word.slice(0, -1);
    else if (word.startsWith(open) && word.endsWith(close) && balanced(word.slice(1, -1), open, close)) word = word.slice(1, -1);
  }
  return word.replace(/[.,;:!?]+$/, '');
}

/** Whether every `close` in the text closes an `open` before it and every `open` is closed. */
function balanced(text: string, open: string, close: string): boolean {
  let depth = 0;
  for (const c of text) {
    if (c === open) depth++;
    else if (c === close && --depth < 0) return false;
  }
  return depth === 0;
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
