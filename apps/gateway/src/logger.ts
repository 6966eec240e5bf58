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

/**
 * JSON logs to stdout, written asynchronously so logging stays off the hot path:
 * lines written while a write is in flight are coalesced into the next one.
 */
export function createLogger(config: GatewayConfig): Logger {
  return pino(
    {
      level: config.server.logLevel,
      base: { service: 'ai-gateway' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
