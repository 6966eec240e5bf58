import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardPrompts } from '../../libs/cache/src/guard';
import { differingRegions } from '../../libs/cache/src/guard-regions';

/** The guard's verdict on two prompts as the cache judges them, at the default substitution threshold. */
const verdict = (cached: string, query: string) => guardPrompts(query, cached, 1, 1.01);

// Found by an independent check (cache26): over a shared document every name and word of either question
// occurs in the document, so checks that asked whether a word was on the other side found it there.
const STAFF = [
  'Staff directory and office guide.',
  'Alice Martin works in the Paris office, on the third floor, and leads the payments team; her extension is 4411.',
  'Bruno Costa works in the Lisbon office, on the first floor, and leads the mobile team; his extension is 5120.',
  'Chloe Weber works in the Berlin office and leads the security team; her extension is 6302.',
  'Emma Rossi works in the Milan office and leads the design team; her extension is 8090.',
  'Parking is available in Berlin and Milan only.',
  'The payments team and the security team share an on-call rota.',
].join(' ');

// Written for this fix: a catalogue, a policy and a recipe, each with two questions whose words it all has.
const CATALOGUE = [
  'Spring catalogue.',
  'The Falcon desk lamp costs 49 euros, comes in black or white and ships in two days.',
  'The Orion standing desk costs 420 euros, comes in oak or walnut and ships in three weeks.',
  'The Vega office chair costs 310 euros and has a five year warranty.',
  'Returns are free within 30 days for lamps and chairs; desks are returned at the customer’s cost.',
].join(' ');
const LEAVE = [
  'Leave policy.',
  'Employees get 25 days of annual leave, 10 days of sick leave and 5 days of study leave a year.',
  'Unused annual leave carries over until March; sick leave does not carry over.',
  'Parental leave is 16 weeks, paid in full, and can be split into two blocks.',
].join('\n');
const RECIPE = [
  'Country loaf.',
  'Mix the flour, water and salt, then knead the dough for ten minutes.',
  'Let the dough rise for four hours, shape it, and proof it overnight in the fridge.',
  'Bake the bread at 250 degrees for 40 minutes, the first 20 with the lid on.',
].join(' ');

const PARSER = [
  '```python',
  'def parse_config(path):',
  '    with open(path) as f:',
  '        return yaml.safe_load(f)',
  '',
  'def render_report(rows):',
  '    return "\\n".join(f"{r.name}: {r.total}" for r in rows)',
  '',
  'def fetch_rates(currency):',
  '    return requests.get(f"https://rates.example/{currency}").json()',
  '```',
].join('\n');

