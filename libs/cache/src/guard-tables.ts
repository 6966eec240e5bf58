/**
 * Word tables of the semantic guard (guard.ts). They are generic English, written
 * before the labelled pairs in test/data/ were, and not tuned on them.
 */

/**
 * The same kinds of framing words in the other languages NEGATIONS reads (articles, prepositions,
 * pronouns, auxiliaries, question words, politeness and request verbs), without those that are English
 * content words ("die", "war", "son", "leg") or particles that carry a meaning ("an" / "aus", "aan" / "uit"), and
 * without single letters: those read in every prompt, and "m" / "d" can be all a question differs by
 * (`DATEDIF(A1, B1, "m")`). French and Italian elisions (l', d', qu') are taken out before (CONTRACTIONS).
 */
const FRAME_WORDS_BY_LANGUAGE: Record<string, string> = {
  de: `der das den dem des ein eine einen einem einer eines und oder aber wenn dann als auf bei für mit von vor zum zur im
    ist sind waren bist sein haben hatte habe kann kannst können könnte muss soll sollte wird werden würde
    ich mich mir mein meine du dich dir dein deine er sie es wir uns unser ihr ihre was wer wie wo wann warum welche welcher welches
    bitte sag sagen erkläre erklären erklär zeig zeige gib gibt`,
  fr: `le la les un une des du de et ou mais si alors que qui quoi quel quelle quels quelles comment où quand pourquoi
    est sont était suis être ai as ont avait peux peut puis pouvez pouvons je me moi mon ma mes tu te toi ton ta tes
    il elle on nous vous votre vos ils elles leur leurs ce cette ces dans au aux pour par avec sur plaît dis dites
    explique expliquez expliquer montre donne`,
  es: `el la los las un una unos unas pero si que qué quien quién cual cuál cuales cuáles como cómo donde dónde cuando cuándo por porque de del al
    es eran fue está están soy estoy puedo puede puedes podría yo me mi mis tu tú te ti su sus nos nosotros usted ustedes lo le
    les se este esta esto estos estas ese esa hay explica explícame explicame dime muestra dame favor`,
  pt: `os as um uma uns umas ou mas se que quem qual quais como onde quando porque por com no na nos nas de do da dos das ao é são foi
    está estão sou posso pode podes poderia eu me mim meu minha meus minhas você vocês te seu sua seus suas nós ele ela eles
    elas isso isto este esta esse essa há explique explica diga mostre favor`,
  it: `il lo la gli le un uno una ma se che chi cosa quale quali qual quando perché per di del della dei delle da dal al alla è sono sia posso può
    puoi potrebbe io mi me mio mia miei tu ti te tuo tua lui lei noi ci voi vi loro questo questa quello quella spiega dimmi
    mostra dammi favore`,
  nl: `de het een en of maar als dan dat wat wie hoe waar wanneer waarom welke op van voor met bij is zijn was waren ben
    heb heeft hebben kan kun kunt kunnen zou moet wil ik me mij mijn je jij jou jouw u uw hij zij ze wij we ons onze er dit deze
    vertel toon geef alsjeblieft`,
};

/**
 * Words that carry a prompt's framing, not its subject: a paraphrase may add, drop or swap them. Only
 * function words, pronouns, auxiliaries, question words, politeness, request verbs and filler: any other
 * word added on one side changes the question ("list files" / "list hidden files").
 */
const ENGLISH_FRAME_WORDS = new Set(
  `a an the and or but so if then than as at by for from in into of on onto to with within upon via between
  together whether though although
  i me my mine myself we us our you your yours it its this that these those there here he she they them his her their
  is am are was were be been being do does did done doing have has had having will would shall should can could may might must
  what whats which who whom whose when where why how
  please kindly tell say show give let help explain describe define definition meaning mean means
  know find want need like get got make way ways thing things something anything someone anyone
  very really actually just simply exactly basically quickly briefly
  about regarding concerning around also too again still even
  hi hello hey thanks thank ok okay yes`.split(/\s+/),
);
/**
 * Modal verbs by what they ask of an act, by language: whether it may be done (can, may, könnte, pourriez),
 * whether it is advised (should, sollte, devrais) or whether it is required (must, have to, muss, dois). Two
 * prompts that ask it differently ask another question ("Can I take ibuprofen on an empty stomach?" / "Should
 * I…", "Must tenants pay…" / "May tenants pay…"); within one kind they are wording ("Can you explain" /
 * "Could you explain", "Pouvez-vous" / "Pourriez-vous"). A request ("Can you explain", "Would you…") asks none of
 * them, nor a modal in a question that asks what, when or how (guard-roles.ts). "have to" and "has to" by their two
 * words.
 */
