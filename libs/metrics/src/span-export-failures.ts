import type { Logger } from '@nestjs/common';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** `ExportResultCode.SUCCESS` of @opentelemetry/core (the SDK bundles a copy of its own). */
const EXPORTED = 0;

/**
 * `exporter`, telling the log when exports start failing (an unreachable or refusing collector:
 * the SDK itself only tells its diag logger, which nobody reads) and when they work again. One
 * warning per outage, not one per batch: a collector down for an hour must not fill the log.
 */
export function reportingFailures(exporter: SpanExporter, endpoint: string, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        if (result.code !== EXPORTED && !failing) {
          failing = true;
          const error = result.error?.message ?? 'export failed';
          logger.warn(`trace export to ${endpoint} failing (${error}): spans are dropped until it works again; logged once`);
        } else if (result.code === EXPORTED && failing) {
          failing = false;
          logger.log(`trace export to ${endpoint} works again`);
        }
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
