/** Word forms the guard compares by: a light stem, so "painted", "painting" and "paint" are one word. */

/** Plural to singular: "miles" → "mile", "kids" → "kid", "countries" → "country". */
export function plural(word: string): string {
  if (word.length <= 3 || !word.endsWith('s') || /(ss|us|is)$/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(ches|shes|xes|zes|sses)$/.test(word)) return word.slice(0, -2);
  return word.slice(0, -1);
}

/**
 * A light stem, so word forms compare equal: plural, then -ing / -ed and a final e ("painted",
 * "painting" → "paint"; "writing", "write" → "writ"; "running" → "run"). Not -er: "painter", "driver",
 * "printer" are other words than "painting", "drive", "print".
 */
export function stem(word: string): string {
  let base = plural(word);
  const suffix = /(ing|ed)$/.exec(base);
  if (suffix && base.length - suffix[0].length >= 4) {
    base = base.slice(0, -suffix[0].length);
    if (/([^aeiouls])\1$/.test(base)) base = base.slice(0, -1);
  }
  // British spelling doubles a final l ("cancelled", "travelling", "modelling"): one l in every long
  // enough word, so "cancell" is "cancel" as "install" is "instal".
  if (base.length > 4) base = base.replace(/ll$/, 'l');
  return base.length > 3 ? base.replace(/e$/, '') : base;
}
