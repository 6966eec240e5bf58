import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guard, promptFacts } from '../../libs/cache/src/guard';
import { SETTINGS, SYNONYMS } from '../../libs/cache/src/guard-tables';

/** The verdict below the substitution threshold (every check applies, the word-swap one too) and above it. */
const verdicts = (cached: string, query: string) =>
  [0.9, 1].map((similarity) => guard(promptFacts(query), promptFacts(cached), similarity, 0.95));

/** Each pair in both orders: either side may be the cached one. */
const bothWays = (pairs: [string, string][]) =>
  pairs.flatMap(([a, b]): [string, string][] => [
    [a, b],
    [b, a],
  ]);

// Found by an independent check: "…in the fall" / "…in autumn" was refused, the synonym read in the one-side
// rule only, not where a different word stands on each side. A setting is one value in every rule.
describe('semantic guard: a setting in other words (SETTINGS)', () => {
  const served: [string, string][] = [
    ['When do leaves change color in the fall?', 'When do leaves change color in autumn?'],
    ['When do leaves change color in fall?', 'When do leaves change color in autumn?'],
    // The phrase moved to the front: the same terms, no swap.
    ['In the fall, when do leaves change color?', 'When do leaves change color in autumn?'],
    ['Is it safe to walk in Central Park at nighttime?', 'Is it safe to walk in Central Park at night?'],
    ['How much does it cost to get to the airport by cab?', 'How much does it cost to get to the airport by taxi?'],
    ['Can I get to the station by bicycle?', 'Can I get to the station by bike?'],
    ['How long does it take to get to Paris by airplane?', 'How long does it take to get to Paris by plane?'],
    // "metro" is also the Spanish metre: after a setting's opener, with no amount, it is the metro.
    ['How do I get to the airport by subway?', 'How do I get to the airport by metro?'],
    // Synonyms of the hand groups and of WordNet.
    ['How do I get to the airport by automobile?', 'How do I get to the airport by car?'],
    ['Where can I go on holiday in March?', 'Where can I go on vacation in March?'],
  ];
  for (const [cached, query] of bothWays(served)) {
    it(`serves "${query}" for "${cached}"`, () => assert.deepEqual(verdicts(cached, query), [undefined, undefined]));
  }

  // Another setting of the class on each side: a word swapped (below the substitution threshold), a setting
  // the other side lacks (above it).
  const refused: [string, string][] = [
    ['When do leaves change color in the fall?', 'When do leaves change color in spring?'],
    ['When do leaves change color in fall?', 'When do leaves change color in spring?'],
    ['Is it safe to walk in Central Park at nighttime?', 'Is it safe to walk in Central Park in the morning?'],
    ['How much does it cost to get to the airport by cab?', 'How much does it cost to get to the airport by bus?'],
    ['Can I get to the station by bicycle?', 'Can I get to the station by train?'],
    ['How long does it take to get to Paris by airplane?', 'How long does it take to get to Paris by train?'],
    ['How do I get to the airport by subway?', 'How do I get to the airport by bus?'],
    ['How do I get to the airport by metro?', 'How do I get to the airport by bus?'],
    ['How do I get to the airport by automobile?', 'How do I get to the airport by bus?'],
  ];
  for (const [cached, query] of bothWays(refused)) {
    it(`refuses "${query}" for "${cached}"`, () => assert.deepEqual(verdicts(cached, query), ['substitution', 'qualifier']));
  }

  it('refuses a setting added on one side, its synonym on both', () => {
    const cached = 'How do I get to the airport by cab?';
    const query = 'How do I get to the airport by taxi at night?';
    assert.deepEqual(verdicts(cached, query), ['qualifier', 'qualifier']);
    assert.deepEqual(verdicts(query, cached), ['qualifier', 'qualifier']);
  });

  // Every synonym the tables give a setting: SETTINGS' own and the hand groups' whose first word is a setting.
  const synonyms = [
    ...[...SETTINGS].filter(([word, setting]) => word !== setting),
    ...[...SYNONYMS].filter(([word, first]) => word !== first && SETTINGS.has(first)),
  ];
  it('reads every synonym of a setting as that setting, in either order, and no other setting', () => {
    assert.ok(synonyms.length >= 7);
    const ask = (word: string) => `Is it worth visiting Rome by ${word}?`;
    for (const [word, setting] of synonyms) {
      const other = setting === 'winter' ? 'summer' : 'winter';
      for (const [a, b] of bothWays([[ask(word), ask(setting)]])) {
        assert.deepEqual(verdicts(a, b), [undefined, undefined], `${a} / ${b}`);
      }
      for (const [a, b] of bothWays([[ask(word), ask(other)]])) {
        assert.deepEqual(verdicts(a, b), ['substitution', 'qualifier'], `${a} / ${b}`);
      }
    }
  });
});
