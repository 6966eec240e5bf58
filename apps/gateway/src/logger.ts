import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { GatewayConfig } from '@gateway/config';

/** Paths never written to logs, whatever a caller passes in. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'headers.authorization',
  '*.apiKey',
  '*.api_key',
  'apiKey',
  'authorization',
];

export interface Loggers {
  /** Nest's logger and everything else: secret-looking paths are redacted. */
  app: Logger;
  /** The per-request access line (AccessLog). */
  access: AccessLog;
}

/** pino's numbers for the level names LOG_LEVEL takes. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export type AccessFields = Record<string, string | number | boolean | undefined>;

/**
 * The per-request access line, in pino's format (level, time, service, the fields, msg), made
 * here rather than by pino: its fields are fixed by the access hook and never carry secrets, so
 * it needs neither the redaction pass nor pino's generic serialiser, and this costs about a
 * third of a pino line (BENCHMARKS.md). The fields are written by JSON.stringify, which writes
 * each value as pino does (strings escaped, a number that is not finite as null) and leaves the
 * undefined ones out, as pino does, in one native call: written a field at a time, the line was
 * built of many short strings, which more than doubled what a line allocated (BENCHMARKS.md).
 */
export class AccessLog {
  private readonly threshold: number;

  constructor(
    level: string,
    private readonly destination: { write(line: string): unknown },
  ) {
    this.threshold = LEVELS[level] ?? LEVELS.info;
  }

  enabled(level: 'debug' | 'info' | 'warn'): boolean {
    return LEVELS[level] >= this.threshold;
  }

  write(level: 'debug' | 'info' | 'warn', fields: AccessFields): void {
    const json = JSON.stringify(fields);
    // The fields without their braces, after the line's own; none at all (`{}`) adds nothing.
    const rest = json.length > 2 ? `,${json.slice(1, -1)}` : '';
    this.destination.write(`{"level":${LEVELS[level]}${isoTime()},"service":"ai-gateway"${rest},"msg":"request"}\n`);
  }
}

/**
 * Log lines are encoded into one 64 KiB buffer and written when the next line would not
 * fit, and at least this often, in one synchronous write each: one system call per ~150
 * access lines. (Asynchronous writes went through libuv's thread pool, cost more per
 * write, and one still under way when the process exited could interleave with the
 * final synchronous flush.)
 */
const BUFFER_BYTES = 64 * 1024;
const FLUSH_EVERY_MS = 200;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2). */
const MAX_BYTES_PER_CHAR = 3;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * pino's destination: each line is copied into a reusable buffer as it comes, so the
 * line's string dies young. (Strings kept until a batch was written outlived two
 * scavenges and were promoted: half of what a logged request promoted to old space.
 * sonic-boom, fed line by line, also copied its whole buffer for every line.)
 */
class BatchedWriter {
  private readonly buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private used = 0;

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    const worstCase = line.length * MAX_BYTES_PER_CHAR;
    if (worstCase > BUFFER_BYTES - this.used) {
      this.flush();
      if (worstCase > BUFFER_BYTES) {
        this.writeAll(Buffer.from(line));
        return true;
      }
    }
    this.used += this.buffer.write(line, this.used);
    return true;
  }

  /** Writes what is buffered, synchronously. */
  flush(): void {
    if (!this.used) return;
    const used = this.used;
    this.used = 0;
    this.writeAll(this.buffer.subarray(0, used));
  }

  /**
   * Retries short writes, and waits while a reader that falls behind keeps a non-blocking
   * pipe full (EAGAIN), as Node's own stdout does. Any other error (the reader is gone)
   * drops the batch: logging never takes the gateway down.
   */
  private writeAll(bytes: Buffer): void {
    for (let done = 0; done < bytes.length;) {
      try {
        done += writeSync(this.fd, bytes, done, bytes.length - done);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        Atomics.wait(sleeper, 0, 0, 1);
      }
    }
  }
}

let lastMs = NaN;
let lastSecond = NaN;
let secondPrefix = '';
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"<toISOString()>"`), made once per millisecond and its date
 * and time once per second: most access lines share their millisecond with the previous one.
 */
export function isoTime(now = Date.now()): string {
  if (now === lastMs) return lastTime;
  const ms = now % 1000;
  if (now - ms !== lastSecond) {
    lastSecond = now - ms;
    secondPrefix = `,"time":"${new Date(lastSecond).toISOString().slice(0, 20)}`;
  }
  lastMs = now;
  lastTime = `${secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  return lastTime;
}

/**
 * JSON logs to stdout, in batches so logging stays off the hot path: one write system
 * call per ~64 KiB instead of one per request, and never more than 200 ms late.
 * Whatever is buffered when the process exits (by any path) is written then.
 */
export function createLoggers(config: GatewayConfig): Loggers {
  const destination = new BatchedWriter(1);
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  process.once('exit', () => destination.flush());
  const options = { level: config.server.logLevel, base: { service: 'ai-gateway' }, timestamp: () => isoTime() };
  return {
    app: pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    access: new AccessLog(config.server.logLevel, destination),
  };
}
