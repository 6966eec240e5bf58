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
  /**
   * The per-request access line. Its fields are fixed by the access hook and never
   * carry secrets, so it skips the redaction pass (a few percent of a request's CPU).
   */
  access: Logger;
  /** Writes whatever is buffered, synchronously: call it right before the process exits. */
  flushSync(): void;
}

/**
 * Log lines are collected up to this size, and written at least this often, in one
 * synchronous write each: one system call per ~150 access lines. (Asynchronous writes
 * went through libuv's thread pool, cost more per write, and one still under way when
 * the process exited could interleave with the final synchronous flush.)
 */
const BUFFER_BYTES = 64 * 1024;
const FLUSH_EVERY_MS = 200;

/**
 * Collects log lines and hands them to sonic-boom a batch at a time. Fed line by line,
 * sonic-boom (4.2 and 5.0) appends each line to the string it buffers and measures that
 * string's byte length, which copies the whole buffer: with 64 KiB buffers, ~32 KB or more
 * copied for every ~0.4 KB access line, about half of a request's allocation.
 */
class LineBatcher {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {}

  write(line: string): boolean {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BUFFER_BYTES) this.flush();
    return true;
  }

  /** Writes what is collected, synchronously (sonic-boom in sync mode retries short and busy writes). */
  flush(): void {
    if (!this.lines.length) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(batch);
  }
}

/**
 * JSON logs to stdout, in batches so logging stays off the hot path: one write system
 * call per ~64 KiB instead of one per request, and never more than 200 ms late.
 * `flushSync()` before exit writes the rest.
 */
export function createLoggers(config: GatewayConfig): Loggers {
  const destination = new LineBatcher(pino.destination({ dest: 1, sync: true, minLength: 0 }));
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  // Lines still collected when the process exits go with it.
  process.once('exit', () => destination.flush());
  const options = { level: config.server.logLevel, base: { service: 'ai-gateway' }, timestamp: pino.stdTimeFunctions.isoTime };
  return {
    app: pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    access: pino(options, destination),
    flushSync: () => destination.flush(),
  };
}
