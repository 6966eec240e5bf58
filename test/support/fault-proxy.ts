import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';

/** A reply and when it may reach the client. */
interface Chunk {
  due: number;
  data: Buffer;
}

/** One client connection and its own connection to the server, with what waits to pass each way. */
class Link {
  readonly toServer: Buffer[] = [];
  readonly toClient: Chunk[] = [];
  private timer?: NodeJS.Timeout;
  /** Commands wait here until released. */
  holding = false;
  /** Client side cut: what is held for the server still goes, when released, then the server side ends. */
  severed = false;
  /** Held by holdWhen: a client that closes meanwhile is cut so (severed), its bytes already sent still arriving. */
  delivers = false;
  /** The latest bytes passed on to the client (as Redis' protocol), for FaultProxy.passed. */
  recent = '';

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    private readonly written: (link: Link) => void,
  ) {}

  pump(): void {
    clearTimeout(this.timer);
    const now = Date.now();
    if (!this.holding) while (this.toServer.length) this.server.write(this.toServer.shift()!);
    while (this.toClient.length && this.toClient[0].due <= now) {
      const { data } = this.toClient.shift()!;
      if (this.severed) continue;
      this.client.write(data);
      this.recent = (this.recent + data.toString('latin1')).slice(-65_536);
      this.written(this);
    }
    if (this.severed && !this.toServer.length) this.server.end();
    if (this.toClient.length) this.timer = setTimeout(() => this.pump(), this.toClient[0].due - now);
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server (a Redis here) that delays, holds and
 * cuts what passes through it: the network faults after which a client cannot know
 * whether its command ran.
 */
export class FaultProxy {
  private readonly links = new Set<Link>();
  /** Replies reach the client this much later: commands run, their answers come late. */
  replyDelayMs = 0;
  private readonly triggers: { pattern: RegExp; left: number }[] = [];
  private readonly awaited: { text: string; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new FaultProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Resolves once bytes containing `text` (as Redis' protocol) have been written to a client (a pub/sub message, say),
   * among the last 64 KB passed on each connection, or later. The proxy runs in the test's process: what Redis sent a client before it
   * answered another may reach that client only after the test, busy, has acted on the answer.
   */
  passed(text: string): Promise<void> {
    if ([...this.links].some((link) => link.recent.includes(text))) return Promise.resolve();
    return new Promise((resolve) => this.awaited.push({ text, resolve }));
  }

  private written(link: Link): void {
    for (const waiter of [...this.awaited])
      if (link.recent.includes(waiter.text)) {
        this.awaited.splice(this.awaited.indexOf(waiter), 1);
        waiter.resolve();
      }
  }

  /** Commands on the connections open now wait in the proxy until `release()`; later connections pass. */
  hold(): void {
    for (const link of this.links) link.holding = true;
  }

  /** The commands waiting in the proxy (sent while held), as Redis' protocol: their clients wait for answers. */
  get heldCommands(): string {
    return [...this.links].flatMap((link) => (link.holding ? link.toServer.map((data) => data.toString('latin1')) : [])).join('');
  }

  /**
   * The next `count` connections to send bytes matching `pattern` (as Redis' protocol) hold from them on,
   * those included, until `release()`; one its client closes meanwhile still delivers them then, as a slow
   * network delivers what was sent before a close.
   */
  holdWhen(pattern: RegExp, count = 1): void {
    this.triggers.push({ pattern, left: count });
  }

  /**
   * Lets held commands go, in order, on the connections they came by, but for those whose held commands match
   * `keep` (as Redis' protocol): they wait on for a later release. holdWhen triggers not yet met are dropped.
   */
  release(keep?: RegExp): void {
    this.triggers.length = 0;
    for (const link of this.links) {
      if (keep?.test(link.toServer.map((data) => data.toString('latin1')).join(''))) continue;
      link.holding = false;
      link.pump();
    }
  }

  /**
   * Cuts every client connection. What was held is dropped, or with `deliverHeld`
   * kept to reach the server at `release()`, after whatever the client sends on its
   * next connection.
   */
  sever(deliverHeld: boolean): void {
    for (const link of this.links) {
      link.severed = true;
      link.client.destroy();
      if (!deliverHeld) link.server.destroy();
      else link.pump();
    }
  }

  /** Resolves once every connection cut with `deliverHeld` has delivered what it held and closed. */
  async drained(): Promise<void> {
    const closing = [...this.links].filter((link) => link.severed && !link.server.destroyed);
    await Promise.all(closing.map((link) => once(link.server, 'close')));
  }

  async stop(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.server.destroy();
    }
    this.server.close();
    await once(this.server, 'close');
  }

  private accept(client: Socket, targetPort: number): void {
    const server = connect(targetPort, '127.0.0.1');
    const link = new Link(client, server, (passed) => this.written(passed));
    this.links.add(link);
    client.on('data', (data) => {
      const trigger = link.holding ? undefined : this.triggers.find((t) => t.left > 0 && t.pattern.test(data.toString('latin1')));
      if (trigger) {
        trigger.left--;
        link.holding = link.delivers = true;
      }
      link.toServer.push(data);
      link.pump();
    });
    server.on('data', (data) => {
      link.toClient.push({ due: Date.now() + this.replyDelayMs, data });
      link.pump();
    });
    const close = () => {
      if (link.holding && link.delivers) link.severed = true;
      if (!link.severed) {
        client.destroy();
        server.destroy();
      }
    };
    client.on('error', () => undefined).on('close', close);
    server
      .on('error', () => undefined)
      .on('close', () => {
        client.destroy();
        this.links.delete(link);
      });
  }
}
