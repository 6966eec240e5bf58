import { type Reading, readFigures as read } from './vendor-wording';

/**
 * A prompt over a model's context window: what vendors report in words of their own, and what each
 * ingress words as its vendor does, since clients act on the words (LangChain's ChatOpenAI on "maximum
 * context length", its ChatAnthropic and Claude Code on "prompt is too long"), not only on the code.
 */

/** The figures the vendor's text (or the gateway's estimate) gave: prompt and completion tokens, and the window. */
export interface ContextOverflow {
  prompt?: number;
  /** Set when the completion budget counted against the window (the prompt alone may fit). */
  completion?: number;
  window?: number;
}

/** Anthropic's wordings (kept as they are on the Messages API ingress). */
const ANTHROPIC: Reading<ContextOverflow>[] = [
  // "prompt is too long: 208310 tokens > 200000 maximum"
  [/^prompt is too long: (\d+) tokens > (\d+) maximum/, (n) => ({ prompt: n(1), window: n(2) })],
  // "input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, …"
  [
    /^input length and `max_tokens` exceed context limit: (\d+) \+ (\d+) > (\d+)/,
    (n) => ({ prompt: n(1), completion: n(2), window: n(3) }),
  ],
];

/** OpenAI's wordings (kept as they are on the OpenAI ingresses); vLLM and other OpenAI-format servers use them too. */
const OPENAI: Reading<ContextOverflow>[] = [
  // "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. …"
  [/maximum context length is (\d+) tokens\. However, your messages resulted in (\d+) tokens/, (n) => ({ prompt: n(2), window: n(1) })],
  // "… is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). …"
  [
    /maximum context length is (\d+) tokens\. However, you requested \d+ tokens \((\d+) in the messages, (\d+) in the completion\)/,
    (n) => ({ prompt: n(2), completion: n(3), window: n(1) }),
  ],
  // vLLM: "'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is
  // 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235)."
  [
    /maximum context length is (\d+) tokens and your request has (\d+) input tokens \((\d+) > /,
    (n) => ({ prompt: n(2), completion: n(3), window: n(1) }),
  ],
  [/maximum context length is (\d+) tokens/, (n) => ({ window: n(1) })],
];

const GEMINI: Reading<ContextOverflow>[] = [
  // "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576)."
  [/^The input token count \((\d+)\) exceeds the maximum number of tokens allowed \((\d+)\)/, (n) => ({ prompt: n(1), window: n(2) })],
];

/** The figures of a vendor's message for a prompt over the context window; undefined when it is no such message. */
export function readOverflow(message: string): ContextOverflow | undefined {
  return read(message, ANTHROPIC) ?? read(message, GEMINI) ?? read(message, OPENAI);
}

/**
 * In OpenAI's words, the original text after them (unless it is OpenAI's): "This model's maximum
 * context length is N tokens. However, your messages resulted in M tokens…", or, without the figures,
 * a sentence that says "maximum context length".
 */
export function inOpenAiWords(message: string, { prompt, completion, window }: ContextOverflow): string {
  if (read(message, OPENAI)) return message;
  const sentence =
    prompt === undefined || window === undefined
      ? "The request exceeds this model's maximum context length."
      : completion === undefined
        ? `This model's maximum context length is ${window} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`
        : `This model's maximum context length is ${window} tokens. However, you requested ${prompt + completion} tokens (${prompt} in the messages, ${completion} in the completion). Please reduce the length of the messages or completion.`;
  return `${sentence} ${message}`;
}

/**
 * In Anthropic's words, the original text after them (unless it is Anthropic's): "prompt is too long:
 * N tokens > M maximum" when the prompt alone is over the window (or the budget is not known), "input
 * length and `max_tokens` exceed context limit: N + C > M, …" when the completion budget put it over.
 */
export function inAnthropicWords(message: string, { prompt, completion, window }: ContextOverflow): string {
  if (read(message, ANTHROPIC)) return message;
  if (prompt === undefined || window === undefined) return `prompt is too long: ${message}`;
  const sentence =
    completion === undefined || prompt > window
      ? `prompt is too long: ${prompt} tokens > ${window} maximum`
      : `input length and \`max_tokens\` exceed context limit: ${prompt} + ${completion} > ${window}, decrease input length or \`max_tokens\` and try again`;
  return `${sentence}. ${message}`;
}

/**
 * A vendor's client error code, or OpenAI's `context_length_exceeded` when its message says the
 * prompt is over the context window (clients act on the code: Codex compacts its conversation),
 * with the figures the message gave.
 */
export function clientErrorCode(code: string | null, message: string): { code: string | null; overflow?: ContextOverflow } {
  if (code === 'context_length_exceeded') return { code, overflow: readOverflow(message) ?? {} };
  const overflow = code ? undefined : readOverflow(message);
  return overflow ? { code: 'context_length_exceeded', overflow } : { code };
}