const MODALS_BY_KIND: Record<string, string> = {
  possible: `can could may might
    kann kannst können könnt könnte könntest könnten könntet darf darfst dürfen dürft dürfte dürften
    peux peut pouvons pouvez peuvent puis pourrais pourrait pourrions pourriez pourraient`,
  advised: `should ought
    soll sollst sollen sollt sollte solltest sollten solltet
    devrais devrait devrions devriez devraient`,
  required: `must have_to has_to
    muss musst müssen müsst müsste müssten
    dois doit devons devez doivent faut`,
};
export const MODALS = new Map(
  Object.entries(MODALS_BY_KIND).flatMap(([kind, words]) => words.split(/\s+/).map((w): [string, string] => [w.replace('_', ' '), kind])),
);
/**
 * Words that ask what, when, how…, by language as NEGATIONS (not French "que", also "that"): a modal after one
 * frames the question rather than asking it ("When should I change my tires?" / "When must I…").
 */
export const OPEN_QUESTION_WORDS = new Set(
  `what when where why how which who whom whose was wann wo warum wie welche welcher welches welchen wer
  quand où pourquoi comment quel quelle quels quelles qui quoi`.split(/\s+/),
);
/** Second-person pronouns: a modal of what may be done before one, or "would" or "will", is a request ("Can you explain", "Pouvez-vous"). */
export const SECOND_PERSON = new Set(['you', 'u', 'vous', 'tu', 'du', 'sie']);
export const FRAME_WORDS = new Set([
  ...ENGLISH_FRAME_WORDS,
  ...Object.values(FRAME_WORDS_BY_LANGUAGE).flatMap((words) => words.split(/\s+/)),
  // A modal is framing to every other check: the modal rule compares them (guard-roles.ts).
  ...[...MODALS.keys()].filter((w) => !w.includes(' ')),
]);
/**
 * The framing words of the other languages that are no English ones ("el", "está", "ist"): a prompt with one
 * is not English. Not one letter: Dutch "u" is chat English too ("can u help").
 */
export const FOREIGN_FRAME_WORDS = new Set([...FRAME_WORDS].filter((w) => !ENGLISH_FRAME_WORDS.has(w) && w.length > 1));

/**
 * Words that open a condition or qualifier: the content word after one, added on one side only,
 * changes the answer ("Can I take ibuprofen while pregnant?", "…with metformin", "…for the sale of land",
 * "How do I undo the last commit but keep the changes?"). Not the other prepositions: "in simple terms",
 * "at home", "in programming" added are mostly wording (on test/data, adding at, in, on and by refused 12
 * paraphrases for 1 hard negative). Italian's "ma" is left out: it is French's "my" ("ma commande").
 */
const QUALIFIERS_BY_LANGUAGE: Record<string, string> = {
  en: 'while during with without for of unless since after before if but',
  de: 'während mit für nach vor seit bei wenn falls nachdem bevor aber',
  fr: 'pendant lors avec pour après avant depuis si lorsque mais',
  es: 'durante mientras con para después antes desde si pero',
  pt: 'durante enquanto com para depois antes desde mas',
  it: 'durante mentre con per dopo prima',
  nl: 'tijdens terwijl met voor sinds maar',
};
export const QUALIFIERS = new Set(Object.values(QUALIFIERS_BY_LANGUAGE).flatMap((words) => words.split(' ')));
/**
 * Prepositions that open a phrase saying when, in what order or unit, or by what means the question is asked:
 * "at night", "in winter", "on Sundays", "in reverse order", "in Celsius", "by bus". Only a phrase whose noun
 * (the first content word after the preposition and its articles) is a SETTINGS word or a unit counts: any
 * content word after them, added on one side, refused 12 paraphrases for 1 hard negative on test/data ("in
 * simple terms", "at home", "in programming"). English only.
 */
export const SETTING_OPENERS = new Set(['in', 'at', 'on', 'by']);
/**
 * The nouns (or the adjective before "order") of such a phrase that change the answer when one side adds it: a
 * part of the day, a day, a season or month, an order, a system of units, a means of transport. Not places:
 * "at home", "in my kitchen" added are mostly wording.
 */
