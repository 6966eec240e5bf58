import { countSymbols } from '../symbols';

/** A piece of a tokenised prompt that the model's vocabulary has (not the unknown token). */
export interface KnownPiece {
  text: string;
  /** The piece begins a word (USE's "▁the"; a WordPiece piece without "##"). */
  startsWord: boolean;
}

/** Below this share of letters in learnt pieces a prompt is mostly spelt letter by letter or unseen. */
const MIN_LEARNT_SHARE = 0.5;

/**
 * Whether an embedding model sees enough of a prompt to place it among others, judged by its own
 * tokenizer. No letter may fall in the unknown token: the model sees none of them, so prompts that
 * differ only there embed alike (USE lite reads every Chinese, Japanese or Korean prompt as the same
 * few tokens, similarity 1). And at least half the letters and unseen symbols must be letters in pieces
 * the model learnt: words or word parts of two letters or more, or one-letter words. A script the model
 * was not trained on is spelt letter by letter from a handful of single-letter pieces (USE lite's
 * Cyrillic), which tells prompts apart no better than the unknown token; a prompt of emoji or math
 * symbols the model reads as its unknown token ("😀", "∑ ∏") has nothing else to be placed by.
 * A few unseen symbols among words are left to the guard, which compares them ("what does 😀 mean?").
 * `text`: the prompt as the tokenizer normalised it; `known`: its pieces but the unknown ones.
 */
export function representable(text: string, known: readonly KnownPiece[]): boolean {
  let seen = 0;
  let learnt = 0;
  let seenSymbols = 0;
  for (const piece of known) {
    const n = countLetters(piece.text);
    seen += n;
    seenSymbols += countSymbols(piece.text);
    if (n >= 2 || (n === 1 && piece.startsWord)) learnt += n;
  }
  const letters = countLetters(text);
  const unseenSymbols = countSymbols(text) - seenSymbols;
  return seen >= letters && learnt >= (letters + unseenSymbols) * MIN_LEARNT_SHARE;
}

function countLetters(text: string): number {
  return text.match(/\p{L}/gu)?.length ?? 0;
}
