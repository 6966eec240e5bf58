import { AUXILIARY_TENSES, DETERMINERS, FRAME_WORDS } from './guard-tables';
import { termOf } from './guard-lexicon';
import { plural } from './guard-words';

/** Who acts on whom in a prompt, and the tense of a verb with no auxiliary, read from its words in order. */
export interface ClauseFacts {
  /**
   * Whether the question word asks for the one acting ("What eats a snake?", "Which animals hunt wolves?":
   * subject) or the one acted on ("What does a snake eat?", "Which animals do wolves hunt?": object).
   */
  asks?: 'subject' | 'object';
  /** The tense of the verb the question word is the subject of, by its ending: "Who coached" past, "Who coaches" present. */
  verbTense?: string;
  /** "will", "shall" or "going to" before a verb. */
  future: boolean;
  /** The preposition a question ends with, whose object the question word is ("What is glass made of?": of). */
  stranded?: string;
  /** The prepositions followed by a content word ("What is made of glass?": of). */
  governed: Set<string>;
  /** Whether an agent follows "by" after a participle ("Was Caesar killed by Brutus?"). */
  passive: boolean;
  /** The terms in the order of the active voice: the agent before the verb, the one acted on after it ("brutus kill caesar"). */
  active: string[];
}

const QUESTION_WORDS = new Set(['who', 'what', 'which']);
/** Prepositions a question may end with, the question word their object; not "by": "Who was Caesar killed by?" asks for the agent. */
const STRANDED = new Set('of in on at for from with to about into'.split(' '));
const DO = new Set(['do', 'does', 'did']);
const MODALS = new Set('will would shall should can could may might must'.split(' '));
const BE = new Set('is are am was were be been being'.split(' '));
/** Participles that end in neither -ed nor -en: "made by", "built by". */
const IRREGULAR_PARTICIPLES = new Set('made built bought caught sold taught found held led paid told won hit run'.split(' '));

function content(word: string | undefined): boolean {
  return word !== undefined && /\p{L}/u.test(word) && !FRAME_WORDS.has(word) && !FRAME_WORDS.has(plural(word));
}

/** The clause facts of a prompt's lower-cased tokens, whose content words are `terms` (PromptFacts.terms). */
export function readClause(lowered: string[], terms: string[]): ClauseFacts {
  const q = lowered.findIndex((w) => QUESTION_WORDS.has(w));
  const last = lowered.at(-1);
  const clause: ClauseFacts = {
    ...subjectOrObject(lowered, q),
    future: lowered.some(future),
    stranded: q >= 0 && last !== undefined && STRANDED.has(last) ? last : undefined,
    governed: new Set(lowered.flatMap((w, i) => (STRANDED.has(w) && content(lowered[i + 1]) ? [w] : []))),
    passive: false,
    active: terms,
  };
  const by = lowered.findIndex(
    (w, i) => w === 'by' && i > 0 && participle(lowered[i - 1]) && lowered.slice(0, i - 1).some((b) => BE.has(b)),
  );
  if (by < 0) return clause;
  // The one acted on is the content word before the participle; the agent the first after "by".
  const patient = lowered.slice(0, by - 1).findLast(content);
  const agent = lowered.slice(by + 1).find(content);
  if (!patient || !agent) return clause;
  const [p, a] = [terms.indexOf(termOf(patient)), terms.indexOf(termOf(agent))];
  if (p < 0 || a < 0) return clause;
  const active = [...terms];
  [active[p], active[a]] = [active[a], active[p]];
  return { ...clause, passive: true, active };
}

/**
 * "will" or "shall" before a word, or "going to" before a verb. Not "Will you…?", a request, nor "won't", a
 * refusal ("My laptop won't turn on"), nor the noun ("What is a will?").
 */
function future(word: string, i: number, lowered: string[]): boolean {
  if (word === 'going') return lowered[i + 1] === 'to' && content(lowered[i + 2]);
  const [before, after] = [lowered[i - 1] ?? '', lowered[i + 1]];
  return (word === 'will' || word === 'shall') && after !== undefined && after !== 'you' && after !== 'not' && !DETERMINERS.has(before);
}

function participle(word: string): boolean {
  return content(word) && (/(ed|en)$/.test(word) || IRREGULAR_PARTICIPLES.has(word));
}

/**
 * After "who", "what" or "which" (and the noun of "which animals"), "do" asks for the object; a verb right
 * after asks for the subject, its ending telling its tense. An auxiliary or a modal there ("What company
 * will…", "Who is…") says neither: the auxiliaries' tense is compared on its own.
 */
