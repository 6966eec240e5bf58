/** What a header value may carry as it is: visible ASCII and space, except `%` (the escape itself). */
const UNSAFE = /[^\x20-\x24\x26-\x7e]/gu;

/**
 * A value the gateway takes from its config or an upstream (an upstream model id, a task rule's
 * name, an upstream's error code) made fit for a response header: every other character is
 * percent-encoded as UTF-8 (`usage-模型` → `usage-%E6%A8%A1%E5%9E%8B`), `%` too, so
 * decodeURIComponent() gives the value back. Node refuses to send a header holding a line
 * break or a character beyond Latin-1, which would fail the response.
 */
export function headerValue(value: string): string {
  return isSafe(value) ? value : value.replace(UNSAFE, (c) => Buffer.from(c).toString('hex').toUpperCase().replace(/../g, '%$&'));
}

// The usual value needs no escape: a loop tells so for less than the replace's setup.
function isSafe(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25 /* % */) return false;
  }
  return true;
}
