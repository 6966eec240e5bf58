import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Node's links from a server's socket: its listener, and the response of the request it carries. */
type HttpSocket = Socket & { server?: Server; _httpMessage?: { req: { complete: boolean } } };

/**
 * The open connections of a listener, to close those that have not sent a byte yet.
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
  private readonly timedOut = new WeakSet<Socket>();
  private whenAllClosed?: () => void;

  constructor(
    server: Server,
    private readonly headersTimeoutMs: number,
  ) {
    server.on('connection', (socket: Socket) => this.track(socket));
  }

  /**
   * Closes every connection that has sent nothing, and, once the drain has lasted `headersTimeoutMs`,
   * every one whose request is not whole: a request still half sent by then (its headers, or, its
   * headers in, its body) would have had its 408 outside a drain (headers: after `headersTimeoutMs`;
   * a body: after the whole request's timeout), but `server.close()` stops Node's check of those
   * timeouts. A connection idle between requests is closed; one whose whole request is being answered
   * (a response assigned to it: `_httpMessage`, Node's own link, its request complete) stays.
   */
  close(drainingMs: number): void {
    const stalledToo = drainingMs >= this.headersTimeoutMs;
    for (const socket of this.open) {
      const response = (socket as HttpSocket)._httpMessage;
      if (socket.bytesRead === 0 || (stalledToo && !response)) socket.destroy();
      else if (stalledToo && !response!.req.complete) this.timeOut(socket as HttpSocket);
    }
  }

  /**
   * A request whose body stopped coming: answered as Node answers one past its request timeout (the
   * listener's clientError handler writes the 408 in the caller's protocol, and its route's access
   * line says 408), then, at the next sweep, its connection is closed if the client has not.
   */
  private timeOut(socket: HttpSocket): void {
    if (this.timedOut.has(socket)) return void socket.destroy();
    this.timedOut.add(socket);
    const timeout = Object.assign(new Error('request body not received during the drain'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    if (!socket.server?.emit('clientError', timeout, socket)) socket.destroy();
  }

  /**
   * Resolves once every connection has emitted its `close`. A listener's own `close` comes first: Node
   * counts a connection gone when it is destroyed, but its `close`, whose listeners write the access
   * line of a request it carried (request-hooks.ts), comes a loop turn later.
   */
  allClosed(): Promise<void> {
    if (!this.open.size) return Promise.resolve();
    return new Promise((resolve) => (this.whenAllClosed = resolve));
  }

  private track(socket: Socket): void {
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      // Settled after this emit's later listeners (the response's close) have run.
      if (!this.open.size) this.whenAllClosed?.();
    });
  }
}
