/**
 * Claude Code's first system block, `x-anthropic-billing-header: cc_version=2.1.332.a1b; cc_entrypoint=cli; cch=a1b00;`:
 * its version, entry point and a hash, which change from session to session. Anthropic reads it (billing attribution),
 * and an Anthropic deployment gets the client's body as sent (NativeRequest). Translated for another vendor it is
 * tokens of no meaning at the front of the system prompt that change every session, so that vendor's prefix cache
 * missed the whole prompt; and the gateway's cache key, made from the translation, held it, so no session was
 * served an answer another had stored (the block changes no answer).
 */
const BILLING_HEADER = /^x-anthropic-billing-header: cc_version=[^;\s]+; cc_entrypoint=[^;\s]+(?:; [a-z_]+=[^;\s]*)*;?$/;

/**
 * The system blocks of a Messages request to translate, without Claude Code's billing header block: the first block,
 * only when its whole text is that one header line. Any other block, or text, is kept as it came.
 */
export function withoutBillingHeader<B extends { type: string; text: string }>(blocks: B[]): B[] {
  const first = blocks[0];
  return first?.type === 'text' && BILLING_HEADER.test(first.text) ? blocks.slice(1) : blocks;
}
