import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as a fake upstream received it: what the gateway actually sent. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** The body as sent, before JSON.parse (which rounds integers beyond 2^53). */
  text: string;
  /** Set when the client went away before the fake finished answering it. */
  cut?: boolean;
  /** Set when the fake finished answering it. */
  answered?: boolean;
}

/**
 * A vendor API on 127.0.0.1 for tests: records every request, then lets the
 * subclass answer in the vendor's documented wire format.
 */
export abstract class FakeUpstream {
  readonly received: Received[] = [];
  /** False for long runs (soak): requests are then not kept in `received`. */
  protected keepReceived = true;
  private server: Server | undefined;
  private port = 0;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.receive(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await this.listen();
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The provider goes down: connections are refused and open ones dropped, until `up()`. */
  down(): Promise<void> {
    return this.stop();
  }

  /** Listens again on the same port after `down()`. */
  up(): Promise<void> {
    return this.listen();
  }

  /** TCP connections open to the fake now (idle keep-alive ones included). */
  get openConnections(): number {
    return this.sockets.size;
  }

  private listen(): Promise<void> {
    return new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  last(): Received {
    return this.received[this.received.length - 1];
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void>;

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : {};
    const received: Received = { method: req.method!, path: req.url!, headers: req.headers, body, text };
    if (this.keepReceived) this.received.push(received);
    res.on('close', () => {
      if (res.writableFinished) received.answered = true;
      else received.cut = true;
    });
    await this.handle(req, res, body);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function openSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * What the fakes' `*-patch` models call Codex's `apply_patch` tool with (`{ input: PATCH }`): the text
 * of a patch, with newlines, quotes and non-ASCII that JSON escapes or a stream may split.
 */
export const PATCH = '*** Begin Patch\n*** Update File: hello.txt\n@@\n-hello world\n+héllo "wörld" 👋\n*** End Patch\n';

/** Splits text into pieces of about `size` characters, as a model streams tokens. */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
