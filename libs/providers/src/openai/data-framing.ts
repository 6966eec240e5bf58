import { isSpace } from './json-bytes';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const COLON = 0x3a;
const D = 0x64;
const A = 0x61;
const T = 0x74;
const DONE = '[DONE]';
const TAB = 0x09;
const QUOTE = 0x22;
/** The bytes a JSON value can end with, 1 at their code: `"`, `}`, `]`, digits, `e` (true, false), `l` (null). */
const VALUE_END = new Uint8Array(128);
for (const byte of Buffer.from('"}]0123456789el')) VALUE_END[byte] = 1;

/**
 * Whether every event with data among `events` (SSE events, each line ended by an LF or a CRLF) holds what
 * an OpenAI client can parse: data framed as a JSON object (`{"` … `}`, framed), or `[DONE]`.
 * Read on the bytes, a search for each line's end and a few compares an event, not a parse: a proxy's
 * HTML or text, a JSON object cut short and a bare word fail it; a well-formed object of the wrong shape,
 * or `{"` … `}` with something broken between them, passes (the pass-through forwards its events unread;
 * parsing each cost ~60 µs a stream on the bench's 13 events, docs/providers.md). Events without data
 * (comments, `event:` lines alone) pass: a client dispatches none. The bytes after the last blank line, if
 * any, are checked as an event.
 */
export function dataFramedAsJson(events: Buffer): boolean {
  /** The event has a data line; where its data's first and last non-space bytes are (-1: none yet). */
  let data = false;
  let first = -1;
  let last = -1;
  /** Where the last non-blank data line's value starts. */
  let lastLine = -1;
  let at = 0;
  while (at < events.length) {
    // One search a line; a blank line is seen from the bytes after the line's end, not searched for.
    let lineEnd = events.indexOf(LF, at);
    if (lineEnd < 0) lineEnd = events.length;
    let value = dataValue(events, at, events[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd);
    if (value >= 0) {
      data = true;
      let end = lineEnd;
      while (value < end && isSpace(events[value])) value++;
      while (end > value && isSpace(events[end - 1])) end--;
      if (value < end) {
        if (first < 0) first = value;
        last = end - 1;
        lastLine = value;
      }
    }
    at = lineEnd + 1;
    const blank = events[at] === LF ? 1 : events[at] === CR && events[at + 1] === LF ? 2 : 0;
    if (blank) {
      if (data && !framed(events, first, last, lastLine)) return false;
      data = false;
      first = -1;
      at += blank;
    }
  }
  return !data || framed(events, first, last, lastLine);
}

/** Where the value of the `data` field on the line [from, to) starts (after `data:` and one space), -1 for another line. */
function dataValue(bytes: Buffer, from: number, to: number): number {
  // Byte by byte: a Buffer method is a call into C++, which costs more than these compares.
  if (bytes[from] !== D || bytes[from + 1] !== A || bytes[from + 2] !== T || bytes[from + 3] !== A || from + 4 > to) return -1;
  const field = from + 4;
  // A line that is the field name alone is a data line with an empty value (SSE).
  if (field === to) return to;
  if (bytes[field] !== COLON) return -1;
  return bytes[field + 1] === SPACE ? field + 2 : field + 1;
}

/**
 * Whether the data from `first` to `last` (its first and last non-space bytes; -1: blank; `lastLine`: where the line of
 * `last` starts) is `[DONE]` or framed as a
 * JSON object: `{` … `}`, the byte after the brace the quote of a key (or the closing brace) and the byte before the
 * closing one the end of a value (a quote, a bracket, a digit, the `e` of true or false, the `l` of null). Where a line
 * ends next to a brace (data split over lines), that side is not looked at.
 */
function framed(bytes: Buffer, first: number, last: number, lastLine: number): boolean {
  if (first < 0) return false;
  if (bytes[first] === OPEN) {
    if (last <= first || bytes[last] !== CLOSE) return false;
    let after = first + 1;
    while (bytes[after] === SPACE || bytes[after] === TAB) after++;
    if (after === last) return true;
    let before = last - 1;
    while (before >= lastLine && (bytes[before] === SPACE || bytes[before] === TAB)) before--;
    return (bytes[after] === QUOTE || isLineEnd(bytes[after])) && (before < lastLine || VALUE_END[bytes[before]!] === 1);
  }
  if (last - first + 1 !== DONE.length) return false;
  for (let i = 0; i < DONE.length; i++) if (bytes[first + i] !== DONE.charCodeAt(i)) return false;
  return true;
}

function isLineEnd(byte: number | undefined): boolean {
  return byte === LF || byte === CR;
}
