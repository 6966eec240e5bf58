/** Reading JSON answers as bytes, without parsing them whole: the few checks the pass-through needs. */

export function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * Where the value after a key ending at `from` starts (past the colon and JSON whitespace,
 * `"usage": {` as well as `"usage":{`), or -1 when there is none before `end`.
 */
export function valueAt(bytes: Buffer, from: number, end = bytes.length): number {
  let i = from;
  while (i < end && isSpace(bytes[i])) i++;
  if (bytes[i] !== 0x3a /* : */) return -1;
  i++;
  while (i < end && isSpace(bytes[i])) i++;
  return i < end ? i : -1;
}

/** The first `key` in [from, end) whose value starts with `first` (its position in `bytes`), or -1. */
export function keyWithValue(bytes: Buffer, key: Buffer, first: number, from: number, end: number): number {
  for (let at = bytes.indexOf(key, from); at >= 0 && at < end; at = bytes.indexOf(key, at + 1)) {
    const value = valueAt(bytes, at + key.length, end);
    if (value >= 0 && bytes[value] === first) return at;
  }
  return -1;
}
