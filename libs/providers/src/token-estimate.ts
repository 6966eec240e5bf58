/**
 * The gateway's one estimate of a text's tokens, where no tokenizer answers: routing (context windows,
 * task rules, cost), a key's TPM reservation, the usage of an answer whose upstream reported none, and the
 * token-count endpoints' fallback. Latin script runs about 4 characters a token (OpenAI's and Gemini's
 * published rule of thumb); CJK ideographs, kana and hangul about one a character or less (DeepSeek: 0.6
 * token a Chinese character; Cohere's tokenizer card: zh 1.1, ja 1.3, ko 2.0 characters a token; cl100k
 * about one or more), so they count a token each. Other scripts (Cyrillic, Greek, Arabic, Hebrew, Indic,
 * Thai…) fall between the newest tokenizers (Cohere: ar 3.6, hi 3.8 characters a token) and older ones
 * that spend a token or more on a character: 2 characters a token. At 4 characters a token for every
 * script, a Chinese prompt counted a third of its tokens and went to a deployment whose window it overflowed.
 *
 * Sizes are in quarter tokens, so the texts of a request add up before one rounding (tokensOf).
 */

/** Quarter tokens per UTF-16 code unit beyond the Latin rate of one (CHAR_WEIGHT - 1): the loop adds only these. */
const EXTRA = new Uint8Array(0x10000).fill(1);
/** Latin: ASCII, Latin-1, Latin Extended A and B, IPA, combining marks; Vietnamese; punctuation and symbols. */
const LATIN: [number, number][] = [
  [0x0000, 0x036f],
  [0x1e00, 0x1eff],
  [0x2000, 0x2e7f],
];
/** A token a character: hangul jamo, CJK radicals to unified ideographs (kana, bopomofo), Yi, hangul syllables, compatibility and full-width forms. */
const DENSE: [number, number][] = [
  [0x1100, 0x11ff],
  [0x2e80, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7ff],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xffef],
];
for (const [from, to] of LATIN) EXTRA.fill(0, from, to + 1);
for (const [from, to] of DENSE) EXTRA.fill(3, from, to + 1);
// A character beyond the BMP (CJK extensions B and on, emoji) is two code units: a token.

/** A code unit that is not Latin: where the loop takes over from the regular expression. */
const NOT_LATIN = /[^\u0000-\u036f\u1e00-\u1eff\u2000-\u2e7f]/g;
/** Code units the loop reads at a time: a block that is all Latin hands back to the regular expression. */
const BLOCK = 64;

/**
 * `text`'s size in quarter tokens: at least one a code unit (never under 4 characters a token), and
 * never less for a longer text (a sum of per-unit weights). Linear and cheap on the hot path: Latin text
 * is skipped by a regular expression (native; on a string V8 stores a byte a character none can match,
 * so it returns at once), and the rest is read in blocks, without a branch a character (through the
 * spaces, digits and punctuation within CJK text: one search per stretch of it, not per character).
 */
export function textWeight(text: string): number {
  let weight = text.length;
  NOT_LATIN.lastIndex = 0;
  while (NOT_LATIN.exec(text) !== null) {
    let i = NOT_LATIN.lastIndex - 1;
    for (;;) {
      const end = Math.min(i + BLOCK, text.length);
      let extra = 0;
      for (; i < end; i++) extra += EXTRA[text.charCodeAt(i)];
      weight += extra;
      if (extra === 0 || i === text.length) break;
    }
    NOT_LATIN.lastIndex = i;
  }
  return weight;
}

/** The size in quarter tokens of one code point (an answer's UTF-8 bytes, answer-weight.ts): as textWeight weighs it. */
export function codePointWeight(codePoint: number): number {
  return codePoint > 0xffff ? 4 : 1 + EXTRA[codePoint];
}

/** Tokens of a size in quarter tokens. */
export function tokensOf(weight: number): number {
  return Math.ceil(weight / 4);
}

/** The estimated tokens of one text. */
export function estimateTokens(text: string): number {
  return tokensOf(textWeight(text));
}