export const SETTINGS = new Map<string, string>([
  ...`night daytime morning afternoon evening dawn dusk sunrise sunset midnight noon dark weekend weekday holiday
  monday tuesday wednesday thursday friday saturday sunday
  winter summer spring autumn
  january february march april may june july august september october november december
  reverse descending ascending alphabetical chronological random backwards
  metric imperial
  bus train car taxi bike foot plane metro tram ferry boat rail`
    .split(/\s+/)
    .map((word): [string, string] => [word, word]),
  // The same setting in other words: "in autumn" / "in the fall".
  ['nighttime', 'night'],
  ['fall', 'autumn'],
  ['cab', 'taxi'],
  ['bicycle', 'bike'],
  ['airplane', 'plane'],
  ['subway', 'metro'],
]);
/**
 * Of QUALIFIERS, those that may open a clause with its own subject: "while I am pregnant", "after it
 * ships", "wenn ich schwanger bin", "pendant que je suis enceinte". Its subject and auxiliaries
 * (CLAUSE_WORDS) stand between the opener and the condition's content word.
 */
export const CLAUSE_OPENERS = new Set(
  'while unless since after before if but während wenn falls nachdem bevor seit aber pendant lors après avant depuis si lorsque mais mientras después antes desde pero enquanto depois mas mentre dopo prima terwijl sinds maar'.split(
    ' ',
  ),
);
/**
 * Subject pronouns, auxiliaries, and the "que" of "pendant que" or the "de" of "después de", in the languages
 * NEGATIONS reads: see CLAUSE_OPENERS.
 */
export const CLAUSE_WORDS = new Set(
  `de di que i you he she it we they am is are was were be been being do does did have has had can could will would shall should may might must
  ich du er sie es wir ihr bin bist ist sind war waren habe hat haben kann wird werde
  que je tu il elle on nous vous ils elles suis est sommes êtes sont ai avons avez ont
  yo él ella nosotros estoy estás está estamos están soy eres somos son he ha hemos han
  eu ele ela nós estou estamos estão sou é são
  che io lui lei noi sono sei è siamo ho hai abbiamo
  dat ik jij hij zij ben bent zijn heb heeft`.split(/\s+/),
);
/**
 * Prepositions, by language, as NEGATIONS: a term behind one stands in a slot the preposition names ("for
 * arm64 on an amd64 machine"). Articles are left out: they are read past.
 */
const PREPOSITIONS_BY_LANGUAGE: Record<string, string> = {
  en: 'at by for from in into of on onto to with within upon via over under between',
  de: 'an auf aus bei für in mit nach von vom vor zu zum zur im über unter zwischen',
  fr: 'à au aux avec chez dans de du en par pour sur sans vers entre sous',
  es: 'a al con de del desde en entre hacia para por sin sobre bajo',
  pt: 'a ao aos com de do da dos das em no na nos nas para por sem sobre entre',
  it: 'a al alla con da dal dalla di del della in nel nella per su sul tra fra',
  nl: 'aan bij in met naar op over uit van voor tussen onder',
};
export const PREPOSITIONS = new Set(Object.values(PREPOSITIONS_BY_LANGUAGE).flatMap((words) => words.split(' ')));
/** Articles and possessives of the other languages, which stand between a qualifier and its noun as DETERMINERS do: "durante el embarazo". */
export const ARTICLES = new Set(
  `der das den dem des ein eine einen einem einer eines meine meinem meiner le la les un une du au aux ma mon mes el los las una unos
  unas mi mis o os um uma umas meu minha lo gli uno il mio mia het een mijn`.split(/\s+/),
);
/**
 * Real English words that are each other with two adjacent letters swapped, the first letter kept
 * (words of 5 letters or more; every such pair of the american-english word list, wamerican 2020.12.07):
 * a swap of two letters between these is another word, not a typo ("trial" / "trail", "casual" /
 * "causal", "angel" / "angle"). The typo rule reads them so by its word list (ENGLISH_WORDS in guard-typos.ts,
 * which has every word); scripts/guard-lexicon.mjs keeps them out of the synonym pairs.
 */
