import { type Reading, readFigures as read } from './vendor-wording';

/**
 * A completion budget over the most a model writes: what vendors report in words of their own, and
 * what each ingress words as its vendor does, since clients act on the words: Claude Code lowers
 * `max_tokens` to the model's cap and asks again only when the error reads as Anthropic's (its regex:
 * /^max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens for .+$/).
 */

/** The figures of such a refusal: the completion budget asked for, and the most the model writes. */
export interface OutputCap {
  asked: number;
  cap: number;
}

/** Anthropic's wording (kept as it is on the Messages API ingress). */
const ANTHROPIC: Reading<OutputCap>[] = [
  // "max_tokens: 64000 > 32000, which is the maximum allowed number of output tokens for claude-opus-4-20250514"
  [/^max_tokens: (\d+) > (\d+), which is the maximum allowed number of output tokens for /, (n) => ({ asked: n(1), cap: n(2) })],
];

/** OpenAI's wordings (kept as they are on the OpenAI ingresses); SGLang and other OpenAI-format servers use them too. */
const OPENAI: Reading<OutputCap>[] = [
  // "max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000."
  // (`max_completion_tokens is too large: …` when that was sent; SGLang's has no space after the first full stop)
  [
    /max_(?:completion_)?tokens is too large: (\d+)\. ?This model supports at most (\d+) completion tokens/,
    (n) => ({ asked: n(1), cap: n(2) }),
  ],
  // "Invalid 'max_tokens': integer above maximum value. Expected a value <= 16384, but got 50000 instead."
  [
    /Invalid 'max_(?:completion_|output_)?tokens': integer above maximum value\. Expected a value <= (\d+), but got (\d+) instead/,
    (n) => ({ asked: n(2), cap: n(1) }),
  ],
];

const GEMINI: Reading<OutputCap>[] = [
  // "Unable to submit request because it has a maxOutputTokens value of 131072 but the supported range is
  // from 1 (inclusive) to 65537 (exclusive). Update the value and try again."
  [
    /maxOutputTokens value of (\d+) but the supported range is from \d+ \(inclusive\) to (\d+) \(exclusive\)/,
    (n) => ({ asked: n(1), cap: n(2) - 1 }),
  ],
];

/** The figures of a vendor's message refusing a completion budget over the model's cap; undefined when it is no such message. */
export function readOutputCap(message: string): OutputCap | undefined {
  return read(message, ANTHROPIC) ?? read(message, GEMINI) ?? read(message, OPENAI);
}

/** The parameter OpenAI's words for an output cap name: `max_tokens is too large`, `Invalid 'max_completion_tokens'`. */
const OPENAI_PARAM = /(max_\w*tokens) is too large|Invalid '(max_\w*tokens)'/;

/**
 * In OpenAI's words, the original text after them (unless it is OpenAI's, naming `param`): "`param` is too
 * large: N. This model supports at most C completion tokens, whereas you provided N." `param`: the parameter
 * as the client's API names it; an OpenAI-format upstream's words name the one the gateway sent it.
 */
export function inOpenAiOutputWords(message: string, { asked, cap }: OutputCap, param: string): string {
  const named = OPENAI_PARAM.exec(message);
  if (named && (named[1] ?? named[2]) === param && read(message, OPENAI)) return message;
  return `${param} is too large: ${asked}. This model supports at most ${cap} completion tokens, whereas you provided ${asked}. ${message}`;
}

/**
 * In Anthropic's words, unless they are Anthropic's already: "max_tokens: N > C, which is the maximum
 * allowed number of output tokens for `model`". Nothing follows the model's name: Claude Code's regex
 * takes the message whole (to its end, with no line break), and a vendor's text may hold one.
 */
export function inAnthropicOutputWords(message: string, { asked, cap }: OutputCap, model: string): string {
  if (read(message, ANTHROPIC)) return message;
  return `max_tokens: ${asked} > ${cap}, which is the maximum allowed number of output tokens for ${model}`;
}
