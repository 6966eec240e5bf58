import type { ProviderType } from '@gateway/config';
import { codePointWeight } from './token-estimate';

/**
 * The keys whose string values are an answer's output, by the protocol it is written in: OpenAI's
 * chat completion and its chunks (text, a refusal, tool-call arguments, a server's visible
 * reasoning), or Anthropic's own Messages answer (text and thinking blocks, a tool call's `input`,
 * its stream's `partial_json`). Ids, model names, roles, signatures and usage are not output.
 */
const OUTPUT_KEYS: Record<'chat' | 'anthropic', RegExp> = {
  chat: keys('content', 'refusal', 'arguments', 'reasoning_content', 'reasoning'),
  anthropic: keys('text', 'thinking', 'partial_json', 'input'),
};

/** The keys as written, quotes and colon: `"content":` (global: the search starts at `lastIndex`). */
function keys(...names: string[]): RegExp {
  return new RegExp(`"(?:${names.join('|')})":`, 'g');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The size of the output in `text`, whole JSON answers or whole SSE events (the stream's chunks), in
 * quarter tokens as token-estimate.ts weighs text: the output keys' string values decoded (an escape is
 * one character, and so is a code point; each weighed by its script), and a tool call's `input` object as
 * written. A stream's chunks and the JSON answer of the same output measure alike, so an estimate from them (accounting.ts) does not
 * depend on streaming, nor on the envelope (ids, model, usage) around the output. Reads bytes
 * without parsing: a key is found as `"name":`, which cannot occur inside a JSON string (its
 * quotes are escaped there); a key written with a space before its colon is not read (no server we
 * know writes one). A chunk the gateway wrote as a string is read as its UTF-8 bytes, one code path.
 *
 * Keys are found by a regular expression over the bytes read as Latin-1 (a character a byte, so
 * its offsets are the bytes'), not by a loop of our own over every byte: the bytes are mostly
 * envelope, and that loop was ~35 µs of CPU per streamed answer of the benchmark (13 chunks of
 * 3.7 KB; ~19 µs this way in a loop on the same host, ~30 by Buffer#indexOf, a native call a key).
 */
export function answerWeight(text: string | Uint8Array, protocol: ProviderType | undefined): number {
  const bytes =
    typeof text === 'string' ? Buffer.from(text) : Buffer.isBuffer(text) ? text : Buffer.from(text.buffer, text.byteOffset, text.length);
  const key = OUTPUT_KEYS[protocol === 'anthropic' ? 'anthropic' : 'chat'];
  const latin1 = bytes.toString('latin1');
  const count = { weight: 0 };
  key.lastIndex = 0;
  while (key.exec(latin1) !== null) {
    let i = key.lastIndex;
    while (i < bytes.length && isJsonSpace(bytes[i])) i++;
    if (bytes[i] === QUOTE) i = stringValue(bytes, i, count);
    else if (bytes[i] === OPEN_BRACE) i = objectValue(bytes, i, count);
    key.lastIndex = i;
  }
  return count.weight;
}

/** An OpenAI chunk's tool call opening: `"tool_calls":[{`, spaces allowed where JSON allows them. */
const TOOL_CALL_OPENS = /"tool_calls":\s*\[\s*\{/;

/**
 * Whether a chunk opens a tool call (OpenAI's chunks): its first fragment names the function, and the
 * arguments, which answerWeight counts, may begin only in the next. Output, for the time to first
 * token (prime-stream.ts asks it only of the chunks before the first that has output).
 */
export function opensToolCall(text: string | Uint8Array): boolean {
  return TOOL_CALL_OPENS.test(typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.length).toString('latin1'));
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Adds the weight of the string starting at `open` (its quote), decoded, to `count`; returns where it ends (past its closing quote). */
function stringValue(bytes: Buffer, open: number, count: { weight: number }): number {
  let weight = 0;
  let i = open + 1;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i++;
      break;
    }
    if (byte === BACKSLASH) {
      const unicode = bytes[i + 1] === 0x75; /* u */
      // \uXXXX: the code unit it names (a surrogate half weighs half of its pair's character); any other escape is ASCII.
      weight += unicode ? codePointWeight(hexAt(bytes, i + 2)) : 1;
      i += unicode ? 6 : 2;
      continue;
    }
    // A UTF-8 lead byte weighs its character, its continuation bytes nothing (read one by one: invalid UTF-8 hides no quote).
    if (byte < 0x80) weight++;
    else if (byte >= 0xc0) weight += codePointWeight(codePointAt(bytes, i));
    i++;
  }
  count.weight += weight;
  return i;
}

/** Each byte's value as a hex digit (a byte that is none: 0, as the weight is all it is read for). */
const HEX = new Uint8Array(256);
for (let d = 0; d < 16; d++) HEX[d.toString(16).charCodeAt(0)] = HEX[d.toString(16).toUpperCase().charCodeAt(0)] = d;

/** The code unit of the 4 hex digits at `i`. */
function hexAt(bytes: Buffer, i: number): number {
  return (HEX[bytes[i]] << 12) | (HEX[bytes[i + 1]] << 8) | (HEX[bytes[i + 2]] << 4) | HEX[bytes[i + 3]];
}

/** The code point of the UTF-8 sequence whose lead byte is at `i` (one of 4 bytes only needs to be past the BMP). */
function codePointAt(bytes: Buffer, i: number): number {
  const lead = bytes[i];
  if (lead >= 0xf0) return 0x10000;
  const tail = bytes[i + 1] & 0x3f;
  return lead < 0xe0 ? ((lead & 0x1f) << 6) | tail : ((lead & 0x0f) << 12) | (tail << 6) | (bytes[i + 2] & 0x3f);
}

/** Adds the weight of the object starting at `open` as written (without whitespace, its strings decoded) to `count`; returns where it ends. */
function objectValue(bytes: Buffer, open: number, count: { weight: number }): number {
  let weight = 0;
  let depth = 0;
  let i = open;
  while (i < bytes.length) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i = stringValue(bytes, i, count);
      weight += 2;
      continue;
    }
    if (!isJsonSpace(byte)) weight++;
    i++;
    if (byte === OPEN_BRACE) depth++;
    else if (byte === CLOSE_BRACE && --depth === 0) break;
  }
  count.weight += weight;
  return i;
}
