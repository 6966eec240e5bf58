/**
 * Redis' connection error as the log gives it, with the likely cause when REDIS_URL's scheme may not match what the
 * server speaks: `rediss://` to a plain Redis gets no answer to its TLS handshake (the server waits for the end of a
 * command line) and times out; `redis://` to a TLS port has its connection reset at once (redis-server 7).
 */
export function connectionError(error: Error, tls: boolean): string {
  const message = error.message;
  if (tls && /\bETIMEDOUT\b/.test(message))
    return `${message} (REDIS_URL is rediss://: the TLS handshake got no answer; a server that does not speak TLS, such as a plain Redis port, never answers it: use redis:// there)`;
  if (!tls && /\bECONNRESET\b/.test(message))
    return `${message} (a TLS port resets a client that does not speak TLS: if this one is, REDIS_URL must be rediss://)`;
  return message;
}
