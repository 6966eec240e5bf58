/**
 * Word tables of the semantic guard (guard.ts). They are generic English, written
 * before the labelled pairs in test/data/ were, and not tuned on them.
 */

/** Words that carry a prompt's framing, not its subject: a paraphrase may add, drop or swap them. */
export const FRAME_WORDS = new Set(
  `a an the and or but so if then than as at by for from in into of on onto to with within upon via
  i me my mine myself we us our you your yours it its this that these those there here he she they them his her their
  is am are was were be been being do does did done doing have has had having will would shall should can could may might must
  what whats which who whom whose when where why how
  please kindly tell say show give let help explain describe define definition meaning mean means
  know find want need like get got make way ways thing things something anything someone anyone
  some any all each every much many very really actually just simply simple exactly basically quick quickly briefly short
  about regarding concerning around also too again still even only
  hi hello hey thanks thank ok okay yes`.split(/\s+/),
);

/**
 * Words that open a condition or qualifier: the content word after one, added on one side only,
 * changes the answer ("Can I take ibuprofen while pregnant?", "…with metformin", "…for the sale of land").
 */
export const QUALIFIERS = new Set(['while', 'during', 'with', 'without', 'for', 'of', 'unless', 'since', 'after', 'before']);
/** Words between a qualifier and its noun: "for the sale of land", "with my metformin". */
export const DETERMINERS = new Set('a an the my your our their his her its this that these those some any'.split(' '));

/**
 * Negation markers (after contractions are expanded: can't → can not), by language. French counts
 * the second part only ("pas", "jamais"): "ne" / "n'" comes with it, and spoken French drops it.
 */
const NEGATIONS_BY_LANGUAGE: Record<string, string> = {
  en: 'not no never none nothing nobody nowhere neither nor without cannot',
  de: 'nicht kein keine keinen keinem keiner keines nie niemals nichts niemand ohne',
  fr: 'pas jamais aucun aucune rien sans',
  es: 'no nunca ningún ninguno ninguna nada nadie jamás tampoco',
  pt: 'não nunca nenhum nenhuma nada ninguém jamais',
  it: 'non mai nessun nessuno nessuna niente senza',
  nl: 'niet geen nooit niets',
};
export const NEGATIONS = new Set(Object.values(NEGATIONS_BY_LANGUAGE).flatMap((words) => words.split(' ')));

/**
 * Number words, as the digits they stand for. Maps, not object literals: a lookup of
 * "constructor" must not find Object.prototype's.
 */
export const NUMBER_WORDS = new Map<string, string>([
  ['zero', '0'],
  ['one', '1'],
  ['two', '2'],
  ['three', '3'],
  ['four', '4'],
  ['five', '5'],
  ['six', '6'],
  ['seven', '7'],
  ['eight', '8'],
  ['nine', '9'],
  ['ten', '10'],
  ['eleven', '11'],
  ['twelve', '12'],
  ['thirteen', '13'],
  ['fourteen', '14'],
  ['fifteen', '15'],
  ['sixteen', '16'],
  ['seventeen', '17'],
  ['eighteen', '18'],
  ['nineteen', '19'],
  ['twenty', '20'],
  ['thirty', '30'],
  ['forty', '40'],
  ['fifty', '50'],
  ['sixty', '60'],
  ['seventy', '70'],
  ['eighty', '80'],
  ['ninety', '90'],
  ['hundred', '100'],
  ['thousand', '1000'],
  ['million', '1000000'],
  ['billion', '1000000000'],
  ['half', '0.5'],
  ['dozen', '12'],
]);

/** Ordinal words: compared only when both prompts have one ("the last commit" may be "the most recent commit"). */
export const ORDINAL_WORDS = new Set(['first', 'second', 'third', 'fourth', 'fifth', 'last']);