export const TRANSPOSED_WORDS = new Set(
  `
  accouterments/accoutrements alien/aline aliens/alines amphitheater/amphitheatre amphitheaters/amphitheatres angel/angle
  angels/angles bards/brads barely/barley barked/braked barking/braking basis/bassi beast/beats beats/betas
  belated/bleated blankest/blankets blast/blats blots/bolts boast/boats boost/boots briskest/briskets brunt/burnt
  bugle/bulge bugled/bulged bugles/bulges bugling/bulging calms/clams carbs/crabs carps/craps carted/crated
  carting/crating carve/crave carved/craved carves/craves carving/craving carvings/cravings casual/causal
  casually/causally cervices/crevices claps/clasp clods/colds closest/closets clots/colts clxiv/clxvi coals/colas
  coast/coats codes/coeds compiled/complied compiles/complies complaint/compliant concerted/concreted
  concerting/concreting consign/consing copes/copse corny/crony coroner/crooner coroners/crooners corps/crops creep/crepe
  creeps/crepes crust/curst cubist/cubits cures/curse dairies/diaries dairy/diary direr/drier direst/driest
  discreet/discrete exist/exits farmed/framed farmer/framer farmers/framers farming/framing farts/frats feast/feats
  fiefs/fifes field/filed fiend/fined filed/flied files/flies fired/fried fires/fries forth/froth freshest/freshets
  garbs/grabs garter/grater garters/graters gilded/glided gilding/gliding gingko/ginkgo gingkoes/ginkgoes gingkos/ginkgos
  girds/grids girts/grits goiter/goitre goiters/goitres gores/gorse grist/grits gustier/gutsier gustiest/gutsiest
  gusty/gutsy infarction/infraction lairs/liars liars/liras liens/lines limpest/limpets lions/loins lotus/louts
  luster/lustre madrasas/madrassa manes/manse mantel/mantle mantelpiece/mantlepiece mantelpieces/mantlepieces
  mantels/mantles marital/martial meets/metes miens/mines minuet/minute minuets/minutes mouses/mousse nickel/nickle
  nickels/nickles ocher/ochre overdoes/overdose pares/parse parted/prated parting/prating pasties/patsies pasty/patsy
  patios/patois perfect/prefect perfects/prefects piled/plied piles/plies plaint/pliant pluses/pulses poises/posies
  poses/posse pride/pried quiet/quite repertoires/repertories retired/retried retires/retries reveres/reverse rogue/rouge
  rogues/rouges roost/roots saber/sabre sabers/sabres sacred/scared salted/slated salting/slating saltpeter/saltpetre
  salts/slats salve/slave salved/slaved salver/slaver salvers/slavers salves/slaves salving/slaving satin/stain
  sherd/shred sherds/shreds shriek/shrike shrieks/shrikes signed/singed signer/singer signers/singers signing/singing
  signs/sings silly/slily silts/slits silver/sliver silvered/slivered silvering/slivering silvers/slivers sites/sties
  sloes/soles soldier/solider solitaires/solitaries somber/sombre somberly/sombrely spams/spasm spares/sparse spilt/split
  tarps/traps teazel/teazle teazels/teazles theater/theatre theaters/theatres thees/these there/three thickest/thickets
  thickest/thickset tiers/tires tilde/tiled tilted/titled tilting/titling timber/timbre timbers/timbres tired/tried
  tires/tries tiros/trios toady/today torts/trots torus/tours trail/trial trailed/trialed trailing/trialing trails/trials
  treaties/treatise twist/twits unite/untie united/untied unites/unties waist/waits waiver/wavier warps/wraps whist/whits
  wield/wiled worth/wroth wrist/writs xxxiv/xxxvi
`
    .trim()
    .split(/[\s/]+/),
);
/**
 * Words that set the word before them against another: "a refund instead of a replacement", "tea rather than
 * coffee". That word, added on one side only, asks for something else.
 */
export const CONTRASTS = new Set('instead rather statt anstatt anstelle lieu vez lugar invés invece plaats'.split(' '));
/**
 * What a connective between two terms says of them: both at once ("aspirin with warfarin", "bleach and vinegar",
 * "…while taking ibuprofen"), either one ("Tylenol or Advil"), or one in place of the other (CONTRASTS: "olive oil
 * rather than butter"). The same two terms related otherwise ask something else: mixing bleach and vinegar is not
 * using one or the other. "without" is a negation (NEGATIONS), refused as one. Not the one-letter "y", "o", "e" of
 * the Romance languages, which are terms ("x and y").
 */
const RELATIONS_BY_KIND = {
  together: 'and with while und mit sowie et avec com met',
  either: 'or oder ou oppure',
  instead: [...CONTRASTS].join(' '),
};
/** Each connective word and its kind; where a gap has several, the later kind in RELATIONS_BY_KIND wins: "and instead of". */
export const RELATIONS = new Map(
  Object.entries(RELATIONS_BY_KIND).flatMap(([kind, words]) => words.split(' ').map((w) => [w, kind] as const)),
);
/**
 * Words that leave out the term after them, as a negation does: "all logs except errors", "tous sauf les
 * pommes". With NEGATIONS and CONTRASTS they order the terms either side ("shoes but not socks" is not
 * "socks but not shoes"). Single words only; "other than", "apart from" by EXCLUDING_PHRASES.
 */
export const EXCLUSIONS = new Set(
  'except excluding excepting sauf excepté hormis außer ausgenommen excepto salvo sin exceto sem tranne eccetto behalve zonder'.split(' '),
);
/** Two-word exclusions, by their first word and the word after it. */
export const EXCLUDING_PHRASES = new Set(['other than', 'apart from', 'aside from']);
/**
 * Words that take an amount of what follows their "of" without an article before them: a part ("cancel
 * part of my order", "the rest of my files") or a quantity ("lots of coffee", "half of my order"). A noun
 * after an indefinite article or a number takes one whatever it is ("a lot of", "a tube of", "two cups
 * of"), and so does a quantifier that picks some ("most of", "some of"): see amountBefore (guard.ts).
 */
