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
}

/**
 * JSON logs to stdout, written asynchronously so logging stays off the hot path:
 * lines written while a write is in flight are coalesced into the next one.
 */
export function createLoggers(config: GatewayConfig): Loggers {
  const destination = pino.destination({ dest: 1, sync: false });
  const options = { level: config.server.logLevel, base: { service: 'ai-gateway' }, timestamp: pino.stdTimeFunctions.isoTime };
  return {
    app: pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } }, destination),
    access: pino(options, destination),
  };
}
