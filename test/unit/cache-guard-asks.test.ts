import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardPrompts } from '../../libs/cache/src/guard';

/** The guard's verdict for a neighbour below the substitution threshold (every check applies). */
const verdict = (cached: string, query: string) => guardPrompts(query, cached, 0.9, 0.95);

/**
 * Found by an independent check (guard34's brief, both embedders): a modal verb that changes the ask, a past
 * against "will" outside who/what/which questions, and a quoted hex or exponent number were served; the passive
 * with a two-word object and two terms swapped around a symmetric relation were refused. The pairs here are the
 * brief's and test/data's tuning parts, never the held-out ones. A re-check of those rules (recheck34a) then found
 * directed relations served swapped near a symmetric word and hex numbers quoted in prose refused: the pairs marked
 * so are that fix's own, not the re-check's.
 */
describe('semantic guard: what is asked of an act, its time, its roles and symmetric relations', () => {
  const refusals: [string, string, string][] = [
    // May it be done, is it advised, is it required.
    ['Can I take ibuprofen on an empty stomach?', 'Should I take ibuprofen on an empty stomach?', 'question'],
    ['Must tenants pay for repairs?', 'May tenants pay for repairs?', 'question'],
    ['Should I take my medication with food?', 'Do I have to take my medication with food?', 'question'],
    ['Sollte ich jeden Tag Vitamin D nehmen?', 'Muss ich jeden Tag Vitamin D nehmen?', 'question'],
    ['Peut-on congeler du fromage ?', 'Doit-on congeler du fromage ?', 'question'],
    // A verb's past against "will" and the same verb, wherever the question word is.
    ['How many people attended the 2024 Olympics?', 'How many people will attend the 2024 Olympics?', 'tense'],
    ['Explain how the merger affected shareholders.', 'Explain how the merger will affect shareholders.', 'tense'],
    // A quoted hex, binary or exponent number is a string.
    ["Is '0x10' equal to 16 in JavaScript?", 'Is 0x10 equal to 16 in JavaScript?', 'symbols'],
    ["Is '1e3' equal to 1000 in Python?", 'Is 1e3 equal to 1000 in Python?', 'symbols'],
    ["What does Number('0b11') return?", 'What does Number(0b11) return?', 'symbols'],
    ["Is '0x1A' equal to 26 in Python?", 'Is 0x1A equal to 26 in Python?', 'symbols'],
    ["What does parseInt('0x1F') give?", 'What does parseInt(0x1F) give?', 'symbols'],
    // The passive's agent is the active's object.
    ['Did the British army defeat Napoleon?', 'Was the British army defeated by Napoleon?', 'direction'],
    ['Did Disney acquire Pixar?', 'Was Disney acquired by Pixar?', 'direction'],
    // An asymmetric relation swapped.
    ['How do I convert a string to an integer in Java?', 'How do I convert an integer to a string in Java?', 'direction'],
    ['Is Tokyo bigger than Osaka?', 'Is Osaka bigger than Tokyo?', 'direction'],
    // A symmetric relation whose terms' modifiers trade places, not its terms.
    ['Are a Sony lens and a Canon camera compatible?', 'Are a Canon lens and a Sony camera compatible?', 'direction'],
    // Relations near a symmetric word that do not hold both ways (recheck34a D1, D1b; this fix's own pairs): one
    // compatible with the other, a time offset ahead or behind, a route from one place to another.
    ['Is the Nintendo Switch compatible with Wii games?', 'Is the Wii compatible with Nintendo Switch games?', 'direction'],
    ['Is Excel compatible with Google Sheets files?', 'Is Google Sheets compatible with Excel files?', 'direction'],
    ['How far ahead of Berlin is Sydney?', 'How far ahead of Sydney is Berlin?', 'direction'],
    ['How far behind Paris is Chicago?', 'How far behind Chicago is Paris?', 'direction'],
    ['How far ahead of the UK is Japan in robotics?', 'How far ahead of Japan is the UK in robotics?', 'direction'],
    ['How far behind the EU is Canada on carbon taxes?', 'How far behind Canada is the EU on carbon taxes?', 'direction'],
    [
      'Is the paperwork similar when I move from Canada to France?',
      'Is the paperwork similar when I move from France to Canada?',
      'direction',
    ],
    [
      'What is the difference in cost to mail a letter from Spain to Italy?',
      'What is the difference in cost to mail a letter from Italy to Spain?',
      'direction',
    ],
    [
      'How far can an electric car go from Oslo to Bergen on one charge?',
      'How far can an electric car go from Bergen to Oslo on one charge?',
      'direction',
    ],
  ];
  for (const [cached, query, reason] of refusals) {
    it(`refuses "${query}" for "${cached}" (${reason})`, () => assert.equal(verdict(cached, query), reason));
  }

  const served: [string, string][] = [
    // Politeness modals, and modals that ask the same.
    ['Can you explain recursion?', 'Could you explain recursion?'],
    ['Would you explain recursion?', 'Can you explain recursion?'],
    ['Can I pay with a credit card?', 'May I pay with a credit card?'],
    ['Do I have to register my bike?', 'Must I register my bike?'],
    // A request asks no modality; after what, when or how the modal frames the question (cache-eval-tune.tsv).
    [
      'I want to write a cover letter. Can you give me a structure to follow?',
      'What structure should I follow when writing a cover letter?',
    ],
    ['when should i go in and have my tires changed', 'when must i get my tires changed'],
    ['Can you tell me if I must renew my passport?', 'Must I renew my passport?'],
    ['Könnten Sie mir den Weg zum Bahnhof zeigen?', 'Können Sie mir den Weg zum Bahnhof zeigen?'],
    ["Pourriez-vous m'aider à écrire une lettre ?", "Pouvez-vous m'aider à écrire une lettre ?"],
    // The same time said otherwise; a word in -ed that is no verb after "will"; a past in a condition on both sides.
    ['How many people will attend the 2028 Olympics?', 'How many people are going to attend the 2028 Olympics?'],
    ['Explain how baked bread will stay fresh.', 'Explain how baked bread stays fresh.'],
    ['If I changed my password, will I be logged out?', 'Will I be logged out if I changed my password?'],
    // The same number quoted on both sides, or bare on both.
    ["Is '0x10' valid JSON?", 'Is "0x10" valid JSON?'],
    ['How do I print 1e3 as an integer?', 'How can I print 1e3 as an integer?'],
    // Quoted in prose, the quotes mark an error code or a value (recheck34a D9): the same number.
    ['What does error "0x800f081f" mean in Windows Update?', 'What does error 0x800f081f mean in Windows Update?'],
    ["Why does my printer show error '0x00000709'?", 'Why does my printer show error 0x00000709?'],
    ['What does "2e5" mean on my calculator?', 'What does 2e5 mean on my calculator?'],
    // The passive with the same roles, names and objects of two words.
    ['Did Edison invent the light bulb?', 'Was the light bulb invented by Edison?'],
    ['Did Thomas Edison invent the phonograph?', 'Was the phonograph invented by Thomas Edison?'],
    // A symmetric relation's terms in either order.
    ['How far is Paris from Rome?', 'How far is Rome from Paris?'],
    ['What is the difference between TCP and UDP?', 'What is the difference between UDP and TCP?'],
    ['Are AirPods and Android phones compatible?', 'Are Android phones and AirPods compatible?'],
    ['Are Bluetooth and Wi-Fi compatible?', 'Are Wi-Fi and Bluetooth compatible?'],
    ['How far is Madrid from Lisbon?', 'How far is Lisbon from Madrid?'],
    // An ordered relation said the same, a phrase with a name moved whole.
    ['In Europe, is Germany ahead of France in solar power?', 'Is Germany ahead of France in solar power in Europe?'],
    ['What is the distance between the Earth and the Moon?', 'What is the distance between the Moon and the Earth?'],
    ['Wie groß ist der Unterschied zwischen Butter und Margarine?', 'Wie groß ist der Unterschied zwischen Margarine und Butter?'],
  ];
  for (const [cached, query] of served) {
    it(`serves "${query}" for "${cached}"`, () => assert.equal(verdict(cached, query), undefined));
  }
});