export const PARTITIVES = new Set(
  'part parts portion piece section share fraction remainder rest bit segment half lot lots plenty none majority minority tons loads dozens hundreds thousands'.split(
    ' ',
  ),
);
/** Words between a qualifier or a modifier and its noun: "for the sale of land", "store the cooked rice". */
export const DETERMINERS = new Set('a an the my your our their his her its this that these those some any'.split(' '));

/**
 * Quantifiers and scope words, by what they claim: "all mushrooms" / "any mushrooms", "see all invoices" /
 * "see only…". Compared as a set when both prompts have one ("list all files" may be "list the files").
 */
export const QUANTIFIERS = new Map<string, string>([
  ['all', 'all'],
  ['every', 'all'],
  ['each', 'all'],
  ['both', 'all'],
  ['any', 'some'],
  ['some', 'some'],
  ['either', 'some'],
  ['only', 'only'],
  ['most', 'most'],
  ['few', 'few'],
  ['much', 'many'],
  ['many', 'many'],
]);

/**
 * Adjectives as the guard knows them without a tagger: common ones, and words with an adjective's ending. Two
 * modifiers side by side, one of them such, describe the same thing in either order ("fresh organic vegetables" /
 * "organic fresh vegetables", "a good light summer dessert" / "…summer light…": recheck33c D1, six of six such
 * paraphrases refused), where two nouns make another thing ("chocolate milk" / "milk chocolate"): guard-roles.ts.
 */
export const ADJECTIVES = new Set(
  (
    'big small large little long short tall high low fast slow quick cheap expensive fresh old new young good bad best ' +
    'worst better simple easy hard healthy quiet loud light dark black white red blue green yellow brown grey gray hot ' +
    'cold warm cool soft strong weak rich poor clean safe free full empty heavy thin thick wide narrow deep sweet sour ' +
    'spicy raw organic natural local modern classic busy happy friendly tiny huge great nice pretty beautiful cute ' +
    'smart lazy dry wet main top'
  ).split(' '),
);
export const ADJECTIVE_ENDING = /..(ous|ful|ive|ic|able|ible|less|ish)$/;

/**
 * Numbers written as code writes them, which the tokens split ("0x10" is "0" and "x10"): hexadecimal, binary,
 * octal, and an exponent ("1e3", "2.5e-3"). Quoted whole, such a number is a string: "'0x10'" / "0x10".
 */
export const CODE_NUMBER = /(?:0[xX][\da-fA-F]+|0[bB][01]+|0[oO][0-7]+|\d+(?:\.\d+)?[eE][+-]?\d+)(?![\p{L}\p{N}])/uy;

/**
 * Literal values of programming languages that, written in quotes, are a string instead: "'0'" / "0", "\"null\"" /
 * "null", "'False'" / "False" (numbers too: guard.ts quotedApart).
 */
export const LITERAL_WORDS = new Set('true false null none undefined nil nan'.split(' '));
/**
 * Words that make a prompt about code, where a quoted hex or exponent number is a string ("Is '0x10' equal to 16 in
 * JavaScript?"); in prose the quotes only mark an error code or a value ("How do I fix error '0x80070005'?").
 * Prompts with operators, brackets or backticks are about code too (code.ts).
 */
export const CODE_WORDS = new Set(
  'javascript js typescript python java kotlin swift ruby php perl golang rust scala haskell lua bash powershell sql json yaml toml xml regex function method variable string int integer float double boolean bool literal parse parseint cast compiler interpreter console'.split(
    ' ',
  ),
);
/**
 * The auxiliaries whose tense is the question's ("Is Pluto a planet?" / "Was Pluto a planet?", "Will Bitcoin go
 * up?" / "Did…"), "going to" by its two words. Other modals are not here: "could you…" is politeness, not the past.
 */
export const AUXILIARY_TENSES = new Map<string, string>([
  ...'is are am do does has have'.split(' ').map((w): [string, string] => [w, 'present']),
  ...'was were did had'.split(' ').map((w): [string, string] => [w, 'past']),
  ...['will', 'shall', 'gonna', 'going to'].map((w): [string, string] => [w, 'future']),
]);

/**
 * Personal pronouns and possessives, by whom they name: "Who are you?" / "Who am I?" name other people,
 * "Do you love me?" / "Do I love you?" the same two in swapped roles.
 */
