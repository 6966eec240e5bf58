import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { CustomTool } from 'openai/resources/responses/responses';

/**
 * Custom tools (free-text input, optionally bound by a grammar) as the function every provider
 * can call: one required string parameter, `input`, that carries the text. Only OpenAI's own
 * models take custom tools, and a model group may fail over to any provider after this codec ran,
 * so every provider gets the function; the format is told in the description, as no other vendor
 * constrains a call's text by a Lark or regex grammar.
 */
const INPUT = 'input';

export function customToolFunction(tool: CustomTool, chatName: string): ChatCompletionFunctionTool {
  const description = [tool.description, formatNote(tool.format)].filter(Boolean).join('\n\n');
  return {
    type: 'function',
    function: {
      name: chatName,
      description,
      parameters: {
        type: 'object',
        properties: { [INPUT]: { type: 'string', description: 'The whole input of the tool, as free text (not JSON).' } },
        required: [INPUT],
        additionalProperties: false,
      },
    },
  };
}

function formatNote(format: CustomTool['format']): string {
  if (format?.type !== 'grammar') return `Call this tool with its input as plain text in \`${INPUT}\`.`;
  return `Call this tool with its input as plain text in \`${INPUT}\`; the text must match this ${format.syntax} grammar:\n${format.definition}`;
}

/** A custom tool call from history as the arguments of the function call it was. */
export function customArguments(input: string): string {
  return JSON.stringify({ [INPUT]: input });
}

/**
 * The text of a call to a custom tool's function (none when the call has no arguments). Arguments
 * that are not `{"input": "…"}` (a model that ignored the schema) are passed on as they are, so
 * the tool still gets what the model wrote.
 */
export function customInput(args: string): string {
  let value: Record<string, unknown> | null;
  try {
    value = JSON.parse(args || '{}') as Record<string, unknown> | null;
  } catch {
    return args;
  }
  if (typeof value?.[INPUT] === 'string') return value[INPUT];
  return value && typeof value === 'object' && !Object.keys(value).length ? '' : args;
}

/**
 * The `input` string of a custom tool's function arguments decoded as they stream in, so its
 * text streams as `response.custom_tool_call_input.delta` events. An escape sequence split
 * between fragments (and a UTF-16 surrogate pair) waits for its end.
 */
export class CustomInputStream {
  private raw = '';
  /** Where the next undecoded character of the value is in `raw`, once its opening quote came. */
  private at = -1;
  private ended = false;

  /** The text of the value that `fragment` completes. */
  push(fragment: string): string {
    this.raw += fragment;
    if (this.at < 0) {
      const start = /"input"\s*:\s*"/.exec(this.raw);
      if (!start) return '';
      this.at = start.index + start[0].length;
    }
    if (this.ended) return '';
    const end = this.decodableEnd();
    try {
      const text = JSON.parse(`"${this.raw.slice(this.at, end)}"`) as string;
      this.at = end;
      return text;
    } catch {
      // Not JSON (a raw control character, a bad escape): the text is only known once the call ends.
      this.ended = true;
      return '';
    }
  }

  /** The end of the whole characters after `at`: before the closing quote or an unfinished escape. */
  private decodableEnd(): number {
    let i = this.at;
    while (i < this.raw.length) {
      const c = this.raw[i];
      if (c === '"') {
        this.ended = true;
        return i;
      }
      const length = c === '\\' ? this.escapeLength(i) : 1;
      if (length === 0) return i;
      i += length;
    }
    return i;
  }

  /** The length of the escape at `i` (a surrogate pair's two escapes together), 0 while it is unfinished. */
  private escapeLength(i: number): number {
    const length = this.raw[i + 1] === 'u' ? 6 : 2;
    if (i + length > this.raw.length) return 0;
    if (length === 2 || !HIGH_SURROGATE.test(this.raw.slice(i, i + length))) return length;
    if (i + 8 > this.raw.length) return 0;
    if (!this.raw.startsWith('\\u', i + 6)) return length;
    return i + 12 > this.raw.length ? 0 : 12;
  }
}

const HIGH_SURROGATE = /^\\u[dD][89abAB]/;
