import {
  ADJECTIVE_ENDING,
  ADJECTIVES,
  ARTICLES,
  AUXILIARY_TENSES,
  DETERMINERS,
  FRAME_WORDS,
  MODALS,
  OPEN_QUESTION_WORDS,
  PREPOSITIONS,
  SECOND_PERSON,
} from './guard-tables';
import { termOf } from './guard-lexicon';
import { plural, stem } from './guard-words';

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
  /** The stems of the words after the future's "will", "shall" or "going to" but for -ed forms: "How many people will attend": people, attend. */
  futureStems: Set<string>;
  /** The stems of the content words in -ed, a verb's past or its participle: "How many people attended": attend. */
  pastStems: Set<string>;
  /** What the modal verbs ask of the act, once each, sorted (MODALS): possible, advised, required. */
  modals: string[];
  /** The preposition a question ends with, whose object the question word is ("What is glass made of?": of). */
  stranded?: string;
  /** The prepositions followed by a content word ("What is made of glass?": of). */
  governed: Set<string>;
  /** Whether an agent follows "by" after a participle ("Was Caesar killed by Brutus?"). */
  passive: boolean;
  /** In the passive, the term that acts, the first after "by", and the one acted on, the last before the participle. */
  agent?: string;
  patient?: string;
  /** The prompt's terms in order (PromptFacts.terms). */
  terms: string[];
}

const QUESTION_WORDS = new Set(['who', 'what', 'which']);
/** Prepositions a question may end with, the question word their object; not "by": "Who was Caesar killed by?" asks for the agent. */
const STRANDED = new Set('of in on at for from with to about into'.split(' '));
const DO = new Set(['do', 'does', 'did']);
const MODAL_AUXILIARIES = new Set('will would shall should can could may might must'.split(' '));
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
  const firstFuture = lowered.findIndex(future);
  const clause: ClauseFacts = {
    ...subjectOrObject(lowered, q),
    future: firstFuture >= 0,
    futureStems: new Set((firstFuture < 0 ? [] : lowered.slice(firstFuture + 1)).filter((w) => content(w) && !/ed$/.test(w)).map(stem)),
    // An ending the stem drops: "speed", "hundred" are no past.
    pastStems: new Set(lowered.filter((w) => content(w) && /ed$/.test(w) && stem(w).length <= w.length - 2).map(stem)),
    modals: modalsOf(lowered),
    stranded: q >= 0 && last !== undefined && STRANDED.has(last) ? last : undefined,
    governed: new Set(lowered.flatMap((w, i) => (STRANDED.has(w) && content(lowered[i + 1]) ? [w] : []))),
    passive: false,
    terms,
  };
  const by = lowered.findIndex(
    (w, i) => w === 'by' && i > 0 && participle(lowered[i - 1]) && lowered.slice(0, i - 1).some((b) => BE.has(b)),
  );
  if (by < 0) return clause;
  // The one acted on is the content word before the participle; the agent the first after "by".
  const patient = lowered.slice(0, by - 1).findLast(content);
  const agent = lowered.slice(by + 1).find(content);
  if (!patient || !agent) return clause;
  if (!terms.includes(termOf(patient)) || !terms.includes(termOf(agent))) return clause;
  return { ...clause, passive: true, agent: termOf(agent), patient: termOf(patient) };
}

/**
 * What the modal verbs ask of the act (MODALS), once each, sorted. A modal after an article, a determiner or a
 * preposition is a noun ("a can of paint", "in May"). A request asks none ("Can you give me a structure?" / "What
 * structure should I follow?", "Would you explain X" / "Can you explain X"), and neither does a modal after a word
 * that asks what, when or how: the question is that ("When should I have my tires changed?" / "When must I…").
 */