describe('semantic guard: questions about one shared text', () => {
  const refused: [string, string, string][] = [
    // The checker's pairs (cache26).
    [
      `${STAFF}\nAnswer from the document above: What is the extension of Alice Martin?`,
      `${STAFF}\nAnswer from the document above: What is the extension of Bruno Costa?`,
      'entities',
    ],
    [`${STAFF}\nWhich team does Chloe Weber lead?`, `${STAFF}\nWhich team does Emma Rossi lead?`, 'entities'],
    [`${STAFF}\nWhich offices have parking?`, `${STAFF}\nWhich offices have an on-call rota?`, 'substitution'],
    [`${PARSER}\nWrite a unit test for parse_config.`, `${PARSER}\nWrite a unit test for render_report.`, 'substitution'],
    // Written for this fix: other texts, the question before or after the text, a name added or swapped.
    [`${CATALOGUE}\nHow much does the Falcon desk lamp cost?`, `${CATALOGUE}\nHow much does the Orion standing desk cost?`, 'entities'],
    [`${CATALOGUE}\nWhich products come in oak?`, `${CATALOGUE}\nWhich products come in walnut?`, 'substitution'],
    [`How many days of sick leave do I get?\n${LEAVE}`, `How many days of study leave do I get?\n${LEAVE}`, 'substitution'],
    [`Does annual leave carry over?\n${LEAVE}`, `Does sick leave carry over?\n${LEAVE}`, 'substitution'],
    [`${RECIPE} How long should the dough rise?`, `${RECIPE} How long should the bread bake?`, 'substitution'],
    [`Add type hints to fetch_rates:\n${PARSER}`, `Add type hints to render_report:\n${PARSER}`, 'substitution'],
    [`${PARSER}\nWhy does parse_config fail on an empty file?`, `${PARSER}\nWhy does fetch_rates fail on an empty file?`, 'substitution'],
    // The embedder did not judge the differing part: a content word added there is another request.
    [`${PARSER}\nWhat does parse_config do?`, `${PARSER}\nWrite a unit test for parse_config.`, 'qualifier'],
    [`${LEAVE}\nHow long is parental leave?`, `${LEAVE}\nHow long is paid parental leave?`, 'qualifier'],
    [`${RECIPE}\nHow long should the dough rise?`, `${RECIPE}\nHow long should the dough rise in a warm kitchen?`, 'qualifier'],
    // A sentence with content on one side only is another request over the same text.
    [`${RECIPE}\nMake this recipe vegan.`, RECIPE, 'qualifier'],
    [CATALOGUE, `${CATALOGUE}\nSummarize it in a table.`, 'qualifier'],
  ];
  for (const [cached, query, reason] of refused) {
    it(`refuses "${query.slice(-50)}" for "${cached.slice(-50)}" (${reason})`, () => assert.equal(verdict(cached, query), reason));
  }

  // Rewording the question over the same text stays a paraphrase.
  const allowed: [string, string][] = [
    [`${STAFF}\nWhich team does Chloe Weber lead?`, `${STAFF}\nWhat team does Chloe Weber lead?`],
    [`${CATALOGUE}\nHow much does the Orion standing desk cost?`, `${CATALOGUE}\nHow much does the Orion standing desk cost ?`],
    [`${LEAVE}\nHow long is parental leave?`, `${LEAVE}\nHow long is parental leave, please?`],
    [`${PARSER}\nWrite a unit test for parse_config.`, `${PARSER}\nPlease write a unit test for parse_config.`],
    // The text re-indented or with its sentences on other lines is the same text.
    [`${RECIPE}\nHow long should the dough rise?`, `${RECIPE.replaceAll('. ', '.\n')}\nHow long should the dough rise?`],
    [`${RECIPE}\nThanks!`, RECIPE],
  ];
  for (const [cached, query] of allowed) {
    it(`allows "${query.slice(-50)}" for "${cached.slice(-50)}"`, () => assert.equal(verdict(cached, query), undefined));
  }

  it('sets aside the sentences and lines both prompts have, as a multiset, and keeps the rest in order', () => {
    assert.deepEqual(differingRegions('A doc. It has lines.\nWhat is in it?', 'A doc. It has lines.\nWhat is not in it? Be brief.'), {
      asked: 'What is in it?',
      cached: 'What is not in it?\nBe brief.',
      sharedDominates: false,
      reindented: false,
    });
    assert.deepEqual(differingRegions('Hi. Hi. Who?', 'Hi. Who? Why?'), {
      asked: 'Hi.',
      cached: 'Why?',
      sharedDominates: true,
      reindented: false,
    });
  });

  it('leaves wording to the embedder where the shared text is the smaller part', () => {
    assert.equal(verdict('Hello. What is the currency of Chile?', 'Hello. Which currency is used in Chile?'), undefined);
    assert.equal(verdict(`${RECIPE}\nWhat is the currency of Chile?`, `${RECIPE}\nWhich currency is used in Chile?`), 'qualifier');
  });

  it('judges whole prompts that share no sentence, or share all of them in another order', () => {
    assert.equal(differingRegions('What is 2+2?', 'What is 2+3?'), undefined);
    assert.equal(differingRegions('I cannot log in. Why?', 'Why? I cannot log in.'), undefined);
  });
});

// Found by an independent check (cache26): a name added on one side changes the answer to another place's,
// language's or platform's. Refused in both directions.
describe('semantic guard: a name on one side only', () => {
  const refused: [string, string][] = [
    // The checker's pairs.
    ['What is the capital of Georgia?', 'What is the capital of Georgia in the US?'],
    ['What is the emergency phone number in Australia?', 'What is the emergency phone number?'],
    ['How do I write hello world?', 'How do I write hello world in Go?'],
    ['What is the voltage of a wall socket in the UK?', 'What is the voltage of a wall socket?'],
    // Written for this fix.
    ['What is the minimum wage?', 'What is the minimum wage in Canada?'],
    ['How do I install Docker on Ubuntu?', 'How do I install Docker?'],
    ['How do I clear the cache?', 'How do I clear the cache in Firefox?'],
    ['How do I reverse a list in Python?', 'How do I reverse a list?'],
    ['Which side of the road do people drive on?', 'Which side of the road do people drive on in Japan?'],
    ['How much VAT is charged on books?', 'How much VAT is charged on books in Germany?'],
    // A first name added is refused too: "Mexico" / "New Mexico" is the same shape (a hit lost).
    ['Was Einstein married?', 'Was Albert Einstein married?'],
    // A name the question adds that the rest of the prompt says too: counted, not looked up.
    ['Python and Rust both have lists. How do I sort a list?', 'Python and Rust both have lists. How do I sort a list in Rust?'],
  ];
  for (const [cached, query] of refused) {
    it(`refuses "${query}" for "${cached}"`, () => assert.equal(verdict(cached, query), 'entities'));
  }

  const allowed: [string, string][] = [
    ['What is the capital of France?', "What's France's capital?"],
    ['How do I install Docker on Ubuntu?', 'On Ubuntu, how do I install Docker?'],
    ['How do I reverse a list in Python?', 'How can I reverse a list in Python?'],
    // A capitalised "The" is a name once on each side, whatever the lower-case "the"s.
    ['Summarize the plot of The Hobbit', 'Give me a summary of The Hobbit'],
  ];
  for (const [cached, query] of allowed) {
    it(`allows "${query}" for "${cached}"`, () => assert.equal(verdict(cached, query), undefined));
  }
});
