import { connect, type Socket } from 'node:net';

/**
 * One TCP connection to a server, written and read as text, for what an HTTP client
 * library cannot do (pipelining, waiting on `Expect`, answers before the body went out).
 */
export class RawConnection {
  /** Everything received so far. */
  text = '';
  closed = false;
  private readonly socket: Socket;
  private readonly waiters: (() => void)[] = [];

  constructor(url: string) {
    this.socket = connect(Number(new URL(url).port), '127.0.0.1');
    this.socket.on('data', (d) => {
      this.text += d.toString('latin1');
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The text received once it matches `pattern`; rejects if the connection closes first. */
  async until(pattern: RegExp): Promise<string> {
    while (!pattern.test(this.text)) {
      if (this.closed) throw new Error(`connection closed before ${pattern}; received:\n${this.text.slice(0, 600)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.text;
  }

  /** Everything received by the time the server closes the connection. */
  async untilClosed(): Promise<string> {
    while (!this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.text;
  }

  /** Half-closes the connection: nothing more is sent, answers are still read. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }

  /** The status codes of the answers received, in order. */
  statuses(): number[] {
    return [...this.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/**
 * One request with `Expect: 100-continue` on a connection of its own: `head`, then, once `100 Continue`
 * invited it, `body`; the statuses received once the answer matches `answer`.
 */
export async function invitedExchange(url: string, head: string, body: string, answer: RegExp): Promise<number[]> {
  const connection = new RawConnection(url);
  try {
    connection.write(head);
    await connection.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    connection.write(body);
    await connection.until(answer);
    return connection.statuses();
  } finally {
    connection.close();
  }
}
