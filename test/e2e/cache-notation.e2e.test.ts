import { offlineEmbedderPairs } from '../support/cache';

/**
 * Found by an independent check (recheck29b): the embedders read a raised exponent as a digit ("2⁵" as "25"),
 * barely see where a code symbol stands ("list[1:]" / "list[:1]") and not at all a factorial's "!", and the guard
 * passed each pair (similarity 0.87 to 1): a question was served another number's or another slice's answer.
 * Each embedder the gateway ships, as both embed alike.
 */
offlineEmbedderPairs(
  'exponents, factorials and code symbols',
  [
    ['Is 25 an even number?', 'Is 2⁵ an even number?'],
    ['How much is 23?', 'How much is 2³?'],
    ['What is 106 written out in words?', 'What is 10⁶ written out in words?'],
    ['Compute 10 divided by 8', 'Compute 10! divided by 8!'],
    ['How many digits does 20 have?', 'How many digits does 20! have?'],
    ['What is 5?', 'What is 5!?'],
    ['What does list[1:] return in Python?', 'What does list[:1] return in Python?'],
    ['What does s[::2] return in Python?', 'What does s[2::] return in Python?'],
    ['What does a?.b do in JavaScript?', 'What does a.b do in JavaScript?'],
  ],
  [
    ['How much is 7³?', 'how much is 7³'],
    ['How many digits does 30! have?', 'how many digits does 30! have'],
    ['What does items[2:] return in Python?', 'what does items[2:] return in python'],
  ],
);