const PRONOUNS_BY_PERSON: Record<string, string> = {
  i: 'i me my mine myself',
  we: 'we us our ours ourselves',
  you: 'you your yours yourself yourselves',
  he: 'he him his himself',
  she: 'she her hers herself',
  they: 'they them their theirs themselves',
};
/** Of PERSONS, the possessives: "my landlord" names the landlord, not a party of its own. */
export const POSSESSIVES = new Set('my mine our ours your yours his her hers their theirs'.split(' '));
export const PERSONS = new Map<string, string>(
  Object.entries(PRONOUNS_BY_PERSON).flatMap(([person, words]) => words.split(' ').map((w): [string, string] => [w, person])),
);

/** "9 am" / "9 pm": after a number, a time of day (compared as a unit); elsewhere "am" is a verb. */
export const TIMES_OF_DAY = new Set(['am', 'pm']);

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

/**
 * Ordinal words, compared as a list even when one prompt has none: "the second highest salary" is not
 * "the highest salary", nor "the first World Cup" "the most recent".
 */
export const ORDINAL_WORDS = new Set(
  'first second third fourth fifth sixth seventh eighth ninth tenth last penultimate next previous'.split(' '),
);

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
  // A factorial: a token only right after a number (guard.ts FACTORIAL).
  ['!', '!'],
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

/**
 * Words that ask how two things relate in a way that holds both ways, which a prompt may name in either order: how
 * they compare ("the difference between X and Y" / "Y vs X"), how far apart they are ("How far is Paris from
 * Rome?" / "…Rome from Paris?"), whether they are alike, go together or act on each other ("Are X and Y
 * compatible?", "Do X and Y interact?"). By language as NEGATIONS; "how far" and "wie weit" by SYMMETRIC_PHRASES,
 * as "far" alone is no distance ("so far", "far more"). "convert X to Y", "X bigger than Y" are no such relation.
 */
const SYMMETRIC_BY_LANGUAGE: Record<string, string> = {
  en: 'difference differ different vs versus compare comparison distance similar similarity alike compatible compatibility interact interaction common',
  de: 'unterschied unterscheiden unterschiedlich vergleich vergleichen entfernung entfernt ähnlich kompatibel',
  fr: 'différence différent différente comparer comparaison distance similaire semblable compatible',
  es: 'diferencia diferente comparar comparación distancia similar parecido compatible',
};
export const SYMMETRIC_WORDS = new Set(Object.values(SYMMETRIC_BY_LANGUAGE).flatMap((words) => words.split(' ')));
export const SYMMETRIC_PHRASES = ['how far', 'wie weit'];
/**
 * Words that order two things a symmetric word compares: "Is X more different than Y?", "größer als", "How far
 * ahead of London is Tokyo?" (a time offset has a sign, a distance has none).
 */
export const ORDERING_WORDS = new Set(['than', 'als', 'ahead', 'behind', 'voraus']);
/**
 * Compatibility said of one thing with another, which need not hold back: "Is an O negative donor compatible with
 * an AB positive patient?", "Is the PS5 compatible with PS4 games?". "Are X and Y compatible?" holds both ways.
 */
export const DIRECTED_WITH = {
  words: new Set(['compatible', 'compatibility', 'kompatibel']),
  with: new Set(['with', 'mit', 'avec', 'con']),
};
/** A route's two ends, "from X to Y": a symmetric word elsewhere does not make it either way ("the difference in fees from savings to checking"). */
export const ROUTE_ENDS = { from: new Set(['from', 'von']), to: new Set(['to', 'into', 'onto', 'nach']) };

/** Words that make word order matter: "string to int" ≠ "int to string", "A bigger than B" ≠ "B bigger than A". */
export const DIRECTION_MARKERS = new Set(['to', 'into', 'onto', 'from', 'than', 'versus', 'vs']);

/**
 * Which way a direction word points, by language, as NEGATIONS: the word after it is where a thing goes
 * ("ship to Canada", "copy a file to the server") or where it comes from ("ship from Canada", "from the
 * server"). The same word headed one way on one side and the other way on the other is another question,
 * though no word order changed. Not "para" ("receta para pastel" is "receta de pastel") nor "di" (of). An
 * article among them ("du", "aux") heads the term only where no direction word stands before it.
 */
const HEADINGS_BY_SIDE: Record<string, string> = {
  // Without the words that are English ("a", "do", "ai", "van") or another language's article ("das", "dos").
  toward: 'to into onto toward towards; nach zu zum zur; à au aux vers; al hacia; ao aos à às; al alla agli verso; naar',
  from: 'from; von vom aus; de du des depuis; de del desde; de da desde; da dal dalla dai dagli; vanaf uit',
};
export const HEADINGS = new Map<string, string>(
  Object.entries(HEADINGS_BY_SIDE).flatMap(([side, words]) => words.split(/[;\s]+/).map((w): [string, string] => [w, side])),
);

