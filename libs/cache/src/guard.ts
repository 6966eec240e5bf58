import {
  AMOUNT_BOUNDS,
  ARTICLES,
  AUXILIARY_TENSES,
  CASED_UNITS,
  CLAUSE_OPENERS,
  CLAUSE_WORDS,
  CODE_NUMBER,
  CODE_WORDS,
  CONTRACTIONS,
  CONTRASTS,
  DETERMINERS,
  DIRECTED_WITH,
  DIRECTION_MARKERS,
  DIRECTION_MARKERS_BETWEEN_NAMES,
  EXCLUDING_PHRASES,
  EXCLUSIONS,
  FRAME_WORDS,
  HEADINGS,
  LITERAL_WORDS,
  NEGATING_PREFIXES,
  NEGATIONS,
  NUMBER_WORDS,
  OPERATORS,
  OPPOSITES,
  ORDERING_WORDS,
  ORDINAL_WORDS,
  PARTICLE_OPPOSITES,
  PERSONS,
  PREPOSITIONS,
  PARTITIVES,
  PHRASAL_PARTICLES,
  POSSESSIVES,
  QUANTIFIERS,
  QUESTION_NOUNS,
  QUALIFIERS,
  QUESTION_PHRASES,
  RANGE_ENDS,
  RANGE_STARTS,
  RELATIONS,
  ROUTE_ENDS,
  SETTING_OPENERS,
  SETTINGS,
  SYMMETRIC_PHRASES,
  SYMMETRIC_WORDS,
  SYNONYMS,
  TIME_DIRECTIONS,
  TIME_UNITS,
  TIMES_OF_DAY,
  UNITS,
  VAGUE_AMOUNTS,
} from './guard-tables';
import { type CodeFacts, HYPHENATED, readCode } from './code';
import { SYMBOL } from './symbols';
import { synonymous, termOf } from './guard-lexicon';
import { misspelt } from './guard-typos';
import { readFormats } from './guard-formats';
import { plural, stem } from './guard-words';
import { differingRegions } from './guard-regions';
import { type ClauseFacts, endingsApart, readClause, rolesTraded, tradedPlaces, transposed } from './guard-roles';

/** Why the guard refused a semantic neighbour. */
export type GuardReason =
  | 'numbers'
  | 'symbols'
  | 'units'
  | 'negation'
  | 'entities'
  | 'direction'
  | 'relation'
  | 'question'
  | 'tense'
  | 'scope'
  | 'qualifier'
  | 'substitution';
export const GUARD_REASONS: readonly GuardReason[] = [
  'numbers',
  'symbols',
  'units',
  'negation',
  'entities',
  'direction',
  'relation',
  'question',
  'tense',
  'scope',
  'qualifier',
  'substitution',
];

/** What the guard compares, read once per text. */
export interface PromptFacts {
  /** Every word, number and symbol, lower-cased and singular ("grapes" is "grape", as "grape seeds" has it), in order. */
  sequence: string[];
  /** Numbers (and, in a prompt with numbers, operators) in order: "2+2" → 2 + 2; "two plus two" too. */
  numbers: string[];
  /** Symbols not read as an operator or unit (≤, ∑, 🐶, "<" without numbers…: symbols.ts), sorted: compared as a multiset. */
  symbols: string[];
  /** Numbers and literal words (LITERAL_WORDS) written in quotes, lower-cased: "'0'", "\"null\"": strings, in code. */
  quoted: string[];
  /** Operators with their operands and backtick code, where order and case count (code.ts). */
  code: CodeFacts;
  /** Date and time formats as written, in order ("YYYY-MM-DD", "HH:mm"): guard-formats.ts. */
  formats: string[];
  /** "first", "second", "last", in order. */
  ordinals: string[];
  /** Quantifiers by what they claim (QUANTIFIERS), sorted, once each: compared only when both prompts have one. */
  quantifiers: string[];
  /** The tenses of the auxiliaries (is, was, did…). */
  tenses: Set<string>;
  /** Who acts on whom, the tense of a verb with no auxiliary and the future (guard-roles.ts). */
  clause: ClauseFacts;
  /** Whom the pronouns name, in order ("do you love me": you, i). */
  persons: string[];
  /** Units in order ("5 miles to km" ≠ "5 km to miles"); "am" / "pm" after a number too. */
  units: string[];
  /** Which way relative times point ("in 10 days": future, "10 days ago": past): compared only when both prompts have one. */
  times: string[];
  /** Which side of an amount its bounds are on ("within 30 days": up to, "after 30 days": beyond), in order: compared only when both prompts have one. */
  bounds: string[];
  negations: number;
  /** Proper names, acronyms, versioned names: lower-cased, in order. */
  entities: string[];
  /** Content words in order: not framing, stemmed, synonyms folded. */
  terms: string[];
  /** The terms of the hand synonym groups that a framing word of the prompt is in: "make" says "create", "help" "assist". */
  framedTerms: Set<string>;
  /** For each term, whether it is attached to the term before: nothing but determiners and numbers between. */
  attached: boolean[];
  /** For each term, the word just before it ("in" for "Tokyo" in "the time in Tokyo"). */
  preceding: string[];
  /** For each term, the words between it and the term before ("but not in" for "develop" in "in main but not in develop"). */
  gaps: string[][];
  /** How two terms side by side are related (RELATIONS), by the pair in either order: "aspirin warfarin" → instead in "aspirin instead of warfarin". */
  relations: Map<string, string>;
  /** The terms and, where they stand, the people the pronouns other than possessives name: "can my landlord sue me": landlord, sue, i. */
  roles: string[];
  /**
   * The terms an amount is taken of: that amount (the word before "of": amountBefore) and the term before it,
   * which acts on it: chocolate → lot, ate in "my dog ate a lot of chocolate"; order → part, cancel in "cancel
   * part of my order"; payment → most, refund.
   */
  amounts: Map<string, Amount>;
  /**
   * For each negation or exclusion with a term after it, the term it leaves out and the terms before it: sock
   * after [customer, bought, shoe] in "customers who bought shoes but not socks", develop after [commit, main]
   * in "commits in main that are not in develop", coffee after [tea] in "tea rather than coffee".
   */
  exclusions: Exclusion[];
  /** The terms that open a condition or qualifier ("while pregnant", "for the sale of land", "of stopping metformin") or that are set against another ("a refund instead of"). */
  qualifiers: Set<string>;
  /** The SETTINGS terms and units named by a phrase a SETTING_OPENERS word opens ("at night": night; "in Celsius": c). */
  settings: Set<string>;
  /**
   * Where a term is headed ("ship to Canada": toward) or comes from ("ship from Canada": from), by the term
   * before the direction word and the term after it ("ship canada"): "both" when it is both.
   */
  headings: Map<string, string>;
  /** Whose a term is, by term: the person a possessive names or the term before "'s" ("my husband's bank account": husband). */
  owners: Map<string, string>;
  /** The content words next to a "to", "from", "than"…: their order matters ("string to int" ≠ "int to string"). */
  anchors: Set<string>;
  /** What kind of answer the question words ask for (how many → quantity, who → person…); empty for plain what/how. */
  questions: Set<string>;
  /** The same kinds, asked by a noun ("the number of", "in what year"). */
  askedNouns: Set<string>;
  /** Every word, lower-cased and stemmed, with how many times it occurs. */
  words: Map<string, number>;
  /** Words written as a name is (a capital anywhere, a sentence's first word, "x86"), counted as `words` (sameEntities). */
  capitalised: Map<string, number>;
  /** Whether no word is written with a capital then lower case: then a lower-case word may be a name (sameEntities). */
  uncased: boolean;
  /** A word and the particle after it ("log in", "zoom out"), for PARTICLE_OPPOSITES. */
  particles: Set<string>;
}

/** An amount taken of a term (PromptFacts.amounts), and the term before it, if any. */
interface Amount {
  amount: string;
  actor?: string;
}

/** A term a negation or an exclusion leaves out, and the terms before it. */
export interface Exclusion {
  left: string;
  before: string[];
}

