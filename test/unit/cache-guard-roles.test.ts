import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardPrompts } from '../../libs/cache/src/guard';

/** The guard's verdict for a neighbour below the substitution threshold (every check applies). */
const verdict = (cached: string, query: string) => guardPrompts(query, cached, 0.9, 0.95);

describe('semantic guard: roles and tense', () => {
  const refusals: [string, string, string][] = [
    // The question word the subject on one side, the object on the other (hit33 D4).
    ['What eats a snake?', 'What does a snake eat?', 'direction'],
    ['Which animals do wolves hunt?', 'Which animals hunt wolves?', 'direction'],
    // The question word a preposition's object on one side only.
    ['What is glass made of?', 'What is made of glass?', 'direction'],
    // An agent after "by" against the active voice, in the same order.
    ['Did Brutus kill Caesar?', 'Was Brutus killed by Caesar?', 'direction'],
    // Two content words trading places, every other word kept (hit33 D4, D8).
    ['Is every square a rectangle?', 'Is every rectangle a square?', 'direction'],
    ['How much caffeine is in chocolate milk?', 'How much caffeine is in milk chocolate?', 'direction'],
    ['What does a nurse shark eat?', 'What does a shark nurse eat?', 'direction'],
    // The verb after the question word, past against present or the future (hit33 D2).
    ['Who coached the Lakers?', 'Who coaches the Lakers?', 'tense'],
    ['Who managed Manchester United?', 'Who manages Manchester United?', 'tense'],
    ['What company acquired GitHub?', 'What company will acquire GitHub?', 'tense'],
  ];
  for (const [cached, query, reason] of refusals) {
    it(`refuses "${query}" for "${cached}" (${reason})`, () => {
      assert.equal(verdict(cached, query), reason);
    });
  }

  const served: [string, string][] = [
    // The same roles in the passive; the same question asked of a plural.
    ['Did Brutus kill Caesar?', 'Was Caesar killed by Brutus?'],
    ['What does a snake eat?', 'What do snakes eat?'],
    ['Who killed Caesar?', 'Who was Caesar killed by?'],
    ['What is glass made of?', 'What is glass made from?'],
    ['Is every square a rectangle?', 'Are all squares rectangles?'],
    // Two modifiers side by side, one an adjective, in either order (recheck33c D1: refused once two words trading places were).
    ['Where can I buy fresh organic vegetables?', 'Where can I buy organic fresh vegetables?'],
    ['How do I wash a big black dog?', 'How do I wash a black big dog?'],
    ['What is a good light summer dessert?', 'What is a good summer light dessert?'],
    // A list or a comparison in either order.
    ['Should I use tabs or spaces?', 'Should I use spaces or tabs?'],
    ['What is the difference between milk chocolate and dark chocolate?', 'Dark chocolate vs milk chocolate: what is the difference?'],
    // The same ending; a verb's ending against an auxiliary is not compared.
    ['What company acquired GitHub?', 'Which company acquired GitHub?'],
    ['Who coaches the Lakers?', 'Who is the coach of the Lakers?'],
    ['Who created Python?', 'Who was the creator of Python?'],
  ];
  for (const [cached, query] of served) {
    it(`serves "${query}" for "${cached}"`, () => {
      assert.equal(verdict(cached, query), undefined);
    });
  }
});
