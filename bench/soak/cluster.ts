import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { GatewayProcess } from '../../test/support/gateway';

/** One run of a gateway process (a restart is a new generation). */
export interface Instance {
  name: string;
  generation: number;
  process: GatewayProcess;
  url: string;
  pid: number;
  /** Milliseconds since the soak started. */
  startedAt: number;
  signalledAt?: number;
  exitedAt?: number;
  exitCode?: number | null;
  /** Logged `stopped` (the drain ran to its end) / `grace period over` (streams were cut). */
  stoppedCleanly: boolean;
  graceExpired: boolean;
}

/** pino levels: 50 error, 60 fatal. */
const ERROR_LEVEL = 50;
/** Output that means a crash or a bug, on a line that is not one of the gateway's JSON logs. */
const CRASH_TEXT = /unhandled|uncaught|Error|\bat .+:\d+:\d+/i;

/**
 * The gateway processes of the soak, started from one config with their output in
 * log files. Every line is scanned: errors and crash output are kept as problems,
 * access-log lines give each request id's count (a request served twice would show).
 */
export class GatewayCluster {
  readonly current = new Map<string, Instance>();
  readonly history: Instance[] = [];
  /** Error-level log lines, crash output and unexpected exits. */
  readonly problems: string[] = [];
  /** Access-log lines per soak request id, across every instance. */
  readonly served = new Map<string, number>();
  private readonly logs: WriteStream[] = [];

  constructor(
    private readonly config: object,
    private readonly env: Record<string, string>,
    private readonly dir: string,
    private readonly now: () => number,
  ) {}

  async start(name: string): Promise<Instance> {
    const generation = this.history.filter((i) => i.name === name).length + 1;
    const log = createWriteStream(join(this.dir, `gateway-${name}-${generation}.log`));
    this.logs.push(log);
    const label = `${name}#${generation}`;
    let instance: Instance | undefined;
    const onLine = (line: string) => {
      log.write(`${line}\n`);
      this.scan(label, line, instance);
    };
    const gateway = await GatewayProcess.start(this.config, { env: this.env, onLine, retainLogs: false });
    instance = {
      name,
      generation,
      process: gateway,
      url: gateway.url,
      pid: gateway.pid!,
      startedAt: this.now(),
      stoppedCleanly: false,
      graceExpired: false,
    };
    const started = instance;
    void gateway.waitForExit().then((code) => {
      started.exitedAt = this.now();
      started.exitCode = code;
      if (started.signalledAt === undefined)
        this.problems.push(`${label} exited unexpectedly: code ${code}, signal ${gateway.exitSignal ?? 'none'}`);
    });
    this.current.set(name, instance);
    this.history.push(instance);
    return instance;
  }

  /** SIGTERM, then waits for the exit (the drain is bounded by shutdownGraceMs). */
  async terminate(name: string): Promise<Instance> {
    const instance = this.current.get(name)!;
    instance.signalledAt = this.now();
    instance.process.signal('SIGTERM');
    await instance.process.waitForExit();
    this.current.delete(name);
    return instance;
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.current.values()].map((i) => {
        i.signalledAt = this.now();
        return i.process.stop();
      }),
    );
    await Promise.all(this.logs.map((log) => new Promise((resolve) => log.end(resolve))));
  }

  private scan(label: string, line: string, instance: Instance | undefined): void {
    let entry: { level?: number; msg?: string; reqId?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      if (CRASH_TEXT.test(line)) this.problems.push(`${label}: ${line}`);
      return;
    }
    if (entry.msg === 'request' && entry.reqId?.startsWith('soak-')) this.served.set(entry.reqId, (this.served.get(entry.reqId) ?? 0) + 1);
    if ((entry.level ?? 0) >= ERROR_LEVEL) this.problems.push(`${label}: ${line}`);
    if (!instance) return;
    if (entry.msg === 'stopped') instance.stoppedCleanly = true;
    if (entry.msg === 'grace period over: closing remaining connections') instance.graceExpired = true;
  }
}
