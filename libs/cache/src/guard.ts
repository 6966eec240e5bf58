import { CONTRACTIONS, FRAME_WORDS, NEGATIONS, NUMBER_WORDS, OPERATORS, QUESTION_WORDS, SYNONYMS, UNITS } from './guard-tables';

/** Why the guard refused a semantic neighbour. */
export type GuardReason = 'numbers' | 'units' | 'negation' | 'entities' | 'key-terms';
export const GUARD_REASONS: readonly GuardReason[] = ['numbers', 'units', 'negation', 'entities', 'key-terms'];

/** What the guard compares, read once per text. */
export interface PromptFacts {
  /** Numbers and operators in order ("2+2" → 2 + 2; "two plus two" too). */
  numbers: string[];
  /** Numbers, operators and units in order ("5 miles to km" ≠ "5 km to miles"). */
  quantities: string[];
  negations: number;
  /** Proper names, acronyms, versioned names: lower-cased, in order. */
  entities: string[];
  /** Subject words: not framing, stemmed, synonyms folded. */
  terms: Set<string>;
  /** The subject word after each "to"/"into": the direction of a conversion ("string to int" ≠ "int to string"). */
  targets: string[];
  /** who / when / where / why: "when did Rome fall" ≠ "why did Rome fall". */
  questions: Set<string>;
  /** Every word, lower-cased and stemmed, to find an entity written in lower case. */
  words: Set<string>;
}

/**
 * The second check before a semantic hit is served. Vectors of "what is 2+2" and
 * "what is 2+3" are almost equal; their answers are not. A neighbour is refused when
 * the two prompts differ in numbers, units, negation, named entities or subject words;
 * only framing ("how do I", "please", "explain") and listed synonyms may differ.
 * Returns the reason for a refusal, or undefined when the pair may share an answer.
 */
export function guard(query: PromptFacts, cached: PromptFacts): GuardReason | undefined {
  if (!sameList(query.numbers, cached.numbers)) return 'numbers';
  if (!sameList(query.quantities, cached.quantities)) return 'units';
  if (query.negations !== cached.negations) return 'negation';
  if (!sameEntities(query, cached)) return 'entities';
  if (!sameSet(query.terms, cached.terms) || !sameSet(query.questions, cached.questions)) return 'key-terms';
  if (query.targets.length && cached.targets.length && !sameList(query.targets, cached.targets)) return 'key-terms';
  return undefined;
}

const TOKEN = /°[CFcf]?|\d+(?:[.,:]\d+)*|\p{L}[\p{L}\p{N}-]*|[+\-*/^=<>%$€£¥×÷]/gu;

export function promptFacts(text: string): PromptFacts {
  let expanded = text.normalize('NFKC');
  for (const [pattern, replacement] of CONTRACTIONS) expanded = expanded.replace(pattern, replacement);
  const facts: PromptFacts = {
    numbers: [],
    quantities: [],
    negations: 0,
    entities: [],
    terms: new Set(),
    targets: [],
    questions: new Set(),
    words: new Set(),
  };
  let directed = false;
  for (const match of expanded.matchAll(TOKEN)) {
    const raw = match[0];
    const lower = raw.toLowerCase();
    const word = stem(lower);
    facts.words.add(word);
    if (isEntity(raw, expanded, match.index)) facts.entities.push(word);
    const number = /^\d/.test(raw) ? normaliseNumber(raw) : (NUMBER_WORDS[lower] ?? OPERATORS[lower] ?? OPERATORS[plural(lower)]);
    const unit = UNITS[lower] ?? UNITS[plural(lower)];
    if (number) {
      facts.numbers.push(number);
      facts.quantities.push(number);
    } else if (unit) facts.quantities.push(unit);
    else if (NEGATIONS.has(lower)) facts.negations++;
    else if (QUESTION_WORDS.has(lower)) facts.questions.add(lower);
    else if (!FRAME_WORDS.has(lower) && !FRAME_WORDS.has(plural(lower))) {
      const term = stem(SYNONYMS[plural(lower)] ?? lower);
      facts.terms.add(term);
      if (directed) facts.targets.push(term);
    }
    if (number || unit || !FRAME_WORDS.has(lower)) directed = false;
    if (lower === 'to' || lower === 'into') directed = true;
  }
  return facts;
}

/**
 * A proper name, acronym or versioned name: "Paris" mid-sentence, "USA", "iPhone",
 * "GPT4", "COVID-19". A capital at the start of a sentence proves nothing.
 */
function isEntity(raw: string, text: string, at: number): boolean {
  if (/\d/.test(raw) && /\p{L}/u.test(raw)) return true;
  if (/\p{Lu}/u.test(raw.slice(1))) return true;
  if (!/^\p{Lu}/u.test(raw) || raw === 'I') return false;
  const before = text.slice(Math.max(0, at - 8), at);
  const sentenceStart = before.trim() === '' ? at < 8 || before.includes('\n') : /[.!?:;"“(]\s*$/.test(before);
  return !sentenceStart;
}

/** Each side's entities appear (in any case) on the other side, in the same order. */
function sameEntities(a: PromptFacts, b: PromptFacts): boolean {
  for (const entity of a.entities) if (!b.words.has(entity)) return false;
  for (const entity of b.entities) if (!a.words.has(entity)) return false;
  const shared = new Set([...a.entities, ...b.entities]);
  if (shared.size < 2) return true;
  return sameList(order(a.words, shared), order(b.words, shared));
}

/** The shared entities in the order they occur (Set keeps first-seen order). */
function order(words: Set<string>, entities: Set<string>): string[] {
  return [...words].filter((w) => entities.has(w));
}

/** Plural to singular: "miles" → "mile", "kids" → "kid", "countries" → "country". */
function plural(word: string): string {
  if (word.length <= 3 || !word.endsWith('s') || /(ss|us|is)$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(ches|shes|xes|zes|sses)$/.test(word)) return word.slice(0, -2);
  return word.slice(0, -1);
}

/**
 * A light stem, so word forms compare equal: plural, then -ing / -ed / -er and a final
 * e ("painted", "painter" → "paint"; "writing", "write" → "writ"; "running" → "run").
 */
function stem(word: string): string {
  let base = plural(word);
  const suffix = /(ing|ed|er)$/.exec(base);
  if (suffix && base.length - suffix[0].length >= 4) {
    base = base.slice(0, -suffix[0].length);
    if (/([^aeiouls])\1$/.test(base)) base = base.slice(0, -1);
  }
  return base.length > 3 ? base.replace(/e$/, '') : base;
}

function normaliseNumber(raw: string): string {
  if (raw.includes(':')) return raw;
  const plain = /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(raw) ? raw.replace(/,/g, '') : raw.replace(',', '.');
  const value = Number(plain);
  return Number.isFinite(value) ? String(value) : raw;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