/**
 * The two ends of a range, "from X to Y" in the other languages NEGATIONS reads: the words next to the end
 * word are ordered when the start word stands two words before it ("de mayor a menor" / "de menor a mayor",
 * "von Anfang bis Ende"). Alone, each is framing ("de" is also "of").
 */
const RANGE_ENDS_BY_LANGUAGE: Record<string, { from: string; to: string }> = {
  de: { from: 'von vom ab', to: 'bis zum zur nach zu' },
  fr: { from: 'de du des depuis', to: 'à au aux' },
  es: { from: 'de del desde', to: 'a al hasta' },
  pt: { from: 'de do da desde', to: 'a ao à até para' },
  it: { from: 'da dal dalla dallo di', to: 'a al alla allo fino' },
  nl: { from: 'van vanaf', to: 'naar tot' },
};
export const RANGE_STARTS = new Set(Object.values(RANGE_ENDS_BY_LANGUAGE).flatMap(({ from }) => from.split(' ')));
export const RANGE_ENDS = new Set(Object.values(RANGE_ENDS_BY_LANGUAGE).flatMap(({ to }) => to.split(' ')));

/**
 * Words that make word order matter between two names or units only: "9 am PST in EST" ≠ "EST in PST",
 * "React in Next.js" ≠ "Next.js in React"; "a list in Python" is no direction. By language, as NEGATIONS.
 */
const DIRECTION_MARKERS_BETWEEN_NAMES_BY_LANGUAGE: Record<string, string> = {
  en: 'in',
  de: 'in nach zu',
  fr: 'en à vers',
  es: 'a en para',
  pt: 'a em para',
  it: 'a in',
  nl: 'in naar',
};
export const DIRECTION_MARKERS_BETWEEN_NAMES = new Set(
  Object.values(DIRECTION_MARKERS_BETWEEN_NAMES_BY_LANGUAGE).flatMap((words) => words.split(' ')),
);

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
/**
 * Words that bound an amount on one side, by which side, before a number or an amount of time (after one
 * framing word at most: "después de 30 días"): "return an item within 30 days" / "after 30 days", "under 18"
 * / "over 18". Compared only when both prompts have one ("within 30 days" may be "in the first 30 days").
 */
const AMOUNT_BOUNDS_BY_SIDE: Record<string, string> = {
  // English; German; French; Spanish; Portuguese; Italian; Dutch.
  // A phrase is written with "+": "dans les 30 jours" is "within 30 days", "dans 30 jours" "in 30 days" (TIME_DIRECTIONS' "in").
  'up to': `within before by until till under below; innerhalb binnen bis unter; avant sous dans+les; dentro antes hasta bajo
    en+los en+las plazo; dentro antes até abaixo prazo; entro prima fino sotto nei negli; binnen tot onder`,
  beyond: 'after over beyond past above; nach über ab; après passé; después tras; depois após acima; dopo oltre; na boven',
};
export const AMOUNT_BOUNDS = new Map<string, string>(
  Object.entries(AMOUNT_BOUNDS_BY_SIDE).flatMap(([side, words]) =>
    words.split(/[;\s]+/).map((w): [string, string] => [w.replace('+', ' '), side]),
  ),
);

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

/** Particles that make another verb of the one before them: "round up", "pay off", "back out". */
export const PHRASAL_PARTICLES = new Set(['up', 'down', 'out', 'off', 'over', 'back', 'away']);

function bothWays(pairs: string[][]): [string, string][] {
  return pairs.flatMap(([a, b]) => [
    [a, b],
    [b, a],
  ]) as [string, string][];
}

/**
 * "install"/"uninstall", "like"/"dislike", "legal"/"illegal"; French, Spanish and Portuguese "des-" / "dés-"
 * ("désactiver", "desactivar", "desativar"; Italian "disattivare" is "dis-").
 */
export const NEGATING_PREFIXES = ['un', 'dis', 'de', 'des', 'dés', 'non', 'il', 'im', 'ir', 'in'];

/** Units by their English spellings (singular; plurals are stemmed first). */
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
  kbit: ['kbit', 'kilobit'],
  mbit: ['mbit', 'megabit'],
  gbit: ['gbit', 'gigabit'],
  tbit: ['tbit', 'terabit'],
  'kbit/s': ['kbps'],
  'mbit/s': ['mbps'],
  'gbit/s': ['gbps'],
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
/**
 * The common units in the other languages NEGATIONS reads, lower-cased, with the plurals not made by a
 * final -s ("Meilen", "dólares", "chilometri"). Spellings that are also English words ("pie", "once",
 * "Tag", "an") or another unit or ordinal ("segundo", "mille") are left out. Each entry is a unit (as
 * UNIT_SPELLINGS names it) and its spellings, entries separated by ";".
 */
