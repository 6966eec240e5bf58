/**
 * The longest upstream request id kept for the access line: the vendors' are 30-60 characters; a longer value (an
 * undici header may be 16 KB) is no id to look a request up by, and would only swell the log.
 */
const MAX_ID_LENGTH = 200;

/** Tells `note` (CallContext.upstreamId) the upstream's id for the request from its answer's header, when it gave one. */
export function noteUpstreamId(header: string | string[] | undefined, note: ((id: string) => void) | undefined): void {
  if (note && typeof header === 'string' && header && header.length <= MAX_ID_LENGTH) note(header);
}
