import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The open connections of some listeners, to close those that have not sent a byte yet.
 *
 * Node counts a connection as busy from the moment it is accepted (so `headersTimeout` covers a
 * client that connects and sends nothing), and `closeIdleConnections()` skips it (nodejs/node#63452):
 * one such connection held a drain open for the whole grace. Clients leave them: undici (Node's
 * `fetch`, the official OpenAI SDK) reconnects after a streamed response is aborted and keeps that
 * connection unused in its pool when it has another one to the host (nodejs/undici#5845); browsers
 * and load balancers open connections ahead of requests. None has a request to wait for.
 * Create before listening, so every connection is seen.
 */
export class UnusedConnections {
  private readonly open = new Set<Socket>();

  constructor(
    servers: Server[],
    private readonly headersTimeoutMs: number,
  ) {
    for (const server of servers) server.on('connection', (socket: Socket) => this.track(socket));
  }

  /**
   * Closes every connection that has sent nothing, and, once the drain has lasted `headersTimeoutMs`,
   * every one with no request being answered: a request still half sent by then would have had its
   * 408 outside a drain, but `server.close()` stops Node's check of that timeout. A connection whose
   * request is being answered (a response assigned to it: `_httpMessage`, Node's own link) stays.
   */
  close(drainingMs: number): void {
    const stalledToo = drainingMs >= this.headersTimeoutMs;
    for (const socket of this.open) {
      if (socket.bytesRead === 0 || (stalledToo && !(socket as Socket & { _httpMessage?: unknown })._httpMessage)) socket.destroy();
    }
  }

  private track(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }
}
