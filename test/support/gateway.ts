import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { FakeOpenAI } from './fake-openai';
import { RedisServer } from './redis-server';

/** What the image runs (`npm run start:prod`): the gateway bundled into one file by `npm run build`. */
const MAIN = resolve(__dirname, '../../gateway.js');
const START_TIMEOUT_MS = 60_000;

export interface LoggedOptions {
  where?: (entry: Record<string, unknown>) => boolean;
  count?: number;
  timeoutMs?: number;
}

export interface GatewayOptions {
  env?: Record<string, string>;
  /** Resolve once the process exits instead of waiting for it to listen (config errors). */
  expectExit?: boolean;
  /** Receives every output line (stdout and stderr), e.g. to write it to a file. */
  onLine?: (line: string) => void;
  /** Keep output in `logs` / `rawOutput` after start-up (default true; long runs set false). */
  retainLogs?: boolean;
}

/**
 * The real gateway as a child process on an ephemeral 127.0.0.1 port, configured by
 * a YAML file written from `config`. Its JSON log lines are collected for assertions.
 */
export class GatewayProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly rawOutput: string[] = [];
  url = '';
  /** The ops listener (METRICS_PORT): `/metrics` and `/admin/*`. */
  opsUrl = '';
  exitCode: number | null = null;
  /** The signal that ended the process, when one did. */
  exitSignal: NodeJS.Signals | null = null;
  private child!: ChildProcess;
  private exited!: Promise<number | null>;

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(config: object, options: GatewayOptions = {}): Promise<GatewayProcess> {
    const gateway = new GatewayProcess();
    await gateway.spawn(config, options);
    return gateway;
  }

  private async spawn(config: object, options: GatewayOptions): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(config));
    this.child = spawn(process.execPath, [MAIN], {
      // No drain delay, nor a wait for a last scrape after it, unless a test asks: every test stops its gateway with SIGTERM.
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        HOST: '127.0.0.1',
        METRICS_PORT: '0',
        LOG_LEVEL: 'debug',
        SHUTDOWN_DELAY_MS: '0',
        SHUTDOWN_SCRAPE_MS: '0',
        GATEWAY_CONFIG: file,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((done) =>
      this.child.once('exit', (code, signal) => {
        this.exitSignal = signal;
        done((this.exitCode = code));
      }),
    );
    let started = false;
    const listening = new Promise<void>((ready, fail) => {
      const onLine = (line: string) => {
        options.onLine?.(line);
        if (started && options.retainLogs === false) return;
        this.rawOutput.push(line);
        try {
          const entry = JSON.parse(line);
          this.logs.push(entry);
          if (entry.msg === 'ai-gateway listening') {
            this.url = `http://127.0.0.1:${entry.port}`;
            this.opsUrl = `http://127.0.0.1:${entry.metricsPort}`;
            ready();
          }
        } catch {
          // Not JSON (a Node warning, a config error on stderr): kept in rawOutput.
        }
      };
      createInterface({ input: this.child.stdout! }).on('line', onLine);
      createInterface({ input: this.child.stderr! }).on('line', onLine);
      this.exited.then(() => (options.expectExit ? ready() : fail(new Error(`gateway exited early:\n${this.rawOutput.join('\n')}`))));
    });
    // Bounded, and generous: a busy host takes seconds to start it. One that never listens is killed, so that the
    // test fails with its output rather than at the test timeout with a process left that keeps the file running.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, fail) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        fail(new Error(`gateway not listening after ${START_TIMEOUT_MS} ms:\n${this.rawOutput.join('\n')}`));
      }, START_TIMEOUT_MS);
    });
    listening.catch(() => undefined); // its exit after that kill rejects it too: already reported
    try {
      await Promise.race([listening, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    started = true;
  }

  /** The official OpenAI client pointed at this gateway, with SDK retries off. */
  client(options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
    return new OpenAI({ baseURL: `${this.url}/v1`, apiKey: 'test-client-key', maxRetries: 0, ...options });
  }

  /** A call to the admin API's `/admin/keys{path}` on the ops listener, authorized by `key` (the master key or an admin key). */
  async adminKeys(key: string, method: string, path: string, body?: object): Promise<{ status: number; body: Record<string, any> }> {
    const res = await fetch(`${this.opsUrl}/admin/keys${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  /** Sends a signal and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null && !this.child.killed) this.child.kill(signal);
    return this.exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** The value of one sample on the ops listener's `/metrics` (`labels` as exposed, in order), 0 when there is none yet. */
  async metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`${this.opsUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  /**
   * Log entries whose message is `msg` (and that match `where`), waiting until there are
   * `count` of them or `timeoutMs` passed: the gateway writes its log in batches (every 200 ms,
   * later on a busy host). The default is generous, as a wait for lines that come costs nothing;
   * a check that a line does not come passes a short `timeoutMs` of its own.
   */
  async logged(
    msg: string | RegExp,
    { where = () => true, count = 1, timeoutMs = 30_000 }: LoggedOptions = {},
  ): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    const matches = typeof msg === 'string' ? (m: unknown) => m === msg : (m: unknown) => msg.test(String(m));
    for (;;) {
      const found = this.logs.filter((l) => matches(l.msg) && where(l));
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A config with the offline mock model plus `extra` providers and models. */
export function configWith(extra: { providers?: object[]; models?: object[]; server?: object; [key: string]: unknown } = {}) {
  return {
    ...extra,
    server: extra.server ?? {},
    providers: [{ name: 'mock', type: 'mock' }, ...(extra.providers ?? [])],
    models: [
      {
        name: 'mock-1',
        aliases: ['mock'],
        deployments: [{ provider: 'mock', model: 'mock-1', capabilities: ['tools', 'json', 'vision'] }],
      },
      { name: 'mock-embedding', deployments: [{ provider: 'mock', model: 'mock-embedding', capabilities: ['embeddings'] }] },
      ...(extra.models ?? []),
    ],
  };
}

/**
 * Registers before/after hooks that start a fake OpenAI upstream and a gateway
 * configured from its base URL, and stop both afterwards.
 */
export function gatewayWithFakeUpstream(makeConfig: (baseUrl: string) => object, options: GatewayOptions = {}) {
  const upstream = new FakeOpenAI();
  const handle = { upstream, gateway: undefined as unknown as GatewayProcess };
  before(async () => {
    handle.gateway = await GatewayProcess.start(makeConfig(await upstream.start()), options);
  });
  after(async () => {
    await handle.gateway?.stop();
    await upstream.stop();
  });
  return handle;
}

/**
 * Registers hooks that start two gateway processes on one Redis database, emptied first (give each
 * test file a database of its own: files run two at a time), and stop them afterwards; the object
 * returned holds them and a client of that database once started.
 */
export function twoGatewaysOnRedis(config: object, redisUrl: string, env: Record<string, string>) {
  const pair = {} as { a: GatewayProcess; b: GatewayProcess; redis: Redis };
  before(async () => {
    pair.redis = new Redis(redisUrl);
    await pair.redis.flushdb();
    const options = { env: { REDIS_URL: redisUrl, ...env } };
    [pair.a, pair.b] = await Promise.all([GatewayProcess.start(config, options), GatewayProcess.start(config, options)]);
  });
  after(async () => {
    await Promise.all([pair.a?.stop(), pair.b?.stop()]);
    pair.redis?.disconnect();
  });
  return pair;
}

/**
 * Registers hooks that start a redis-server of its own (`binary`), readied by `prepare` through a client of it, and a
 * gateway on it (with `env`), and stop them afterwards: a test that changes how Redis behaves (its memory, its role)
 * disturbs no other file. The object returned holds them once started.
 */
export function gatewayOnOwnRedis(
  binary: string,
  config: object,
  env: Record<string, string>,
  prepare?: (redis: Redis) => Promise<unknown>,
) {
  const own = {} as { server: RedisServer; redis: Redis; gateway: GatewayProcess };
  before(async () => {
    own.server = await RedisServer.start(binary);
    own.redis = new Redis(own.server.url);
    await prepare?.(own.redis);
    own.gateway = await GatewayProcess.start(config, { env: { REDIS_URL: own.server.url, ...env } });
  });
  after(async () => {
    await own.gateway?.stop();
    own.redis?.disconnect();
    await own.server?.stop();
  });
  return own;
}

/**
 * A gateway over one upstream answering the three vendors' paths (providers `oa`, `ant`, `gem`, each with `provider`'s
 * settings), the cache on as the shipped config/gateway.yaml has it (its store reads each answer after the reply),
 * one attempt a deployment and no breaker: each failure is seen as it is.
 */
export function threeVendorGateway(url: string, models: object[], provider: object): Promise<GatewayProcess> {
  const settings = { apiKeyEnv: 'FAKE_KEY', ...provider };
  return GatewayProcess.start(
    configWith({
      providers: [
        { name: 'oa', type: 'openai-compatible', baseUrl: `${url}/v1`, ...settings },
        { name: 'ant', type: 'anthropic', baseUrl: url, ...settings },
        { name: 'gem', type: 'gemini', baseUrl: url, ...settings },
      ],
      models,
      cache: { enabled: true, semantic: { enabled: false } },
      router: { retry: { attemptsPerDeployment: 1 }, breaker: { consecutiveFailures: 1_000, minRequests: 1_000 } },
    }),
    { env: { FAKE_KEY: 'sk-fake-upstream' } },
  );
}
