/**
 * The gateway's one estimate of a text's tokens, where no tokenizer answers: routing (context windows,
 * task rules, cost), a key's TPM reservation, the usage of an answer whose upstream reported none, and the
 * token-count endpoints' fallback. Most scripts run about 4 characters a token in today's tokenizers
 * (OpenAI's and Gemini's rule of thumb for English; gpt-4o's o200k has Russian, Arabic and Hindi near it
 * too); CJK ideographs, kana and hangul run denser: DeepSeek documents 0.6 token a Chinese character,
 * gpt-4o counts 0.6 to 0.7 for Chinese, Japanese and Korean, Claude's tokenizer more. They count half a
 * token each: an estimate errs low rather than high, because too low costs one attempt (a deployment that
 * refuses a prompt over its window is fallen back from, Executor) and too high refuses with no upstream
 * asked (a prompt that fits every window, a TPM reservation the key has room for). At 4 characters a token
 * for every script a 20,000-character Chinese prompt counted 5,000 and went to an 8k deployment; at a token
 * a character, one of 140,000 (85,000 tokens to gpt-4o) was refused by a 128k group without asking it.
 *
 * Sizes are in quarter tokens, so the texts of a request add up before one rounding (tokensOf).
 */

/** Quarter tokens per UTF-16 code unit beyond the rate of one: the loop adds only these. */
const EXTRA = new Uint8Array(0x10000);
/**
 * Half a token a character: hangul jamo, CJK radicals to unified ideographs (kana, bopomofo), Yi, hangul
 * syllables, compatibility and full-width forms; and each half of a surrogate pair (a character beyond the BMP:
 * CJK extensions B and on, emoji) so that it makes a token.
 */
const DENSE: [number, number][] = [
  [0x1100, 0x11ff],
  [0x2e80, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xdfff],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xffef],
];
for (const [from, to] of DENSE) EXTRA.fill(1, from, to + 1);

/** A code unit of DENSE: where the loop takes over from the regular expression. */
const DENSE_UNIT = /[\u1100-\u11ff\u2e80-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\udfff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]/g;
/** Code units the loop reads at a time: a block with none of DENSE hands back to the regular expression. */
const BLOCK = 64;

/**
 * `text`'s size in quarter tokens: at least one a code unit (never under 4 characters a token), and
 * never less for a longer text (a sum of per-unit weights). Linear and cheap on the hot path: text with
 * none of DENSE is skipped by a regular expression (native; on a string V8 stores a byte a character none
 * can match, so it returns at once), and the rest is read in blocks, without a branch a character (through
 * the spaces, digits and punctuation within CJK text: one search per stretch of it, not per character).
 */
export function textWeight(text: string): number {
  let weight = text.length;
  DENSE_UNIT.lastIndex = 0;
  while (DENSE_UNIT.exec(text) !== null) {
    let i = DENSE_UNIT.lastIndex - 1;
    for (;;) {
      const end = Math.min(i + BLOCK, text.length);
      let extra = 0;
      for (; i < end; i++) extra += EXTRA[text.charCodeAt(i)];
      weight += extra;
      if (extra === 0 || i === text.length) break;
    }
    DENSE_UNIT.lastIndex = i;
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
