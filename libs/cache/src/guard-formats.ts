/**
 * Date and time formats written with their fields' letters: "YYYY-MM-DD", "DD/MM/YYYY", "HH:mm:ss". Their
 * order and case are the answer ("YYYY-MM-DD" / "DD-MM-YYYY" need other regexes; "HH" / "hh" are 24 and 12
 * hours), yet the words the guard reads lose both: the hyphens split them, "mm" reads as millimetres and
 * letters are lower-cased. So they are read whole, as written, like code.
 */

/** One field: a year, month, day, hour, minute, second or fraction, one to four of its letter. */
const FIELD = String.raw`(?:Y{2,4}|y{2,4}|M{1,4}|D{1,4}|d{1,4}|H{1,2}|h{1,2}|m{1,2}|s{1,2}|S{1,3})`;
/** What joins two fields: a hyphen, slash, dot or colon, or ISO 8601's "T" between a date and a time, quoted or not. */
const SEPARATOR = String.raw`(?:[\-\/.:]|'?T'?)`;
/** Two fields or more joined by separators, standing alone: not "km/h" (no "k" field) nor part of a word. */
const FORMAT = new RegExp(String.raw`(?<![\p{L}\p{N}_])${FIELD}(?:${SEPARATOR}${FIELD})+(?![\p{L}\p{N}_])`, 'gu');
/** A year, day or hour of two letters or more: "mm/s", "mm/m" and "m/s" are units per unit. */
const ANCHOR_FIELD = /(?:^|[\-\/.:T'])(?:[Yy]{2,}|[Dd]{2,}|[Hh]{2})(?=$|[\-\/.:T'])/;

/** The formats in a text, in order, as written. A time with colons ("mm:ss") is one without a year, day or hour. */
export function readFormats(text: string): string[] {
  return [...text.matchAll(FORMAT)].map((m) => m[0]).filter((format) => ANCHOR_FIELD.test(format) || format.includes(':'));
}
