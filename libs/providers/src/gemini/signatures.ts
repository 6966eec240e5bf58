/**
 * Gemini's thought signature on a tool call: the model's reasoning context, which Gemini
 * wants back on the call next turn. On a chat tool call it travels as Google's
 * OpenAI-compatible API carries it, `extra_content.google.thought_signature`.
 */
export type SignedCall = { extra_content?: { google?: { thought_signature?: string } } };

export function thoughtSignatureOf(call: object | undefined): string | undefined {
  return (call as SignedCall | undefined)?.extra_content?.google?.thought_signature;
}

/** The fields that put a thought signature on a chat tool call. */
export function signedCall(signature: string): Required<SignedCall> {
  return { extra_content: { google: { thought_signature: signature } } };
}

/**
 * Messages and Responses API clients send back no field of a tool call but its id, name and
 * input; what they send back verbatim is a thinking block's `signature` (Anthropic's) and a
 * reasoning item's `encrypted_content`. So there a call's thought signature travels as a
 * thinking block of the gateway's own: its signature is this prefix, then the call id and the
 * thought signature as base64url JSON. `:` is outside base64's alphabet, so no signature
 * Anthropic made starts with it, and Anthropic is never sent one (isSignedThinking): it would
 * refuse the request with 400 "Invalid signature".
 */
const PREFIX = 'gateway-gemini:';

export interface CallSignature {
  callId: string;
  signature: string;
}

/** The thinking block that carries `signature` for the call `callId`. */
export function signatureBlock(callId: string, signature: string): { type: 'thinking'; thinking: string; signature: string } {
  const payload = Buffer.from(JSON.stringify({ callId, signature })).toString('base64url');
  return { type: 'thinking', thinking: '', signature: `${PREFIX}${payload}` };
}

export function isGatewaySignature(signature: unknown): boolean {
  return typeof signature === 'string' && signature.startsWith(PREFIX);
}

/** The call and thought signature a block of signatureBlock's carries; undefined for any other block. */
export function callSignatureOf(block: { type?: unknown; signature?: unknown }): CallSignature | undefined {
  if (block.type !== 'thinking' || !isGatewaySignature(block.signature)) return undefined;
  try {
    const { callId, signature } = JSON.parse(Buffer.from((block.signature as string).slice(PREFIX.length), 'base64url').toString('utf8'));
    return typeof callId === 'string' && typeof signature === 'string' ? { callId, signature } : undefined;
  } catch {
    // Not one the gateway made: no call gets it (Gemini then gets the placeholder).
    return undefined;
  }
}
