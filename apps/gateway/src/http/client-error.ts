import type { Socket } from 'node:net';

/** Node's parser errors that have their own status; anything else is a 400. */
const BY_CODE: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request was not received in time.'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request headers are too large.'],
};

/**
 * Answers requests Node's HTTP parser rejects before any route runs (malformed
 * request lines, oversized headers, slow clients) with OpenAI-shaped JSON too.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] = BY_CODE[err.code ?? ''] ?? [400, 'Bad Request', 'The HTTP request is malformed.'];
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: 'malformed_http_request' } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
