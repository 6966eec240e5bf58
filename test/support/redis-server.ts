import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

const START_TIMEOUT_MS = 30_000;

/**
 * A throwaway redis-server (TEST_REDIS_SERVER) on a fixed loopback port that a test can stop and
 * start again; with `persist`, it starts again with its data (an append-only file synced at every write);
 * with `module`, it loads that module (REDIS_STACK_MODULE: the search module); with `cluster`, it is a
 * cluster-enabled node of no cluster (no slots: it answers INFO, not keys).
 */
export class RedisServer {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gateway-redis-'));

  private constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly persist: boolean,
    private readonly module?: string,
    private readonly cluster = false,
  ) {}

  static async start(
    binary: string,
    { persist = false, module = undefined as string | undefined, cluster = false } = {},
  ): Promise<RedisServer> {
    const server = new RedisServer(binary, await freePort(), persist, module, cluster);
    await server.start();
    return server;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      this.binary,
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir],
        ...(this.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        ...(this.module ? ['--loadmodule', this.module] : []),
        ...(this.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, 'nodes.conf')] : []),
      ],
      { stdio: 'ignore' },
    );
    const child = this.child;
    const probe = new Redis(this.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    // A generous bound: a busy host (other test files, loading a module or an append-only file) can take
    // seconds to start it; one that exited (its port taken meanwhile) is not waited for.
    try {
      for (const deadline = Date.now() + START_TIMEOUT_MS; child.exitCode === null && child.signalCode === null && Date.now() < deadline;) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect(); // connected, but not answering yet (loading its data): connect again
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
    throw new Error(`redis-server did not start on port ${this.port} (exit ${child.exitCode ?? child.signalCode})`);
  }

  /**
   * Makes this server a replica of `primary` and returns once the primary lists it online (what the gateway's
   * ROLE check sees). A diskless sync waits 5 s by default before it starts: set to 0 on the primary, as a busy
   * host stretched it past a fixed wait and the gateway then saw no replica to wait for.
   */
  async replicate(primary: RedisServer, timeoutMs = 60_000): Promise<void> {
    const [primaryClient, client] = [new Redis(primary.url), new Redis(this.url)];
    try {
      await primaryClient.config('SET', 'repl-diskless-sync-delay', '0');
      await client.call('REPLICAOF', '127.0.0.1', String(primary.port));
      for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 50))) {
        const [, , replicas] = (await primaryClient.call('ROLE')) as [string, unknown, unknown[]];
        if (replicas.length && /master_link_status:up/.test(await client.info('replication'))) return;
        if (Date.now() > deadline) throw new Error(`the replica on port ${this.port} was not online within ${timeoutMs} ms`);
      }
    } finally {
      primaryClient.disconnect();
      client.disconnect();
    }
  }

  /** SIGSTOP: connections stay open but nothing is answered (a hung or partitioned Redis), until `resume()`. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    // A killed child has a signalCode and no exitCode; waiting for its exit again would hang.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}
