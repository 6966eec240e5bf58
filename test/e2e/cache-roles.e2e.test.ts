import { offlineEmbedderPairs } from '../support/cache';

/**
 * Found by an independent check (hit33, D2, D4, D8): the embedders score a question with its roles traded
 * ("What eats a snake?" / "What does a snake eat?", "chocolate milk" / "milk chocolate") or in another tense
 * ("Will…" / "Did…", "coached" / "coaches") 0.88 to 0.99, and the guard passed each pair: a question was served
 * the other's answer. The same roles in the passive, and a list in the other order, are still served.
 */
offlineEmbedderPairs(
  'roles traded and another tense',
  [
    ['What eats a snake?', 'What does a snake eat?'],
    ['Did Brutus kill Caesar?', 'Was Brutus killed by Caesar?'],
    ['Is every square a rectangle?', 'Is every rectangle a square?'],
    ['How much caffeine is in chocolate milk?', 'How much caffeine is in milk chocolate?'],
    ['Will Bitcoin go up?', 'Did Bitcoin go up?'],
    ['Who coached the Lakers?', 'Who coaches the Lakers?'],
  ],
  [
    ['Did Brutus kill Caesar?', 'Was Caesar killed by Brutus?'],
    ['Should I use tabs or spaces?', 'Should I use spaces or tabs?'],
  ],
);