const UNIT_SPELLINGS_BY_LANGUAGE: Record<string, string> = {
  de: `km kilometern; m metern; mi meile meilen; ft fuß; in zoll; g gramm; kg kilogramm; lb pfund;
    l litern; s sekunde sekunden; min minuten; h stunde stunden; week woche wochen;
    month monat monate monaten; year jahr jahre jahren`,
  fr: `mm millimètre; cm centimètre; m mètre; km kilomètre; ft pied; in pouce; kg kilogramme; h heure;
    day jour; week semaine; month mois; year année`,
  es: `mm milímetro; cm centímetro; m metro; km kilómetro; mi milla; in pulgada; g gramo;
    kg kilogramo; lb libra; oz onza; l litro; gal galón galones; min minuto; day día; week semana;
    month meses; year año; usd dólar dólares`,
  pt: `mm milímetro; cm centímetro; m metro; km quilômetro quilómetro; mi milha; ft pé; in polegada;
    g grama; kg quilograma quilo; lb libra; oz onça; l litro; gal galão galões; min minuto;
    day dia; week semana; month mês meses; year ano; usd dólar dólares; brl reais`,
  it: `mm millimetro millimetri; cm centimetro centimetri; m metro metri; km chilometro chilometri;
    mi miglio miglia; ft piede piedi; in pollice pollici; g grammo grammi;
    kg chilogrammo chilogrammi chilo; l litro litri; min minuto minuti; day giorno giorni;
    week settimana settimane; month mese mesi; year anno anni; usd dollaro dollari`,
  nl: `mi mijl mijlen; ft voet; h uur; day dag dagen; month maand maanden; year jaar jaren`,
};
export const UNITS = new Map<string, string>([
  ...Object.entries(UNIT_SPELLINGS).flatMap(([unit, spellings]) => spellings.map((s): [string, string] => [s, unit])),
  ...Object.values(UNIT_SPELLINGS_BY_LANGUAGE).flatMap((table) =>
    table.split(';').flatMap((entry) => {
      const [unit, ...spellings] = entry.trim().split(/\s+/);
      return spellings.map((s): [string, string] => [s, unit]);
    }),
  ),
]);

/**
 * Units whose case carries their meaning, as written: a capital prefix and a lower-case b are bits ("Mb", "Gb"),
 * a capital B bytes ("MBps" is megabytes a second, "Mbps" megabits): eight times apart. Read before UNITS, which
 * is lower-cased: there "mb" and "kb" are bytes, what a writer who does not tell them apart by case mostly means.
 */
export const CASED_UNITS = new Map([
  ['Kb', 'kbit'],
  ['Mb', 'mbit'],
  ['Gb', 'gbit'],
  ['Tb', 'tbit'],
  ['kBps', 'kb/s'],
  ['KBps', 'kb/s'],
  ['MBps', 'mb/s'],
  ['GBps', 'gb/s'],
  ['TBps', 'tb/s'],
]);

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
  // A contrast said otherwise (RELATIONS).
  ['instead', 'rather'],
  ['statt', 'anstatt', 'anstelle'],
];
export const SYNONYMS = new Map<string, string>(SYNONYM_GROUPS.flatMap((group) => group.map((word) => [word, group[0]])));

/** Contractions expanded before tokenising, so negation and frame words are seen as words. */
export const CONTRACTIONS: [RegExp, string][] = [
  // "non-profit" is "nonprofit" (an opposite of "profit" by its prefix), not the Italian "non".
  [/\bnon-(?=\p{L})/giu, 'non'],
  // One contrast (CONTRASTS), however said: "place" would be a content word on one side only.
  [/\bin place of\b/gi, 'instead of'],
  [/\bcan['’]t\b/gi, 'can not'],
  [/\bwon['’]t\b/gi, 'will not'],
  [/\bshan['’]t\b/gi, 'shall not'],
  // "I'll" is the future: "I will".
  [/['’]ll\b/gi, ' will'],
  [/\bain['’]t\b/gi, 'is not'],
  [/n['’]t\b/gi, ' not'],
  [/['’](s|re|ll|ve|d|m)\b/gi, ''],
  // French and Italian elisions: the article or pronoun is framing ("l'Italie", "d'un", "c'è", "qu'il").
  [/\b(?:[cdjlmnst]|qu)['’](?=\p{L})/giu, ''],
];