/** Arithmetic and comparison, in words or symbols, as one symbol each (counted only in a prompt with numbers). */
export const OPERATORS = new Map<string, string>([
  ['+', '+'],
  ['plus', '+'],
  ['add', '+'],
  ['sum', '+'],
  ['-', '-'],
  ['minus', '-'],
  ['subtract', '-'],
  ['*', '*'],
  ['×', '*'],
  ['times', '*'],
  ['multiplied', '*'],
  ['multiply', '*'],
  ['/', '/'],
  ['÷', '/'],
  ['divided', '/'],
  ['divide', '/'],
  ['^', '^'],
  ['power', '^'],
  ['%', '%'],
  ['(', '('],
  [')', ')'],
  ['percent', '%'],
  ['=', '='],
  ['equals', '='],
  ['<', '<'],
  ['less', '<'],
  ['fewer', '<'],
  ['>', '>'],
  ['greater', '>'],
  ['more', '>'],
]);

/**
 * What kind of answer a question word asks for. A quantity asked on one side only is a refusal;
 * person/time/place/reason only when both sides ask for different ones. Plain what, which and how
 * frame any question.
 */
export const QUESTION_PHRASES = new Map<string, string>([
  ['how many', 'quantity'],
  ['how much', 'quantity'],
  ['how long', 'quantity'],
  ['how old', 'quantity'],
  ['how tall', 'quantity'],
  ['how high', 'quantity'],
  ['how big', 'quantity'],
  ['how large', 'quantity'],
  ['how far', 'quantity'],
  ['how deep', 'quantity'],
  ['how fast', 'quantity'],
  ['how often', 'quantity'],
  ['who', 'person'],
  ['whom', 'person'],
  ['whose', 'person'],
  ['when', 'time'],
  ['where', 'place'],
  ['why', 'reason'],
]);
/** Nouns that ask what a question word asks: "the number of" asks "how many". */
export const QUESTION_NOUNS = new Map<string, string>([
  ['number', 'quantity'],
  ['count', 'quantity'],
  ['population', 'quantity'],
  ['amount', 'quantity'],
  ['cost', 'quantity'],
  ['price', 'quantity'],
  ['age', 'quantity'],
  ['height', 'quantity'],
  ['length', 'quantity'],
  ['duration', 'quantity'],
  ['size', 'quantity'],
  ['distance', 'quantity'],
  ['depth', 'quantity'],
  ['speed', 'quantity'],
  ['frequency', 'quantity'],
  ['year', 'time'],
  ['date', 'time'],
  ['reason', 'reason'],
  ['cause', 'reason'],
  ['author', 'person'],
  ['inventor', 'person'],
  ['founder', 'person'],
  ['creator', 'person'],
  ['location', 'place'],
]);

/** Words that make word order matter: "string to int" ≠ "int to string", "A bigger than B" ≠ "B bigger than A". */
export const DIRECTION_MARKERS = new Set(['to', 'into', 'onto', 'from', 'than', 'versus', 'vs']);

/**
 * Words that make word order matter between two names or units only: "9 am PST in EST" ≠ "EST in PST",
 * "React in Next.js" ≠ "Next.js in React"; "a list in Python" is no direction.
 */
export const DIRECTION_MARKERS_BETWEEN_NAMES = new Set(['in']);

/**
 * Which way from now a relative time points, and on which side of its amount of time the word stands:
 * "in 10 days" / "10 days ago". Compared only when both prompts have one.
 */
export const TIME_DIRECTIONS = new Map<string, { points: 'past' | 'future'; amount: 'after' | 'before' }>([
  ['in', { points: 'future', amount: 'after' }],
  ['within', { points: 'future', amount: 'after' }],
  ['ago', { points: 'past', amount: 'before' }],
  ['earlier', { points: 'past', amount: 'before' }],
  ['later', { points: 'future', amount: 'before' }],
]);
/** Units of time (UNITS' names) and the words that stand for an amount without a number ("in a week", "in a few days"). */
export const TIME_UNITS = new Set(['s', 'min', 'h', 'day', 'week', 'month', 'year']);
export const VAGUE_AMOUNTS = new Set(['a', 'an', 'few', 'couple', 'several']);