/**
 * The second check before a semantic hit is served. Vectors of "what is 2+2" and
 * "what is 2+3" are almost equal; their answers are not. The guard refuses only
 * concrete contradictions: different numbers, operators, symbols or units, a negation or an
 * opposite (enable/disable), different named entities or one on one side only, the same words in swapped
 * direction, a different kind of question (how many vs what). Different wording is
 * the embedder's call: the similarity threshold decides it.
 * Returns the reason for a refusal, or undefined when the pair may share an answer.
 */
export function guard(asked: PromptFacts, cached: PromptFacts, similarity = 1, substitutionThreshold = 0): GuardReason | undefined {
  const query = misspelt(asked, cached);
  if (!sameList(query.numbers, cached.numbers)) return 'numbers';
  if (
    !sameList(query.symbols, cached.symbols) ||
    differentCode(query.code, cached.code) ||
    differWhereBoth(query.formats, cached.formats) ||
    quotedApart(query, cached)
  )
    return 'symbols';
  if (!sameList(query.ordinals, cached.ordinals)) return 'numbers';
  if (differWhereBoth(query.units, cached.units)) return 'units';
  if (query.negations !== cached.negations || opposed(query, cached)) return 'negation';
  if (!sameEntities(query, cached) || otherPeople(query.persons, cached.persons)) return 'entities';
  if (
    swapped(query, cached) ||
    rolesSwapped(query, cached) ||
    exclusionsTraded(query, cached) ||
    headedApart(query, cached) ||
    ownedApart(query, cached) ||
    differWhereBoth(query.times, cached.times)
  )
    return 'direction';
  if (relatedApart(query, cached)) return 'relation';
  if (differentQuestion(query, cached) || differWhereBoth(query.clause.modals, cached.clause.modals)) return 'question';
  if (differentTense(query, cached) || endingsApart(query.clause, cached.clause)) return 'tense';
  if (differWhereBoth(query.quantifiers, cached.quantifiers) || differWhereBoth(query.bounds, cached.bounds)) return 'scope';
  // One word apart, and the terms differ: a content word added or put for a framing one ("mean" is both).
  const apart = sameList(query.terms, cached.terms) ? undefined : oneWordApart(query.sequence, cached.sequence);
  if (similarity < substitutionThreshold && (substituted(query, cached) || (apart && !apart.added))) return 'substitution';
  if (addedTerm(query, cached) || amountApart(query, cached) || settingApart(query, cached) || (apart?.added && compounds(apart.after)))
    return 'qualifier';
  return undefined;
}

/**
 * The guard on two prompts as written: what they share whole (a pasted document or code, a tag line: sentences
 * and lines both have) is set aside and the rest judged (guard-regions.ts), as it is what the answers differ by.
 * Where the shared text is the larger part, the similarity is mostly its: the embedder has not judged the rest,
 * so wording is no longer its call. It then excuses no swapped word (0), and a content word on one side with no
 * counterpart on the other is refused too: "What does parse_config do?" / "Write a unit test for parse_config."
 * over the same code, "…Summarize it." / "…Make it vegan." after the same recipe.
 */
export function guardPrompts(
  asked: string,
  cached: string,
  similarity = 1,
  substitutionThreshold = 0,
  askedFacts = () => promptFacts(asked),
): GuardReason | undefined {
  const regions = differingRegions(asked, cached);
  if (!regions) return guard(askedFacts(), promptFacts(cached), similarity, substitutionThreshold);
  if (regions.reindented) return 'symbols';
  const [query, kept] = [promptFacts(regions.asked, asked), promptFacts(regions.cached, cached)];
  if (!regions.sharedDominates) return guard(query, kept, similarity, substitutionThreshold);
  const refused = guard(query, kept, 0, substitutionThreshold);
  if (refused) return refused;
  return unaligned(query, kept) || unaligned(kept, query) || saysSomething(query) !== saysSomething(kept) ? 'qualifier' : undefined;
}

/**
 * guardPrompts for one asked prompt against each cached neighbour in turn: the asked prompt's facts, which every
 * neighbour it shares no sentence with is judged against, are read once (at its first such neighbour).
 */
export function guardFor(asked: string): (cached: string, similarity: number, substitutionThreshold: number) => GuardReason | undefined {
  let facts: PromptFacts | undefined;
  const askedFacts = () => (facts ??= promptFacts(asked));
  return (cached, similarity, substitutionThreshold) => guardPrompts(asked, cached, similarity, substitutionThreshold, askedFacts);
}

/** Whether a text has a content word or a name: "Thanks!" has none. */
function saysSomething(f: PromptFacts): boolean {
  return f.terms.length > 0 || f.entities.length > 0;
}

/**
 * Scripts written without spaces between words: each of their letters (with its vowel
 * and tone marks) is a token, so the checks see which differ. */
const UNSPACED = String.raw`\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}`;
/**
 * "!" right after a number is its factorial ("10! / 8!", "How many digits does 20! have?", "What is 5!?"), but
 * for "!=" and where it may end a sentence, before another or at the end ("I scored 100! Is that good?", "I
 * turned 30!!! What now?"). Two are a double factorial wherever they are ("Compute 6!!" is not "Compute 6!").
 */
const FACTORIAL = String.raw`(?<=\d!*)!(?!=)(?!!*(?<!\d!!)(?:\s+\p{Lu}|\s*$))`;
const TOKEN = new RegExp(
  String.raw`°[CFcf]?|\d+(?:[.,:]\d+)*|${FACTORIAL}|[\p{L}&&[${UNSPACED}]]\p{M}*|[\p{L}--[${UNSPACED}]][[\p{L}\p{N}\-]--[${UNSPACED}]]*|[+\-*\/^=<>%$€£¥×÷\(\)]|(?:${SYMBOL})`,
  'gv',
);
const SYMBOL_TOKEN = new RegExp(`^(?:${SYMBOL})$`, 'v');

/**
 * What the guard compares in `text`, which may be a part of the prompt `whole` (guardPrompts): whether the
 * prompt counts, and so reads "more" as ">" and "one" as a number, is the whole prompt's ("I have 2 cats and
 * a dog. Which one needs more sleep?").
 */
