/**
 * One character that changes what a prompt asks but is neither a letter nor an ASCII digit: a symbol
 * (math ≤ ∑, currency, arrows, emoji…; not the backtick, which quotes code), a digit of another
 * script (٣), or a mark such as § ¶ † ′ ⌈. Prose punctuation is not one:
 * ASCII punctuation, quotes, dashes, sentence ends and ¡ ¿ vary between paraphrases of one question.
 * The offline embedders read most of these as their unknown token, so "x ≤ y" and "x ≥ y" embed alike
 * (a regex source: the guard tokenises with it, vocabulary coverage counts with it).
 */
export const SYMBOL = String.raw`[\p{S}--[\`]]|[\p{N}--[0-9]]|[[\p{P}--\p{ASCII}]--[\p{Quotation_Mark}\p{Terminal_Punctuation}\p{Dash}¡¿]]`;

const SYMBOLS = new RegExp(SYMBOL, 'gv');

export function countSymbols(text: string): number {
  return text.match(SYMBOLS)?.length ?? 0;
}