/** Opposites that are not a prefix apart (those are found by NEGATING_PREFIXES), both ways. */
const OPPOSITE_PAIRS = [
  ['enable', 'disable'],
  ['encrypt', 'decrypt'],
  ['encode', 'decode'],
  ['import', 'export'],
  ['push', 'pull'],
  ['buy', 'sell'],
  ['open', 'close'],
  ['start', 'stop'],
  ['start', 'end'],
  ['begin', 'end'],
  ['true', 'false'],
  ['add', 'remove'],
  ['create', 'delete'],
  ['read', 'write'],
  ['on', 'off'],
  ['up', 'down'],
  ['top', 'bottom'],
  ['ascending', 'descending'],
  ['before', 'after'],
  ['above', 'below'],
  ['min', 'max'],
  ['minimum', 'maximum'],
  ['increase', 'decrease'],
  ['left', 'right'],
  ['best', 'worst'],
  ['hot', 'cold'],
  ['hottest', 'coldest'],
  ['win', 'lose'],
  ['won', 'lost'],
  ['advantage', 'disadvantage'],
  ['login', 'logout'],
  ['benefit', 'risk'],
  ['pro', 'con'],
  ['upgrade', 'downgrade'],
  ['upload', 'download'],
  ['input', 'output'],
  ['inner', 'outer'],
  ['include', 'exclude'],
  ['accept', 'reject'],
  ['allow', 'deny'],
  ['allow', 'block'],
  ['show', 'hide'],
  ['legal', 'illegal'],
  ['safe', 'dangerous'],
  ['cheap', 'expensive'],
  ['early', 'late'],
  ['past', 'future'],
  ['male', 'female'],
];
export const OPPOSITES: [string, string][] = bothWays(OPPOSITE_PAIRS);

/**
 * Particles that are opposites after the same word only: "log in" / "log out", "check in" / "check out",
 * "zoom in" / "zoom out" ("in" alone frames: "a list in Python"). on/off and up/down are OPPOSITE_PAIRS.
 */
export const PARTICLE_OPPOSITES: [string, string][] = bothWays([
  ['in', 'out'],
  ['into', 'out'],
]);

function bothWays(pairs: string[][]): [string, string][] {
  return pairs.flatMap(([a, b]) => [
    [a, b],
    [b, a],
  ]) as [string, string][];
}

/** "install"/"uninstall", "like"/"dislike", "legal"/"illegal". */
export const NEGATING_PREFIXES = ['un', 'dis', 'de', 'non', 'il', 'im', 'ir', 'in'];

/** Units by their spellings (singular; plurals are stemmed first). */
const UNIT_SPELLINGS: Record<string, string[]> = {
  mm: ['mm', 'millimeter', 'millimetre'],
  cm: ['cm', 'centimeter', 'centimetre'],
  m: ['meter', 'metre'],
  km: ['km', 'kilometer', 'kilometre', 'kms'],
  in: ['inch', 'inche'],
  ft: ['ft', 'foot', 'feet'],
  yd: ['yd', 'yard'],
  mi: ['mile', 'mi'],
  mg: ['mg', 'milligram'],
  g: ['gram', 'gramme'],
  kg: ['kg', 'kilo', 'kilogram'],
  lb: ['lb', 'lbs'],
  oz: ['oz', 'ounce'],
  t: ['ton', 'tonne'],
  ml: ['ml', 'milliliter', 'millilitre'],
  l: ['liter', 'litre'],
  gal: ['gallon'],
  cup: ['cup'],
  tbsp: ['tbsp', 'tablespoon'],
  tsp: ['tsp', 'teaspoon'],
  c: ['celsius', 'centigrade', '°c'],
  f: ['fahrenheit', '°f'],
  k: ['kelvin'],
  s: ['sec'],
  min: ['minute'],
  h: ['hour', 'hr'],
  day: ['day'],
  week: ['week'],
  month: ['month'],
  year: ['year', 'yr'],
  mph: ['mph'],
  kmh: ['kmh', 'kph'],
  b: ['byte'],
  kb: ['kb', 'kilobyte'],
  mb: ['mb', 'megabyte'],
  gb: ['gb', 'gigabyte'],
  tb: ['tb', 'terabyte'],
  w: ['watt'],
  kw: ['kw', 'kilowatt'],
  kwh: ['kwh'],
  v: ['volt'],
  a: ['amp', 'ampere'],
  hz: ['hz', 'hertz'],
  cal: ['calorie', 'kcal'],
  j: ['joule'],
  acre: ['acre'],
  ha: ['hectare'],
  // Currencies are units of money ("pound" is money or weight: either way it is a unit).
  usd: ['$', 'dollar', 'usd'],
  eur: ['€', 'euro', 'eur'],
  gbp: ['£', 'pound', 'gbp'],
  jpy: ['¥', 'yen', 'jpy'],
};
export const UNITS = new Map<string, string>(
  Object.entries(UNIT_SPELLINGS).flatMap(([unit, spellings]) => spellings.map((s) => [s, unit])),
);