export function promptFacts(text: string, whole = text): PromptFacts {
  // "'s" goes with the contractions ("it's", "husband's"); a content word before it is whose the next words are.
  const possessors = new Set(
    [...text.normalize('NFKC').matchAll(/(\p{L}[\p{L}\p{N}]*)['’]s\b/gu)].map((m) => m[1].toLowerCase()).filter((w) => !FRAME_WORDS.has(w)),
  );
  const spelt = written(text);
  const expanded = wordsApart(spelt);
  const tokens = [...expanded.matchAll(TOKEN)];
  const lowered = tokens.map((m) => m[0].toLowerCase());
  const context = whole === text ? lowered : [...expand(whole).matchAll(TOKEN)].map((m) => m[0].toLowerCase());
  const facts: PromptFacts = {
    sequence: lowered.map(plural),
    numbers: [],
    symbols: [],
    quoted: [],
    code: readCode(expanded, spelt),
    formats: readFormats(text.normalize('NFKC')),
    ordinals: [],
    quantifiers: [],
    tenses: new Set(),
    // Read from the terms, once all are known (after the loop).
    clause: readClause([], []),
    persons: [],
    units: [],
    times: [],
    bounds: [],
    negations: 0,
    entities: [],
    terms: [],
    framedTerms: new Set(),
    attached: [],
    preceding: [],
    gaps: [],
    relations: new Map(),
    roles: [],
    amounts: new Map(),
    exclusions: [],
    qualifiers: new Set(),
    settings: new Set(),
    headings: new Map(),
    owners: new Map(),
    anchors: new Set(),
    questions: new Set(),
    askedNouns: new Set(),
    words: new Map(),
    capitalised: new Map(),
    // An all-capitals word ("YYYY-MM-DD", "API") says nothing of how the writer treats names; the whole prompt
    // says how its writer writes ("I live near Boston. where is the nearest subway" is not a casual writer's).
    uncased: !/\p{Lu}\p{Ll}/u.test(whole),
    particles: new Set(),
  };
  // Operators count only in a prompt with numbers: "add a column" and "initializer/loader" are not arithmetic.
  const arithmetic = context.some((w) => /^\d/.test(w) || NUMBER_WORDS.has(w));
  // "one" is "a" in "one line at a time", "in one mile": a number only next to arithmetic, else framing.
  const counting =
    context.some((w) => OPERATORS.has(w) && !/^[a-z]/.test(w)) ||
    context.some((w) => w !== 'one' && (/^\d/.test(w) || NUMBER_WORDS.has(w)));
  let anchorNext = false;
  let attached = false;
  let qualifyNext = false;
  let settingNext = false;
  let amountNext: Amount | undefined;
  let headingNext = '';
  let headedFrom = '';
  let ownerNext = '';
  let clause = false;
  let gap: string[] = [];
  // Whether a negation or an exclusion has come with no term after it yet, and how many terms were before it.
  let excluding = false;
  let excludedAfter = 0;
  const code = aboutCode(facts.code, spelt, context);
  for (const [i, match] of tokens.entries()) {
    const raw = match[0];
    const lower = lowered[i];
    const word = stem(lower);
    const termsBefore = facts.terms.length;
    facts.words.set(word, (facts.words.get(word) ?? 0) + 1);
    const entity = isEntity(raw, expanded, match.index);
    if (entity || /\p{Lu}/u.test(raw)) facts.capitalised.set(word, (facts.capitalised.get(word) ?? 0) + 1);
    if (entity) facts.entities.push(word);
    const literal = code ? literalLength(expanded, match.index, raw) : raw.length;
    if ((/^\d/.test(raw) || LITERAL_WORDS.has(lower)) && quotedAt(expanded, match.index, literal)) facts.quoted.push(lower);
    const tense = AUXILIARY_TENSES.get(`${lower} ${lowered[i + 1]}`) ?? AUXILIARY_TENSES.get(lower);
    if (tense) facts.tenses.add(tense);
    // "US" is a country, not "us".
    const person = entity ? undefined : PERSONS.get(lower);
    if (person) facts.persons.push(person);
    if (person && !POSSESSIVES.has(lower)) facts.roles.push(person);
    // "part of my order", "a lot of chocolate" take an amount of what follows; "the type of pets", "the meaning of life" do not.
    if (lower === 'of') {
      const amount = amountBefore(lowered, i);
      // The amount word is a term itself ("lot", "tube"), but for a quantifier ("most").
      const actor = facts.terms.at(facts.terms.at(-1) === amount && facts.preceding.at(-1) === lowered[i - 2] ? -2 : -1);
      amountNext = amount ? { amount, actor } : undefined;
    }
    const question = QUESTION_PHRASES.get(`${lower} ${lowered[i + 1] ?? ''}`) ?? QUESTION_PHRASES.get(lower);
    if (question) facts.questions.add(question);
    const asked = ASKED_NOUNS.get(word);
    if (asked) facts.askedNouns.add(asked);
    if (PARTICLES.has(lower) && i > 0) facts.particles.add(`${stem(lowered[i - 1])} ${lower}`);
    const time = TIME_DIRECTIONS.get(lower);
    if (time && (time.amount === 'after' ? amountOfTime(lowered, i + 1) : TIME_UNITS.has(unitOf(lowered[i - 1])))) {
      facts.times.push(time.points);
    }
    // "dans les 30 jours": a bound of two words, the amount after both.
    const phrase = AMOUNT_BOUNDS.has(`${lower} ${lowered[i + 1]}`) ? 1 : 0;
    const bound = AMOUNT_BOUNDS.get(phrase ? `${lower} ${lowered[i + 1]}` : lower);
    const after = i + 1 + phrase;
    // The amount may stand behind a framing word or a currency symbol: "over the 30 days", "under $50".
    const skipped = FRAME_WORDS.has(lowered[after]) || CURRENCIES.has(lowered[after]);
    if (bound && (amountAt(lowered, after) || (skipped && amountAt(lowered, after + 1)))) facts.bounds.push(bound);
    if (CONTRASTS.has(lower) && facts.terms.length) facts.qualifiers.add(facts.terms[facts.terms.length - 1]);
    // "Which one", "this one", "each one": a pronoun, however many numbers the prompt has.
    const article = lower === 'one' && (!counting || PRONOUN_ONE_AFTER.has(lowered[i - 1] ?? ''));
    const number = /^\d/.test(raw)
      ? normaliseNumber(raw)
      : article
        ? undefined
        : (NUMBER_WORDS.get(lower) ?? regnalNumber(raw, tokens[i - 1]?.[0]));
    const operator = arithmetic ? (OPERATORS.get(lower) ?? OPERATORS.get(plural(lower))) : undefined;
    const unit = writtenUnit(raw) || (TIMES_OF_DAY.has(lower) && /^\d/.test(lowered[i - 1] ?? '') ? lower : '');
    // A unit in a prompt with no amount, next to a direction word, names a type, whose place in the order
    // counts as a term's: "convert bytes to a string" / "a string to bytes". Not time: "the time of year to
    // visit"; not a conversion: "10 euros in pounds".
    const typeName =
      !!unit &&
      !arithmetic &&
      !TIME_UNITS.has(unit) &&
      (DIRECTION_MARKERS.has(lowered[i - 1] ?? '') || DIRECTION_MARKERS.has(lowered[i + 1] ?? ''));
    if (typeName) facts.units.push(unit);
    const quantifier = QUANTIFIERS.get(lower);
    if (number || operator) facts.numbers.push((number ?? operator)!);
    else if (ORDINAL_WORDS.has(lower)) facts.ordinals.push(lower);
    else if (unit && !typeName) {
      facts.units.push(unit);
      if (settingNext) facts.settings.add(unit);
    } else if (quantifier) facts.quantifiers.push(quantifier);
    // The embedder may not see it at all (its unknown token): only the guard can tell ≤ from ≥.
    else if (SYMBOL_TOKEN.test(raw)) facts.symbols.push(raw);
    else if (NEGATIONS.has(lower)) facts.negations++;
    else if (
      DIRECTION_MARKERS.has(lower) ||
      (DIRECTION_MARKERS_BETWEEN_NAMES.has(lower) && betweenNames(tokens, i, expanded)) ||
      (RANGE_ENDS.has(lower) && RANGE_STARTS.has(lowered[i - 2]))
    ) {
      if (facts.terms.length) facts.anchors.add(facts.terms[facts.terms.length - 1]);
      anchorNext = true;
    } else if (entity || (!article && !FRAME_WORDS.has(lower) && !FRAME_WORDS.has(plural(lower)))) {
      // A name is never framing: "EST" is no French "est".
      const term = termOf(lower);
      facts.terms.push(term);
      facts.attached.push(attached);
      facts.preceding.push(lowered[i - 1] ?? '');
      facts.gaps.push(gap);
      gap = [];
      facts.roles.push(term);
      if (anchorNext) facts.anchors.add(term);
      if (qualifyNext) facts.qualifiers.add(term);
      if (settingNext && SETTING_TERMS.has(term)) facts.settings.add(SETTING_TERMS.get(term)!);
      if (amountNext) facts.amounts.set(term, amountNext);
      amountNext = undefined;
      if (ownerNext) facts.owners.set(term, ownerNext);
      if (possessors.has(lower)) ownerNext = term;
      if (headingNext) {
        const key = `${headedFrom} ${term}`;
        facts.headings.set(key, facts.headings.has(key) && facts.headings.get(key) !== headingNext ? 'both' : headingNext);
      }
      headingNext = '';
      anchorNext = false;
      qualifyNext = false;
      settingNext = false;
    }
    // A framing word other than an article ends the phrase a word before it opened.
    const framing = FRAME_WORDS.has(lower) && !DETERMINERS.has(lower) && !ARTICLES.has(lower);
    // A possessive owns the words after it up to the next framing word: "my bank account".
    if (POSSESSIVES.has(lower)) ownerNext = PERSONS.get(lower)!;
    else if (framing) ownerNext = '';
    // Where a thing goes or comes from is the term after the direction word and its articles: "to a
    // remote server", "au Canada".
    const heading = HEADINGS.get(lower);
    if (heading && !(headingNext && ARTICLES.has(lower))) {
      headingNext = heading;
      // The term before the direction word, which may be a term itself ("depuis").
      headedFrom = facts.terms[termsBefore - 1] ?? '';
    } else if (!heading && framing) headingNext = '';
    // The qualifier's noun comes after determiners only: "for the sale", not "for me, tails I win"; a
    // clause's after its subject and auxiliaries: "while I am pregnant", "after it ships".
    if (QUALIFIERS.has(lower)) {
      qualifyNext = true;
      clause = CLAUSE_OPENERS.has(lower);
    } else if (framing && !(clause && CLAUSE_WORDS.has(lower))) {
      qualifyNext = false;
    }
    // The setting's noun comes after articles and determiners only: "at the weekend", "in reverse order".
    if (SETTING_OPENERS.has(lower)) settingNext = true;
    else if (framing || unit) settingNext = false;
    if (facts.terms.length === termsBefore) gap.push(lower);
    // The first term after a negation or an exclusion is the one left out.
    if (excluding && facts.terms.length > termsBefore) {
      facts.exclusions.push({ left: facts.terms[termsBefore], before: facts.terms.slice(0, excludedAfter) });
      excluding = false;
    }
    if (NEGATIONS.has(lower) || EXCLUSIONS.has(lower) || CONTRASTS.has(lower) || EXCLUDING_PHRASES.has(`${lower} ${lowered[i + 1]}`)) {
      excluding = true;
      excludedAfter = termsBefore;
    }
    if (FRAME_WORDS.has(lower) && SYNONYMS.has(lower)) facts.framedTerms.add(termOf(lower));
    if (!DETERMINERS.has(lower) && !number) attached = facts.terms.length > termsBefore;
  }
  facts.clause = readClause(lowered, facts.terms);
  facts.symbols.sort();
  facts.quantifiers = [...new Set(facts.quantifiers)].sort();
  facts.relations = relationsOf(facts);
  return facts;
}

/**
 * Raised characters: digits, signs and letters (the modifier letters, "ˣ", "ʸ", "ᵏ", "ᵉ", "ⁿ"...), which NFKC
 * makes plain: "2ˣ" would read "2x", "eˣ" "ex".
 */
const RAISED = /[⁰¹²³⁴-⁹⁺⁻⁼⁽⁾ⁱⁿ\u02B0-\u02B8\u02E0-\u02E4\u1D2C-\u1D61\u1D78\u1D9B-\u1DBF]+/gu;
/** A raised ordinal's suffix after a number ("3ʳᵈ", "2ⁿᵈ", "1ᵉʳ") is the ordinal, as plain letters write it. */
const RAISED_ORDINAL = /^(?:st|nd|rd|th|e|er|re)$/;

/**
 * A text with its contractions spelt out and its hyphenated words apart, as the guard reads it. An exponent
 * written raised is a power ("2⁵" is "2^5", "x²" "x^2", "2ˣ" "2^x"), and digits written low after a number its
 * base ("101₂"): NFKC alone makes plain digits and letters of them, "25", "x2", "2x", "1012", which the embedder
 * reads alike too. Low digits after a letter are an index, as plain digits write it ("H₂O", "x₁").
 */
function expand(text: string): string {
  return wordsApart(written(text));
}

/** "two-week", "10-year-old", "Wi-Fi": the parts are words ("two week"), not a minus. */
function wordsApart(text: string): string {
  return text.replace(HYPHENATED, ' ');
}

/** A text as expand() reads it but with its hyphens: "john-doe@" is no "john.doe@" (code.ts punctuated). */
function written(text: string): string {
  let expanded = text
    .replace(RAISED, (raised, at: number) =>
      /\d/.test(text[at - 1] ?? '') && RAISED_ORDINAL.test(raised.normalize('NFKC')) ? raised : `^${raised}`,
    )
    .replace(/(?<=\p{N})[₀-₉]+/gu, (base) => ` ${base}`)
    .normalize('NFKC');
  for (const [pattern, replacement] of CONTRACTIONS) expanded = expanded.replace(pattern, replacement);
  return expanded;
}

const ROMAN = [
  'I',
  'II',
  'III',
  'IV',
  'V',
  'VI',
  'VII',
  'VIII',
  'IX',
  'X',
  'XI',
  'XII',
  'XIII',
  'XIV',
  'XV',
  'XVI',
  'XVII',
  'XVIII',
  'XIX',
  'XX',
];

/**
 * A Roman numeral of two letters or more after a capitalised word, as in "World War II",
 * "Henry VIII", "Rocky IV": its value. Alone ("IV fluids", "the vi editor") it is a word.
 */
function regnalNumber(raw: string, before: string | undefined): string | undefined {
  if (raw.length < 2 || !before || !/^\p{Lu}/u.test(before)) return undefined;
  const value = ROMAN.indexOf(raw) + 1;
  return value > 1 ? String(value) : undefined;
}

/** Words written in capitals that name nothing: "Is it OK to…" asks what "Is it fine to…" does. */
const CAPITALISED_WORDS = new Set(['OK']);

/**
 * A proper name, acronym or versioned name: "Paris" mid-sentence, "USA", "iPhone",
 * "GPT4", "COVID-19". A capital at the start of a sentence proves nothing.
 */
function isEntity(raw: string, text: string, at: number): boolean {
  if (CAPITALISED_WORDS.has(raw)) return false;
  if (/\d/.test(raw) && /\p{L}/u.test(raw)) return true;
  if (/\p{Lu}/u.test(raw.slice(1))) return true;
  if (!/^\p{Lu}/u.test(raw) || raw === 'I') return false;
  const before = text.slice(Math.max(0, at - 8), at);
  // Spanish opens a question or an exclamation with "¿" / "¡": "¿Cuál es…" starts a sentence.
  const sentenceStart = before.trim() === '' ? at < 8 || before.includes('\n') : /[.!?:;"“(¿¡]\s*$/.test(before);
  return !sentenceStart;
}

/**
 * No named entity said more often on one side than on the other (in any case): "Docker on Ubuntu" / "Docker on
 * Windows", and one added on one side only, in either direction: "the capital of Georgia" / "…of Georgia in the
 * US", "hello world" / "hello world in Go", whose answers are another place's or language's. Counted, not
 * looked up: a name the question adds may be said elsewhere in the prompt too.
 */
function sameEntities(a: PromptFacts, b: PromptFacts): boolean {
  // Said as a name more often than the other side writes the word with a capital: "The Great Gatsby" / "the plot of
  // The Great Gatsby" says "The" as a name once on each side, however many lower-case "the"s either has. In lower
  // case it is another word ("the word polish" / "the word Polish", "turkey" / "Turkey", "on the subway" / "at
  // Subway"), unless that side writes nothing with a capital ("how do i sort a list in python").
  const more = (x: PromptFacts, y: PromptFacts) => {
    const names = counts(x.entities);
    const written = y.uncased ? y.words : y.capitalised;
    return [...names].some(([name, n]) => n > (written.get(name) ?? 0));
  };
  return !more(a, b) && !more(b, a);
}

function counts(list: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of list) out.set(item, (out.get(item) ?? 0) + 1);
  return out;
}

/** Pronouns on both sides that name no one in common: "Who are you?" / "Who am I?". */
function otherPeople(a: string[], b: string[]): boolean {
  return a.length > 0 && b.length > 0 && !a.some((p) => b.includes(p));
}

/**
 * One side has a word more often than the other, the other its opposite: enable/disable,
 * install/uninstall, "turn on X on my phone" / "turn off X on my phone"; or the same word with
 * opposite particles after it ("log in" / "log out").
 */
function opposed(a: PromptFacts, b: PromptFacts): boolean {
  const only = (x: PromptFacts, y: PromptFacts) => [...x.words].filter(([w, n]) => n > (y.words.get(w) ?? 0)).map(([w]) => w);
  const onlyB = only(b, a);
  return only(a, b).some((w) => onlyB.some((v) => isOpposite(w, v) || isOpposite(v, w))) || oppositeParticles(a, b);
}

function oppositeParticles(a: PromptFacts, b: PromptFacts): boolean {
  const only = (x: PromptFacts, y: PromptFacts) => [...x.particles].filter((p) => !y.particles.has(p)).map((p) => p.split(' '));
  const onlyB = only(b, a);
  return only(a, b).some(([word, particle]) => onlyB.some(([other, o]) => word === other && OPPOSITE_PARTICLES.has(`${particle} ${o}`)));
}

function isOpposite(word: string, other: string): boolean {
  if (OPPOSITE_STEMS.has(`${word} ${other}`)) return true;
  if (word.length < 3) return false;
  return NEGATING_PREFIXES.some((prefix) => other === prefix + word);
}

/** A name or a unit on either side of token i: "PST in EST", "euros in dollars". */
function betweenNames(tokens: RegExpExecArray[], i: number, text: string): boolean {
  const named = (token: RegExpExecArray | undefined) => !!token && (isEntity(token[0], text, token.index) || !!writtenUnit(token[0]));
  return named(tokens[i - 1]) && named(tokens[i + 1]);
}

/** An amount of time starting at words[at]: "10 days", "a week", "a few months". */
function amountOfTime(words: string[], at: number): boolean {
  const amount = words[at] ?? '';
  if (!/^\d/.test(amount) && !NUMBER_WORDS.has(amount) && !VAGUE_AMOUNTS.has(amount)) return false;
  return TIME_UNITS.has(unitOf(words[at + 1])) || (VAGUE_AMOUNTS.has(words[at + 1]) && TIME_UNITS.has(unitOf(words[at + 2])));
}

/** A number or an amount of time starting at words[at]: "30", "thirty", "a week". */
function amountAt(words: string[], at: number): boolean {
  const word = words[at] ?? '';
  return /^\d/.test(word) || NUMBER_WORDS.has(word) || amountOfTime(words, at);
}

/** The unit a token is, as written: "Mb" is megabits, "MB" and "mb" megabytes (CASED_UNITS). */
function writtenUnit(token: string): string {
  return CASED_UNITS.get(token) ?? unitOf(token.toLowerCase());
}

function unitOf(word: string | undefined): string {
  return word === undefined ? '' : (UNITS.get(word) ?? UNITS.get(plural(word)) ?? '');
}

/** SETTINGS by term, as prompt words are compared, to the setting it names. */
const SETTING_TERMS = new Map([...SETTINGS].map(([word, setting]) => [termOf(word), termOf(setting)]));

/** The words after which "one" is a pronoun: "which one would you recommend". */
const PRONOUN_ONE_AFTER = new Set(['which', 'this', 'that', 'each', 'every', 'any', 'the', 'no', 'another']);

/** Currency symbols, which stand before their amount: "under $50". */
const CURRENCIES = new Set(['$', '€', '£', '¥']);

/** QUESTION_NOUNS by stem, as prompt words are compared. */
const ASKED_NOUNS = new Map([...QUESTION_NOUNS].map(([noun, kind]) => [stem(noun), kind]));

const PARTICLES = new Set(PARTICLE_OPPOSITES.map(([particle]) => particle));
const OPPOSITE_PARTICLES = new Set(PARTICLE_OPPOSITES.map(([p, q]) => `${p} ${q}`));

/** OPPOSITES as "stem stem" strings, since prompt words are compared stemmed. */
const OPPOSITE_STEMS = new Set(OPPOSITES.map(([a, b]) => `${stem(a)} ${stem(b)}`));

/**
 * Each side has a content word the other has no counterpart for (same stem, a listed synonym,
 * or one word the start of the other): "protect my credit score" / "see my credit score".
 * A word added on one side only ("tell me the capital" / "the capital city") is framing.
 */
function substituted(a: PromptFacts, b: PromptFacts): boolean {
  return unaligned(a, b) && unaligned(b, a);
}

/** A content word of x that y has no counterpart for, nor says with a framing word of its group. */
function unaligned(x: PromptFacts, y: PromptFacts): boolean {
  return x.terms.some((w) => !counterpart(w, x.terms, y.terms) && !y.framedTerms.has(w));
}

/**
 * Whether the other side has a counterpart for a term of one side: the same word, a word that begins it
 * ("painter" / "paint"), or a longer word it begins ("user" / "username") that its own side does not have
 * too: in "My sourdough is too sour" / "My sourdough is dense", "sourdough" is the counterpart of
 * "sourdough", not of "sour".
 */
function counterpart(term: string, own: string[], other: string[]): boolean {
  return other.some((v) => v === term || synonymous(term, v) || (aligned(term, v) && !(v.length > term.length && own.includes(v))));
}

/**
 * A content word on one side only (the other side adding none; both adding one is a substitution) that
 * modifies or acts on a word both sides have, standing right before it ("list files" / "list hidden files",
 * "stash my changes" / "apply my stashed changes", "cook rice" / "store cooked rice"; an amount before its
 * "of", "cancel part of my order", is amountApart's), or that opens a
 * condition or qualifier ("Can I take ibuprofen" / "…while pregnant", "…for the sale of land"). An added
 * word that stands apart ("Which city is Canada's capital?") narrows the question without changing it; an
 * added name ("in Python") is sameEntities'.
 */
function addedTerm(a: PromptFacts, b: PromptFacts): boolean {
  const added = (x: PromptFacts, y: PromptFacts) => {
    // A term the other side says with a framing word of its group ("create" / "make") is shared too.
    const shared = (k: number) =>
      k >= 0 && k < x.terms.length && (counterpart(x.terms[k], x.terms, y.terms) || y.framedTerms.has(x.terms[k]));
    const modifies = (k: number) => x.attached[k + 1] && shared(k + 1);
    const particle = (k: number) => PHRASAL_PARTICLES.has(x.terms[k]) && x.attached[k] && shared(k - 1);
    return x.terms.some(
      (w, k) => !shared(k) && !x.entities.includes(w) && /\p{L}/u.test(w) && (modifies(k) || particle(k) || x.qualifiers.has(w)),
    );
  };
  return (added(a, b) || added(b, a)) && !substituted(a, b);
}

/**
 * A phrase saying when, in what order or unit, or by what means (PromptFacts.settings) on one side, whose noun
 * the other side lacks: "Is it safe to walk in Central Park?" / "…at night?", "Print the numbers from 1 to
 * 10." / "…in reverse order.", "How long should I cook a turkey?" / "…in Celsius?", "How do I get to the
 * airport?" / "…by bus?". The answer holds for that setting only; a name added ("in Python") is
 * sameEntities'.
 */
function settingApart(a: PromptFacts, b: PromptFacts): boolean {
  const lacks = (x: PromptFacts, y: PromptFacts) =>
    [...x.settings].some((s) => !y.units.includes(s) && !y.terms.some((t) => (SETTING_TERMS.get(t) ?? t) === s || synonymous(t, s)));
  return lacks(a, b) || lacks(b, a);
}

/**
 * The amount the words before an "of" take of what follows it, or undefined when they take none: a word
 * of PARTITIVES ("part of", "lots of"), a quantifier that picks some ("most of", "some of", "many of"; not
 * "all of", which is all of it, nor the question's "how many of"), or a content word after an indefinite
 * article or an amount ("a lot of", "a tube of", "two cups of", "a few drops of").
 */
function amountBefore(lowered: string[], of: number): string | undefined {
  const word = lowered[of - 1] ?? '';
  const before = lowered[of - 2] ?? '';
  if (before === 'how') return undefined;
  const quantifier = QUANTIFIERS.get(word);
  if (quantifier) return quantifier === 'all' || quantifier === 'only' ? undefined : quantifier;
  if (PARTITIVES.has(word)) return termOf(word);
  const counted = VAGUE_AMOUNTS.has(before) || NUMBER_WORDS.has(before) || /^\d/.test(before);
  return counted && /\p{L}/u.test(word) && !FRAME_WORDS.has(word) ? termOf(word) : undefined;
}

/**
 * A term both prompts have, acted on by a term both have, that one takes an amount of and the other does not,
 * or another amount: "my dog ate chocolate" / "…ate a lot of chocolate", "refund the payment" / "refund most of
 * the payment", "cancel my order" / "cancel part of my order". The amount said where the other side has no
 * such act is wording: "Summarize the French Revolution" / "Give me a summary of the French Revolution".
 */
function amountApart(a: PromptFacts, b: PromptFacts): boolean {
  const amountOf = (x: PromptFacts, term: string) => [...x.amounts].find(([t]) => t === term || synonymous(t, term))?.[1];
  const apart = (x: PromptFacts, y: PromptFacts) =>
    [...x.amounts].some(([term, { amount, actor }]) => {
      if (!actor || !counterpart(term, x.terms, y.terms) || !counterpart(actor, x.terms, y.terms)) return false;
      const theirs = amountOf(y, term)?.amount;
      return theirs === undefined || (theirs !== amount && !synonymous(theirs, amount));
    });
  return apart(a, b) || apart(b, a);
}

/**
 * Where two prompts the same word for word but for one word differ: one word added ("in an egg" / "in an egg
 * white") or one in place of another ("un ciclo for" / "un ciclo while", "the mean of" / "the median of"),
 * with the word before it. Undefined for prompts further apart. Prompts so near embed alike whatever the
 * word; when it is a content word, it is the question.
 */
function oneWordApart(a: string[], b: string[]): { added: boolean; after: string } | undefined {
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  const added = long.length > short.length;
  if (long.length - short.length > 1) return undefined;
  // As stems: "potatoes" / "potato skins".
  const same = (x: string, y: string) => x === y || stem(x) === stem(y) || synonymous(termOf(x), termOf(y));
  let start = 0;
  while (start < short.length && same(short[start], long[start])) start++;
  let end = 0;
  while (end < short.length - start && same(short[short.length - 1 - end], long[long.length - 1 - end])) end++;
  const differ = short.length - start - end;
  // A framing word for a framing word is the wording: "come posso reimpostare" / "come si reimposta".
  if (!added && differ === 1 && FRAME_WORDS.has(short[start]) && FRAME_WORDS.has(long[start])) return undefined;
  return differ === (added ? 0 : 1) ? { added, after: short[start - 1] ?? '' } : undefined;
}

/**
 * A word added right after a content word makes a compound or names a part of it ("egg" / "egg white",
 * "kilowatt" / "kilowatt hour"); after a framing word it names what the answer is ("What food do pandas
 * eat?", "Quelle ville est la capitale…?").
 */
function compounds(after: string): boolean {
  return /\p{L}/u.test(after) && !FRAME_WORDS.has(after);
}

/**
 * The same term after the same term on both sides, headed toward it on one side and from it on the other:
 * "Do you ship to Canada?" / "Do you ship from Canada?", "copy a file to the server" / "from the server".
 * "disconnect from my phone" / "end the connection to my phone" head the phone from other words.
 */
function headedApart(a: PromptFacts, b: PromptFacts): boolean {
  const ways = new Set(['toward', 'from']);
  return [...a.headings].some(([term, way]) => {
    const other = b.headings.get(term);
    return ways.has(way) && other !== undefined && ways.has(other) && other !== way;
  });
}

/**
 * A term both sides say whose it is, someone else's on each, and a person acting on one side only: "Can my
 * husband access my bank account?" / "Can I access my husband's bank account?" (the account is mine, then
 * his; I act in the second). "my phone battery" / "my phone's battery" is one battery: no one else acts.
 */
function ownedApart(a: PromptFacts, b: PromptFacts): boolean {
  const acting = (f: PromptFacts) => f.roles.filter((r) => PERSON_NAMES.has(r)).sort();
  if (sameList(acting(a), acting(b))) return false;
  return [...a.owners].some(([term, owner]) => {
    const other = b.owners.get(term);
    return other !== undefined && other !== owner;
  });
}

/**
 * An auxiliary in the past or the future on one side only, both having one: "Is Pluto a planet?" / "Was Pluto a
 * planet?", "Will Bitcoin go up?" / "Did Bitcoin go up?", "Who is the CEO?" / "Who will be the CEO?"; "Will it
 * rain?" / "Is it going to rain?" is one future.
 */
function differentTense(a: PromptFacts, b: PromptFacts): boolean {
  return a.tenses.size > 0 && b.tenses.size > 0 && TENSES_APART.some((t) => a.tenses.has(t) !== b.tenses.has(t));
}
const TENSES_APART = ['past', 'future'];

/**
 * The same words with the roles traded (guard-roles.ts): the question word the subject on one side, the
 * object on the other, an agent after "by" against the active voice, or two content words trading places
 * with every other word kept, unless the prompts compare the two ("milk chocolate vs dark chocolate").
 */
function rolesSwapped(a: PromptFacts, b: PromptFacts): boolean {
  const sameTerms = sameList([...a.terms].sort(), [...b.terms].sort());
  return rolesTraded(a.clause, b.clause, sameTerms) || (!(comparison(a) && comparison(b)) && transposed(a.sequence, b.sequence));
}

function aligned(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
}

/**
 * The same content words with two of them swapped across a third ("does the Moon orbit the
 * Earth"; a reordered modifier such as "a 2 argument constructor" is no swap, nor a phrase moved whole,
 * "In Python, how do I read a file?" / "How do I read a file in Python?") or two names swapped with
 * any word but a determiner between them ("the time in Tokyo when it is 9 am in London"); the same
 * people as subject and object in swapped roles ("do you love me" / "do I love you"), or a person and a
 * party named by a noun ("can my landlord sue me" / "can I sue my landlord"); or words next to
 * a direction marker, present on both sides, in a different order on each ("bytes to a string").
 */
function swapped(a: PromptFacts, b: PromptFacts): boolean {
  // Two things compared are compared in either order: "the difference between X and Y" / "Y vs X".
  const compared = comparison(a) && comparison(b);
  if (compared && modifiersTraded(a.terms, b.terms)) return true;
  if (
    !compared &&
    a.terms.length > 2 &&
    sameList([...a.terms].sort(), [...b.terms].sort()) &&
    !phraseMoved(a.terms, b.terms, a.entities, [phraseOpenings(a), phraseOpenings(b)]) &&
    // A passive's agent comes after its verb: rolesSwapped reads its order in the active voice.
    !a.clause.passive &&
    !b.clause.passive &&
    swappedAcross(a, b)
  ) {
    return true;
  }
  if (swappedPersons(a.persons, b.persons) || swappedRoles(a.roles, b.roles, a.entities)) return true;
  if (namesReordered(a, b)) return true;
  if (compared || !a.anchors.size || !b.anchors.size) return false;
  const anchors = new Set([...a.anchors, ...b.anchors]);
  const shared = (x: string[], y: string[]) => [...new Set(x)].filter((w) => anchors.has(w) && y.includes(w));
  return !sameList(shared(a.terms, b.terms), shared(b.terms, a.terms));
}

/**
 * The same names in another order where a word orders them ("than", "ahead", "behind": ORDERING_WORDS): "How far
 * ahead of the US is Europe?" / "How far ahead of Europe is the US?", which no order of terms reads when a name
 * has an article the other lacks. Two names that trade places, all else kept: a phrase moved whole ("In Europe, is
 * Germany ahead of France…" / "…in Europe?") moves a name past both.
 */
function namesReordered(a: PromptFacts, b: PromptFacts): boolean {
  return ordered(a) && ordered(b) && tradedPlaces(a.entities, b.entities) !== undefined;
}

/**
 * Two terms that trade places across a negation or an exclusion: each side leaves out a term the other side
 * says before its own, and neither leaves out the other's: "customers who bought shoes but not socks" / "…socks
 * but not shoes", "commits in main that are not in develop" / "…in develop that are not in main", "on Wi-Fi but
 * not on mobile data" / "on mobile data but not on Wi-Fi", "Französisch aber nicht Deutsch". Which one is left
 * out is the question, whatever the words around them. A negation moved whole with its term ("Without eggs, how
 * do I bake a cake?") and sentences in another order ("I can't log in. Why is my password not working?") leave
 * out the same terms.
 */
function exclusionsTraded(a: PromptFacts, b: PromptFacts): boolean {
  const leftOut = (f: PromptFacts) => new Set(f.exclusions.map((e) => e.left));
  const [x, y] = [leftOut(a), leftOut(b)];
  return a.exclusions.some(
    (e) => !y.has(e.left) && b.exclusions.some((o) => !x.has(o.left) && o.before.includes(e.left) && e.before.includes(o.left)),
  );
}

const QUOTES = new Set(['"', "'", '‘', '’', '“', '”']);

/** How long the literal a token at `at` in `text` starts is: a number as code writes it (CODE_NUMBER, "0x10", "1e3") or the token. */
function literalLength(text: string, at: number, token: string): number {
  CODE_NUMBER.lastIndex = at;
  return CODE_NUMBER.exec(text)?.[0].length ?? token.length;
}

/**
 * Whether a prompt is about code (CODE_WORDS, a call, an operator, brackets or backticks), where a number quoted
 * whole as code writes it is a string: "Is '0x10' equal to 16 in JavaScript?", "Number('0b11')". In prose the
 * quotes mark the number only ("Windows error '0xc0000005'"), and a quote counts as before, around one token.
 */
function aboutCode(code: CodeFacts, text: string, words: string[]): boolean {
  return (
    code.operations.length > 0 ||
    code.brackets.length > 0 ||
    code.spans.length > 0 ||
    /[\p{L}\p{N}_]\(/u.test(text) ||
    words.some((w) => CODE_WORDS.has(w))
  );
}

/** Whether the token at `at` in `text`, `length` long, has a quote mark right before and right after it. */
function quotedAt(text: string, at: number, length: number): boolean {
  return QUOTES.has(text[at - 1] ?? '') && QUOTES.has(text[at + length] ?? '');
}

/**
 * A value both prompts say, quoted more often on one side: "Is '0' truthy in JavaScript?" / "Is 0 truthy…", a
 * string against a number ("False" / False, "null" / null).
 */
function quotedApart(a: PromptFacts, b: PromptFacts): boolean {
  const times = (list: string[], w: string) => list.filter((x) => x === w).length;
  return [...new Set([...a.quoted, ...b.quoted])].some(
    (w) => times(a.quoted, w) !== times(b.quoted, w) && a.words.has(stem(w)) && b.words.has(stem(w)),
  );
}

/** The same two terms side by side on both sides, related otherwise: "aspirin with warfarin" / "…instead of warfarin". */
function relatedApart(a: PromptFacts, b: PromptFacts): boolean {
  return [...a.relations].some(([pair, relation]) => b.relations.has(pair) && b.relations.get(pair) !== relation);
}

const RELATION_KINDS = [...new Set(RELATIONS.values())];
/** The connectives that are terms to the other checks, by term: "instead", "rather" ("tea rather than coffee"), "while". */
const CONNECTIVE_TERMS = new Map([...RELATIONS].filter(([word]) => !FRAME_WORDS.has(word)).map(([word, kind]) => [termOf(word), kind]));

/**
 * How each two terms with nothing but framing words and connectives between them are related (RELATIONS), by
 * the pair in either order: "aspirin warfarin" → instead in "aspirin instead of warfarin".
 */
function relationsOf(f: PromptFacts): Map<string, string> {
  const relations = new Map<string, string>();
  let between: string[] = [];
  let last = -1;
  for (const [i, term] of f.terms.entries()) {
    const kinds = f.gaps[i].map((w) => RELATIONS.get(w)).filter((k) => k !== undefined);
    const connective = CONNECTIVE_TERMS.get(term);
    between.push(...kinds, ...(connective ? [connective] : []));
    if (connective) continue;
    const relation = last < 0 || !between.length ? undefined : strongest(between);
    if (relation) relations.set([f.terms[last], term].sort().join(' '), relation);
    [between, last] = [[], i];
  }
  return relations;
}

/** The strongest of the kinds of relation between two terms: "and instead of" puts one in place of the other. */
function strongest(kinds: string[]): string {
  return RELATION_KINDS[Math.max(...kinds.map((k) => RELATION_KINDS.indexOf(k)))];
}

/** SYMMETRIC_WORDS by stem, as prompt words are compared. */
const SYMMETRIC_STEMS = [...new Set([...SYMMETRIC_WORDS].map(stem))];

/**
 * A prompt that asks how two things relate in a way that holds both ways (SYMMETRIC_WORDS: how they compare, how
 * far apart they are, whether they are compatible), which it may name in either order, unless a word orders them
 * ("is Python faster than Java", "how far ahead of London is Tokyo"; "differ from", "compared to", "far from" do
 * not), one is compatible with the other (DIRECTED_WITH), or the prompt goes from one place to another: its
 * symmetric word need not be about the route ("similar: should I switch from Prozac to Zoloft?").
 */
function comparison(f: PromptFacts): boolean {
  const symmetric = f.sequence.some((w, i) => {
    const next = f.sequence[i + 1];
    if (SYMMETRIC_PHRASES.includes(`${w} ${next}`)) return true;
    return SYMMETRIC_STEMS.includes(stem(w)) && !(DIRECTED_WITH.words.has(w) && DIRECTED_WITH.with.has(next));
  });
  const route = f.sequence.some((w) => ROUTE_ENDS.from.has(w)) && f.sequence.some((w) => ROUTE_ENDS.to.has(w));
  return symmetric && !route && !ordered(f);
}

/** Whether a word orders two things (ORDERING_WORDS: "than", "ahead", "behind"). */
function ordered(f: PromptFacts): boolean {
  return [...ORDERING_WORDS].some((w) => f.words.has(w));
}

/**
 * Two terms that trade places with every other term kept and a term between them other than a symmetric word, neither
 * of them one ("What is the difference between weather and climate?" / "climate vs weather difference"): in
 * a symmetric relation, the modifiers of its terms traded, not the terms ("Are a Sony lens and a Canon camera
 * compatible?" / "Are a Canon lens and a Sony camera compatible?"), where "Are PostgreSQL and MySQL compatible?" /
 * "Are MySQL and PostgreSQL compatible?" trades the terms.
 */
function modifiersTraded(a: string[], b: string[]): boolean {
  const traded = tradedPlaces(a, b);
  if (!traded) return false;
  const [i, j] = traded;
  const symmetric = (t: string) => SYMMETRIC_STEMS.includes(t);
  return ![a[i], a[j]].some(symmetric) && a.slice(i + 1, j).some((t) => !symmetric(t));
}

/**
 * Both ask a specific kind of question and the kinds differ ("when" vs "why"), or one asks for a
 * quantity the other does not ask for in any way ("what are Newton's laws" vs "how many are there").
 */
function differentQuestion(a: PromptFacts, b: PromptFacts): boolean {
  const only = (x: PromptFacts, y: PromptFacts) => [...x.questions].filter((q) => !y.questions.has(q) && !y.askedNouns.has(q));
  const onlyA = only(a, b);
  const onlyB = only(b, a);
  if (onlyA.length && onlyB.length) return true;
  return [...onlyA, ...onlyB].includes('quantity');
}

/**
 * The same terms and people, a person on the other side of a term from another term on each ("my landlord
 * sue me" / "I sue my landlord": "I" before "sue" and "landlord" after it), no phrase moved whole.
 */
function swappedRoles(a: string[], b: string[], names: string[]): boolean {
  if (!a.some((r) => PERSON_NAMES.has(r)) || !sameList([...a].sort(), [...b].sort()) || phraseMoved(a, b, names)) return false;
  const places = new Map(occurrences(b).map((key, k) => [key, k]));
  const keys = occurrences(a);
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 2; j < a.length; j++) {
      if (!PERSON_NAMES.has(a[i]) && !PERSON_NAMES.has(a[j])) continue;
      const [x, y] = [places.get(keys[i])!, places.get(keys[j])!];
      if (x - y >= 2) return true;
    }
  }
  return false;
}

/** Whom the pronouns name, as PromptFacts.roles lists them. */
const PERSON_NAMES = new Set(PERSONS.values());

/**
 * The same list with one run of two or more in another place, as a paraphrase moves a phrase to the
 * front or the end: "python, read, file" / "read, file, python". Two single words swapped are no moved
 * phrase, nor two names ("new york, london" / "london, new york").
 */
function phraseMoved(a: string[], b: string[], names: string[], openings?: [boolean[], boolean[]]): boolean {
  let start = 0;
  while (start < a.length && a[start] === b[start]) start++;
  let end = a.length;
  while (end > start && a[end - 1] === b[end - 1]) end--;
  const [x, y] = [a.slice(start, end), b.slice(start, end)];
  for (let k = 1; k < x.length; k++) {
    const [front, back] = [x.slice(0, k), x.slice(k)];
    const named = [front, back].every((run) => run.every((t) => names.includes(t)));
    // Where the terms' openings are known, a phrase starts after a framing word on one side at least: "…a
    // string in Rust" / "In Rust, how do I…"; "deleting my account cancel my subscription" / "cancelling my
    // subscription delete my account" swaps two parts of one clause.
    const opens = !openings || openings[0][start + k] || openings[1][start + x.length - k];
    if (Math.max(k, x.length - k) >= 2 && !named && opens && sameList([...back, ...front], y)) return true;
  }
  return false;
}

/** For each term, whether it can open a phrase: first, or after a framing word ("in" in "in Rust"). */
function phraseOpenings(f: PromptFacts): boolean[] {
  return f.preceding.map((word) => word === '' || FRAME_WORDS.has(word));
}

/** The same people, two or more, named in another order: roles swapped. */
function swappedPersons(a: string[], b: string[]): boolean {
  return new Set(a).size > 1 && sameList([...a].sort(), [...b].sort()) && !sameList(a, b);
}

/**
 * Two terms in opposite orders, apart on both sides: another term between them ("a 2 argument
 * constructor" is one phrase), or, for two names in the same role, other words ("in Tokyo when it is 9 am
 * in London"; "the virtual DOM in React" / "React's virtual DOM" is no swap).
 */
function swappedAcross(a: PromptFacts, b: PromptFacts): boolean {
  const apart = (f: PromptFacts, i: number, j: number, names: boolean) =>
    j - i >= 2 || (names && !f.attached[j] && f.preceding[i] === f.preceding[j]);
  // A term's second occurrence is compared with the other side's second: "f(x) { g(); }" is no swap of "(" and ")".
  const places = new Map(occurrences(b.terms).map((key, k) => [key, k]));
  const keys = occurrences(a.terms);
  for (let i = 0; i < a.terms.length; i++) {
    for (let j = i + 1; j < a.terms.length; j++) {
      const [x, y] = [places.get(keys[i]) ?? -1, places.get(keys[j]) ?? -1];
      const names = a.entities.includes(a.terms[i]) && a.entities.includes(a.terms[j]);
      if (y < 0 || x <= y) continue;
      if ((apart(a, i, j, names) && apart(b, y, x, names)) || phraseAndWordSwapped(a, b, i, j, y, x) || slotsTraded(a, b, i, j, y, x))
        return true;
    }
  }
  return false;
}

/**
 * Two terms side by side in opposite orders, one behind the same preposition on both sides, the other not:
 * a prepositional phrase and a word traded places ("bought in store online" / "bought online in store"),
 * but for a possessive ("the plot of Hamlet" / "Hamlet's plot").
 */
function phraseAndWordSwapped(a: PromptFacts, b: PromptFacts, i: number, j: number, y: number, x: number): boolean {
  if (j !== i + 1 || x !== y + 1) return false;
  // "the plot of Hamlet" / "Hamlet's plot" is the same plot.
  const owner = (f: PromptFacts, term: string) => [...f.owners.values()].includes(term);
  if ([a.terms[i], a.terms[j]].some((t) => owner(a, t) || owner(b, t))) return false;
  const kept = (k: number, l: number) => a.preceding[k] === b.preceding[l] && isPreposition(a.preceding[k]);
  return kept(i, x) !== kept(j, y);
}

/**
 * Two terms side by side in opposite orders, each behind the same preposition on both sides: the terms trade
 * places between prepositions that stay ("for arm64 on an amd64 machine" / "for amd64 on an arm64 machine",
 * "in main but not in develop" / "in develop but not in main"). Behind one and the same preposition with
 * nothing but a conjunction between, they are a list, in either order: "in France and in Spain".
 */
function slotsTraded(a: PromptFacts, b: PromptFacts, i: number, j: number, y: number, x: number): boolean {
  if (j !== i + 1 || x !== y + 1) return false;
  const [first, second] = [governing(a.gaps[i]), governing(a.gaps[j])];
  if (!first || !second || first !== governing(b.gaps[y]) || second !== governing(b.gaps[x])) return false;
  return first !== second || !a.gaps[j].every((w) => w === first || CONJUNCTIONS.has(w) || DETERMINERS.has(w) || ARTICLES.has(w));
}

/** "and" and "or" in the languages NEGATIONS reads. */
const CONJUNCTIONS = new Set(['and', 'or', 'und', 'oder', 'et', 'ou', 'y', 'o', 'e', 'ed', 'od']);

/** The preposition a term stands behind: the last of the words before it, but for articles and determiners. */
function governing(gap: string[]): string | undefined {
  const word = [...gap].reverse().find((w) => !DETERMINERS.has(w) && !ARTICLES.has(w));
  return word !== undefined && PREPOSITIONS.has(word) ? word : undefined;
}

/** A framing word that is no article, pronoun or auxiliary ("el cielo es azul" / "es azul el cielo" is one question). */
function isPreposition(word: string): boolean {
  return FRAME_WORDS.has(word) && !DETERMINERS.has(word) && !ARTICLES.has(word) && !CLAUSE_WORDS.has(word) && !PERSONS.has(word);
}

/** Each term with how many times it occurred before: "(", "x", ")", "(" → "(#0", "x#0", ")#0", "(#1". */
function occurrences(terms: string[]): string[] {
  const seen = new Map<string, number>();
  return terms.map((t) => {
    const n = seen.get(t) ?? 0;
    seen.set(t, n + 1);
    return `${t}#${n}`;
  });
}

/**
 * A number as the digits written, never through Number(): "3.10" is not "3.1" (versions), "00123" not
 * "123" (account numbers), and 22-digit tracking numbers do not round to one float. Only a thousands
 * separator is dropped ("1,000" = "1000"). Any other comma stays: "12,18" may be two numbers (the GCD of
 * 12,18) or a decimal comma, and "12.18" is neither for sure.
 */
function normaliseNumber(raw: string): string {
  return /^\d{1,3}(,\d{3})+(\.\d+)?$/.test(raw) ? raw.replace(/,/g, '') : raw;
}

/**
 * Other brackets or braces ("[] + []" / "[] + {}"), or other code where both prompts have some: code is
 * exact, so the operators with their operands, the backtick spans and the fenced blocks are compared as
 * written but for whitespace ("a < b" / "b < a", "\d" / "\D", `$#` / `$?`, `COUNT(email)` / `COUNT(*)`,
 * `Foo` / `foo`). The same code in reworded prose passes; so does code on one side only ("2+2" / "two plus two").
 */
function differentCode(a: CodeFacts, b: CodeFacts): boolean {
  if (!sameList(a.brackets, b.brackets) || punctuatedApart(a, b)) return true;
  const code = (c: CodeFacts) => [...c.operations, ...c.spans].sort();
  const [x, y] = [code(a), code(b)];
  return x.length > 0 && y.length > 0 && !sameList(x, y);
}

/**
 * The same letters punctuated otherwise on each side, as code: "list[1:]" / "list[:1]", "s[::2]" / "s[2::]",
 * "a?.b" / "a.b". Letters punctuated on one side only ("e.g." in a paraphrase) are wording.
 */
function punctuatedApart(a: CodeFacts, b: CodeFacts): boolean {
  return [...a.punctuated].some(([letters, words]) => {
    const other = b.punctuated.get(letters);
    return other !== undefined && !sameList(words, other);
  });
}

/** Lists read only where a prompt has something to read ("in 10 days", "all"): they differ when both have one. */
function differWhereBoth(a: readonly string[], b: readonly string[]): boolean {
  return a.length > 0 && b.length > 0 && !sameList(a, b);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