function modalsOf(lowered: string[]): string[] {
  const open = lowered.findIndex((w) => OPEN_QUESTION_WORDS.has(w));
  const kinds = lowered.flatMap((w, i) => {
    const before = lowered[i - 1] ?? '';
    if (DETERMINERS.has(before) || ARTICLES.has(before) || PREPOSITIONS.has(before) || (open >= 0 && open < i)) return [];
    const kind = MODALS.get(`${w} ${lowered[i + 1]}`) ?? MODALS.get(w);
    const request = (kind === 'possible' || w === 'would' || w === 'will') && SECOND_PERSON.has(lowered[i + 1]);
    return kind && !request ? [kind] : [];
  });
  return [...new Set(kinds)].sort();
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
  return word !== undefined && (AUXILIARY_TENSES.has(word) || MODAL_AUXILIARIES.has(word));
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
  return pastAgainstFuture(a, b) || pastAgainstFuture(b, a);
}

/**
 * A verb in the past on one side, with no future there, and after the future's "will" on the other, wherever the
 * question word is: "What company acquired GitHub?" / "…will acquire…", "How many people attended the 2024
 * Olympics?" / "How many people will attend…", "Explain how the merger affected shareholders." / "…will affect…".
 */
function pastAgainstFuture(past: ClauseFacts, later: ClauseFacts): boolean {
  if (past.future || !later.future) return false;
  return past.verbTense === 'past' || [...past.pastStems].some((s) => later.futureStems.has(s));
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
  return reversed(a, b) || reversed(b, a);
}

/**
 * A passive whose agent and the one acted on stand in the other order on the other side: the agent first in the
 * active voice, the one acted on first in the passive ("Did Brutus kill Caesar?" / "Was Brutus killed by Caesar?",
 * "Was Caesar killed by Brutus?" / "Was Brutus killed by Caesar?"). Each is one term of its phrase, found wherever
 * the phrase stands: "Did Edison invent the light bulb?" / "Was the light bulb invented by Edison?" keeps them.
 */
function reversed(passive: ClauseFacts, other: ClauseFacts): boolean {
  if (!passive.agent || !passive.patient) return false;
  const [agent, patient] = [other.terms.indexOf(passive.agent), other.terms.indexOf(passive.patient)];
  if (agent < 0 || patient < 0) return false;
  return other.passive ? agent < patient : patient < agent;
}

/** Words between two terms that make them a list or a comparison, in either order: "tabs or spaces". */
const LISTING = new Set(['and', 'or', 'nor', 'vs', 'versus', 'between', 'und', 'oder', 'et', 'ou', 'y', 'o']);

const adjective = (word: string) => ADJECTIVES.has(word) || ADJECTIVE_ENDING.test(word);

/**
 * Two content words that trade places with every other word kept: "chocolate milk" / "milk chocolate", "a
 * nurse shark" / "a shark nurse", "Is every square a rectangle?" / "Is every rectangle a square?", "Is a whale
 * a fish?" / "Is a fish a whale?". The first noun of a compound is its modifier, the subject of "is" the thing
 * asked about. Two words of a list or a comparison ("tabs or spaces", "X vs Y") are in either order, and so
 * are two modifiers side by side, one an adjective ("big black dog" / "black big dog").
 */
export function transposed(a: string[], b: string[]): boolean {
  const traded = tradedPlaces(a, b);
  if (!traded) return false;
  const [i, j] = traded;
  if (!content(a[i]) || !content(a[j])) return false;
  if (j === i + 1 && content(a[j + 1]) && (adjective(a[i]) || adjective(a[j]))) return false;
  return !a.some((w) => LISTING.has(w));
}

/** Where two lists differ by two items that trade places, all else the same: "milk chocolate" / "chocolate milk" → 0, 1. */
export function tradedPlaces(a: string[], b: string[]): [number, number] | undefined {
  if (a.length !== b.length) return undefined;
  const differ = a.flatMap((w, i) => (w === b[i] ? [] : [i]));
  if (differ.length !== 2) return undefined;
  const [i, j] = differ;
  return a[i] === b[j] && a[j] === b[i] ? [i, j] : undefined;
}
