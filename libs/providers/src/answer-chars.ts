import type { ProviderType } from '@gateway/config';

/**
 * The keys whose string values are an answer's output, by the protocol it is written in: OpenAI's
 * chat completion and its chunks (text, a refusal, tool-call arguments, a server's visible
 * reasoning), or Anthropic's own Messages answer (text and thinking blocks, a tool call's `input`,
 * its stream's `partial_json`). Ids, model names, roles, signatures and usage are not output.
 */
const OUTPUT_KEYS: Record<'chat' | 'anthropic', readonly Buffer[]> = {
  chat: keys('content', 'refusal', 'arguments', 'reasoning_content', 'reasoning'),
  anthropic: keys('text', 'thinking', 'partial_json', 'input'),
};

/** Each key with its opening quote, as bytes. */
function keys(...names: string[]): Buffer[] {
  return names.map((name) => Buffer.from(`"${name}`));
}

const COLON = 0x3a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The characters of output in `text`, whole JSON answers or whole SSE events (the stream's chunks):
 * the decoded length of the output keys' string values (an escape is one character, and so is a
 * code point), and of a tool call's `input` object as written. A stream's chunks and the JSON
 * answer of the same output measure alike, so an estimate from them (accounting.ts) does not
 * depend on streaming, nor on the envelope (ids, model, usage) around the output. Reads bytes
 * without parsing: a key is found by its closing `":`, which cannot occur inside a JSON string (its
 * quotes are escaped there); a key written with a space before its colon is not read (no server we
 * know writes one). A chunk the gateway wrote as a string is read as its UTF-8 bytes, one code path.
 */
export function answerChars(text: string | Uint8Array, protocol: ProviderType | undefined): number {
  const bytes =
    typeof text === 'string' ? Buffer.from(text) : Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.length);
  const wanted = OUTPUT_KEYS[protocol === 'anthropic' ? 'anthropic' : 'chat'];
  const count = { chars: 0 };
  // A loop of our own, not Buffer.indexOf: a chunk holds a dozen keys, and a native call each cost more than the scan.
  let i = 1;
  while (i < bytes.length) {
    if (bytes[i] !== COLON || bytes[i - 1] !== QUOTE || !isOutputKey(bytes, i - 1, wanted)) {
      i++;
      continue;
    }
    i++;
    while (i < bytes.length && isJsonSpace(bytes[i])) i++;
    if (bytes[i] === QUOTE) i = stringValue(bytes, i, count);
    else if (bytes[i] === OPEN_BRACE) i = objectValue(bytes, i, count);
  }
  return count.chars;
}

/** True when one of `wanted` (with its opening quote) ends at `quote`, the key's closing quote. */
function isOutputKey(bytes: Buffer, quote: number, wanted: readonly Buffer[]): boolean {
  for (const key of wanted) {
    const start = quote - key.length;
    if (start < 0) continue;
    let i = 0;
    while (i < key.length && bytes[start + i] === key[i]) i++;
    if (i === key.length) return true;
  }
  return false;
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Adds the decoded length of the string starting at `open` (its quote) to `count`; returns where it ends (past its closing quote). */
function stringValue(bytes: Buffer, open: number, count: { chars: number }): number {
  let chars = 0;
  let i = open + 1;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i++;
      break;
    }
    if (byte === BACKSLASH) {
      chars++;
      i += bytes[i + 1] === 0x75 /* u */ ? 6 : 2;
      continue;
    }
    // A UTF-8 continuation byte is part of the character before it.
    if ((byte & 0xc0) !== 0x80) chars++;
    i++;
  }
  count.chars += chars;
  return i;
}

/** Adds the length of the object starting at `open` as written (without whitespace, its strings decoded) to `count`; returns where it ends. */
function objectValue(bytes: Buffer, open: number, count: { chars: number }): number {
  let chars = 0;
  let depth = 0;
  let i = open;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i = stringValue(bytes, i, count);
      chars += 2;
      continue;
    }
    if (!isJsonSpace(byte)) chars++;
    i++;
    if (byte === OPEN_BRACE) depth++;
    else if (byte === CLOSE_BRACE && --depth === 0) break;
  }
  count.chars += chars;
  return i;
}