/**
 * Words that may stand for each other in a paraphrase, by group; the first word
 * of a group is its canonical form. Kept to near-exact synonyms: "buy" and "rent"
 * are close in vector space but are different questions.
 */
const SYNONYM_GROUPS = [
  ['big', 'large', 'huge', 'enormous'],
  ['small', 'little', 'tiny'],
  ['fast', 'rapid', 'speedy'],
  ['slow', 'sluggish'],
  ['buy', 'purchase'],
  ['car', 'automobile'],
  ['begin', 'start', 'commence'],
  ['end', 'finish'],
  ['error', 'bug', 'fault'],
  ['fix', 'repair', 'resolve', 'solve'],
  ['create', 'make', 'build'],
  ['delete', 'remove', 'erase'],
  ['modify', 'change', 'alter', 'edit', 'update'],
  ['use', 'utilize', 'utilise'],
  ['answer', 'reply', 'response'],
  ['question', 'query'],
  ['job', 'occupation', 'profession'],
  ['kid', 'child'],
  ['doctor', 'physician'],
  ['film', 'movie'],
  ['picture', 'photo', 'image'],
  ['house', 'home'],
  ['cost', 'price'],
  ['cheap', 'inexpensive'],
  ['expensive', 'costly', 'pricey'],
  ['happy', 'glad', 'joyful'],
  ['sad', 'unhappy'],
  ['smart', 'intelligent', 'clever'],
  ['easy', 'effortless'],
  ['hard', 'difficult'],
  ['good', 'great', 'fine'],
  ['best', 'top'],
  ['bad', 'poor'],
  ['correct', 'right'],
  ['wrong', 'incorrect'],
  ['choose', 'pick', 'select'],
  ['show', 'display'],
  ['speak', 'talk'],
  ['see', 'watch', 'view'],
  ['try', 'attempt'],
  ['learn', 'study'],
  ['assist', 'help', 'aid'],
  ['need', 'require'],
  ['enough', 'sufficient'],
  ['near', 'close'],
  ['maybe', 'perhaps'],
  ['often', 'frequently'],
  ['usually', 'typically', 'normally'],
  ['stop', 'halt', 'cease'],
  ['reason', 'cause'],
  ['benefit', 'advantage'],
  ['drawback', 'disadvantage', 'downside'],
  ['difference', 'differ'],
  ['example', 'instance', 'sample'],
  ['list', 'enumerate'],
  ['summary', 'summarize', 'summarise', 'overview'],
  ['translate', 'translation'],
  ['calculate', 'compute'],
  ['recipe', 'dish'],
  ['ill', 'sick'],
  ['trip', 'journey', 'travel'],
  ['install', 'setup', 'set'],
  ['password', 'passcode'],
  ['email', 'mail', 'e-mail'],
  ['website', 'site', 'webpage'],
  ['phone', 'telephone', 'smartphone'],
  ['laptop', 'notebook'],
  ['program', 'programme', 'software', 'app', 'application'],
  ['function', 'method'],
  ['folder', 'directory'],
  ['purpose', 'goal', 'aim'],
  ['important', 'significant'],
];
export const SYNONYMS = new Map<string, string>(SYNONYM_GROUPS.flatMap((group) => group.map((word) => [word, group[0]])));

/** Contractions expanded before tokenising, so negation and frame words are seen as words. */
export const CONTRACTIONS: [RegExp, string][] = [
  // "non-profit" is "nonprofit" (an opposite of "profit" by its prefix), not the Italian "non".
  [/\bnon-(?=\p{L})/giu, 'non'],
  [/\bcan['’]t\b/gi, 'can not'],
  [/\bwon['’]t\b/gi, 'will not'],
  [/\bshan['’]t\b/gi, 'shall not'],
  [/\bain['’]t\b/gi, 'is not'],
  [/n['’]t\b/gi, ' not'],
  [/['’](s|re|ll|ve|d|m)\b/gi, ''],
];
