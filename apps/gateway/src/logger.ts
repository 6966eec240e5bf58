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
 * JSON logs to stdout, written asynchronously and in batches so logging stays off
 * the hot path: one write system call per ~64 KiB instead of one per request, and
 * never more than 200 ms late. `flush()` before exit writes the rest.
 */
export function createLoggers(config: GatewayConfig): Loggers {
  // sonic-boom requires maxWrite (a single write's limit) above minLength; a backlog goes out in 256 KiB writes.
  const destination = pino.destination({ dest: 1, sync: false, minLength: BUFFER_BYTES, maxWrite: 4 * BUFFER_BYTES });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  const options = { level: config.server.logLevel, base: { service: 'ai-gateway' }, timestamp: pino.stdTimeFunctions.isoTime };
  return {
    app: pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    access: pino(options, destination),
    flushSync: () => destination.flushSync(),
  };
}
