/**
 * The first `max` UTF-16 units of `text`, one fewer where the cut would fall between the two halves of a surrogate pair
 * (an emoji): a lone half in a JSON string is no character, and strict UTF-8 readers (Python's, log shippers) fail on it.
 */
export function textStart(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}
