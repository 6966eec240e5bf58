/** A character beyond Latin-1: one of them makes V8 keep the whole string at two bytes a character. */
const TWO_BYTE = /[^\u0000-\u00ff]/;

/** What an in-process store's entry costs besides its text: Map slot, object, key and expiry. */
export const ENTRY_OVERHEAD_BYTES = 256;

/**
 * The memory a string takes in V8, near enough: one byte a character, or two for every character once
 * one needs more than Latin-1 (a single ’ or emoji doubles a mostly English text). Counted in UTF-16
 * units or UTF-8 bytes, the in-process stores held 2.1–2.2× their maxMemoryMb of such text.
 */
export function heldBytes(text: string): number {
  return text.length * (TWO_BYTE.test(text) ? 2 : 1);
}