function subjectOrObject(lowered: string[], q: number): Pick<ClauseFacts, 'asks' | 'verbTense'> {
  if (q < 0) return {};
  let k = q + 1;
  if (lowered[q] !== 'who' && content(lowered[k]) && (DO.has(lowered[k + 1]) || content(lowered[k + 1]) || isAuxiliary(lowered[k + 1])))
    k++;
  if (DO.has(lowered[k])) return { asks: 'object' };
  if (!content(lowered[k])) return {};
  const verb = lowered[k];
  const verbTense = /ed$/.test(verb) ? 'past' : /[^su]s$/.test(verb) ? 'present' : undefined;
  // A bare word right after the question word and before no other may be its noun: "what name you have".
  if (k === q + 1 && !verbTense) return {};
  return { asks: 'subject', verbTense };
}

function isAuxiliary(word: string | undefined): boolean {
  return word !== undefined && (AUXILIARY_TENSES.has(word) || MODALS.has(word));
}

/**
 * The verb the question word is the subject of in the past on one side and the present on the other ("Who
 * coached the Lakers?" / "Who coaches…"), or in the past against the future ("What company acquired GitHub?" /
 * "What company will acquire…"). A present against the future is not compared: the present says what happens
 * as a rule, "What happens if I skip breakfast?" / "What will happen if…" ask the same. Auxiliaries' tenses are
 * compared apart (guard.ts differentTense); a verb's ending against a present or past auxiliary is not compared:
 * "Who created Python?" / "Who is the creator of Python?" ask the same.
 */
export function endingsApart(a: ClauseFacts, b: ClauseFacts): boolean {
  if (a.verbTense && b.verbTense && a.verbTense !== b.verbTense) return true;
  return (a.verbTense === 'past' && !a.future && b.future) || (b.verbTense === 'past' && !b.future && a.future);
}

/**
 * The same terms with the roles traded: the question word the subject on one side and the object on the
 * other ("What eats a snake?" / "What does a snake eat?", "Who killed Caesar?" / "Who did Caesar kill?"),
 * a preposition's object the question word on one side, a term on the other ("What is glass made of?" /
 * "What is made of glass?"), or, a passive on a side, the agent and the one acted on in the other order once both read in the active
 * voice ("Did Brutus kill Caesar?" / "Was Brutus killed by Caesar?"; "…/ Was Caesar killed by Brutus?" is the
 * same question).
 */
export function rolesTraded(a: ClauseFacts, b: ClauseFacts, sameTerms: boolean): boolean {
  if (!sameTerms) return false;
  if (a.asks && b.asks && a.asks !== b.asks) return true;
  // "What is glass made of?" / "What is made of glass?": the question word the preposition's object on one side only.
  if (a.stranded !== b.stranded && (b.governed.has(a.stranded ?? '') || a.governed.has(b.stranded ?? ''))) return true;
  return (a.passive || b.passive) && a.active.some((t, i) => t !== b.active[i]);
}

/** Words between two terms that make them a list or a comparison, in either order: "tabs or spaces". */
const LISTING = new Set(['and', 'or', 'nor', 'vs', 'versus', 'between', 'und', 'oder', 'et', 'ou', 'y', 'o']);

/**
 * Adjectives as the guard knows them without a tagger: common ones, and words with an adjective's ending. Two
 * modifiers side by side, one of them such, describe the same thing in either order ("fresh organic vegetables" /
 * "organic fresh vegetables", "a good light summer dessert" / "…summer light…": recheck33c D1, six of six such
 * paraphrases refused), where two nouns make another thing ("chocolate milk" / "milk chocolate").
 */
const ADJECTIVES = new Set(
  (
    'big small large little long short tall high low fast slow quick cheap expensive fresh old new young good bad best ' +
    'worst better simple easy hard healthy quiet loud light dark black white red blue green yellow brown grey gray hot ' +
    'cold warm cool soft strong weak rich poor clean safe free full empty heavy thin thick wide narrow deep sweet sour ' +
    'spicy raw organic natural local modern classic busy happy friendly tiny huge great nice pretty beautiful cute ' +
    'smart lazy dry wet main top'
  ).split(' '),
);
const ADJECTIVE_ENDING = /..(ous|ful|ive|ic|able|ible|less|ish)$/;
const adjective = (word: string) => ADJECTIVES.has(word) || ADJECTIVE_ENDING.test(word);

/**
 * Two content words that trade places with every other word kept: "chocolate milk" / "milk chocolate", "a
 * nurse shark" / "a shark nurse", "Is every square a rectangle?" / "Is every rectangle a square?", "Is a whale
 * a fish?" / "Is a fish a whale?". The first noun of a compound is its modifier, the subject of "is" the thing
 * asked about. Two words of a list or a comparison ("tabs or spaces", "X vs Y") are in either order, and so
 * are two modifiers side by side, one an adjective ("big black dog" / "black big dog").
 */
export function transposed(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const differ = a.flatMap((w, i) => (w === b[i] ? [] : [i]));
  if (differ.length !== 2) return false;
  const [i, j] = differ;
  if (a[i] !== b[j] || a[j] !== b[i] || !content(a[i]) || !content(a[j])) return false;
  if (j === i + 1 && content(a[j + 1]) && (adjective(a[i]) || adjective(a[j]))) return false;
  return !a.some((w) => LISTING.has(w));
}
