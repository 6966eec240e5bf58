import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guard, promptFacts } from '../../libs/cache/src/guard';
import { loadPromptPairs } from '../support/cache-pairs';

const verdict = (cached: string, query: string) => guard(promptFacts(query), promptFacts(cached));

describe('semantic guard', () => {
  const refusals: [string, string, string][] = [
    ['what is 2+2', 'what is 2+3', 'numbers'],
    ['what is two plus two', 'what is 2 - 2', 'numbers'],
    ['Who won the World Cup in 2014?', 'Who won the World Cup in 2018?', 'numbers'],
    ['Convert 5 miles to km', 'Convert 5 km to miles', 'units'],
    ['What is 10 euros in dollars?', 'What is 10 dollars in euros?', 'units'],
    ['can I return shoes', "can't I return shoes", 'negation'],
    ['Recipes with gluten', 'Recipes without gluten', 'negation'],
    ['What is the capital of France?', 'What is the capital of Germany?', 'entities'],
    ['Is Paris bigger than London?', 'Is London bigger than Paris?', 'entities'],
    ['How do I install Java 8?', 'How do I install Java 17?', 'numbers'],
    ['How do I buy a house?', 'How do I sell a house?', 'key-terms'],
    ['convert a string to an integer', 'convert an integer to a string', 'key-terms'],
    ['When did the Roman Empire fall?', 'Why did the Roman Empire fall?', 'key-terms'],
  ];
  for (const [cached, query, reason] of refusals) {
    it(`refuses "${query}" for "${cached}" (${reason})`, () => assert.equal(verdict(cached, query), reason));
  }

  const allowed: [string, string][] = [
    ['What is the capital of France?', 'capital of france?'],
    ['What is 2+2?', 'what is two plus two'],
    ['How do I create a new branch in Git?', 'Create a new branch in git'],
    ['Who painted the Mona Lisa?', 'Who is the painter of the Mona Lisa?'],
    ['How do I fix a flat tire?', 'How can I repair a flat tire?'],
    ['Is 1,000 more than 999.50?', 'is 1000 more than 999.5'],
  ];
  for (const [cached, query] of allowed) {
    it(`allows "${query}" for "${cached}"`, () => assert.equal(verdict(cached, query), undefined));
  }

  it('refuses every hard negative of the held-out set (written after the rules were frozen)', () => {
    const negatives = loadPromptPairs('cache-pairs-holdout.tsv').filter((p) => p.kind !== 'paraphrase');
    assert.ok(negatives.length >= 30);
    const served = negatives.filter((p) => !verdict(p.a, p.b));
    assert.deepEqual(served, []);
  });

  it('the labelled set has at least 300 pairs with every kind of hard negative', () => {
    const pairs = loadPromptPairs();
    assert.ok(pairs.length >= 300, `${pairs.length} pairs`);
    for (const kind of ['paraphrase', 'number', 'entity', 'negation', 'unit', 'key-term']) {
      assert.ok(pairs.filter((p) => p.kind === kind).length >= 30, kind);
    }
  });
});
