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
 * Log lines are buffered up to this size, and flushed at least this often. Each write is
 * handed to libuv's thread pool, and that hand-off, not the bytes, is what it costs: at
 * 8 KiB it took ~14 µs of a request's time in CPU profiles (BENCHMARKS.md), at 64 KiB ~3.
 */
const BUFFER_BYTES = 64 * 1024;
const FLUSH_EVERY_MS = 200;

/**
 * Collects log lines and hands them to sonic-boom a buffer at a time. Fed line by line,
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
    if (this.chars >= BUFFER_BYTES) this.drain();
    return true;
  }

  flush(): void {
    this.drain();
  }

  flushSync(): void {
    this.drain();
    this.out.flushSync();
  }

  /** sonic-boom writes the batch at once, or right after the write under way. */
  private drain(): void {
    if (!this.lines.length) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(batch);
  }
}

/**
 * JSON logs to stdout, written asynchronously and in batches so logging stays off
 * the hot path: one write system call per ~64 KiB instead of one per request, and
 * never more than 200 ms late. `flushSync()` before exit writes the rest.
 */
export function createLoggers(config: GatewayConfig): Loggers {
  // Batches of many lines go out as they come (minLength 0); a backlog goes out in writes of up to 256 KiB.
  const destination = new LineBatcher(pino.destination({ dest: 1, sync: false, minLength: 0, maxWrite: 4 * BUFFER_BYTES }));
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  // pino flushes its sonic-boom at exit; lines still here must go with it.
  process.once('exit', () => destination.flushSync());
  const options = { level: config.server.logLevel, base: { service: 'ai-gateway' }, timestamp: pino.stdTimeFunctions.isoTime };
  return {
    app: pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    access: pino(options, destination),
    flushSync: () => destination.flushSync(),
  };
}
