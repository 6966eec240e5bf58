import { randomBytes } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Attributes, Tracer } from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import type { GenAiOperation } from './genai-names';
import { reportingFailures } from './span-export-failures';
import type { TraceContext } from './trace-context';

/** One upstream attempt, timed by the router. */
export interface AttemptTiming {
  /** Its span's id, made when the attempt starts so the upstream request can carry it (traceHeaders). */
  spanId: string;
  deployment: string;
  provider: string;
  upstreamModel: string;
  startedAt: number;
  /** Unset while the attempt goes on (a stream: until it ended); one still open when the request ended ends with it. */
  endedAt?: number;
  /** Error code when the attempt failed. */
  error?: string;
}

/** A finished request, as the access hook knows it, with times in epoch milliseconds. */
export interface RequestTrace {
  operation: GenAiOperation;
  startedAt: number;
  endedAt: number;
  status: number;
  /** The request's trace (the caller's, continued, or one started here) and its span's id. */
  trace: TraceContext;
  attributes: Attributes;
  attempts: AttemptTiming[];
}

/**
 * Optional OpenTelemetry traces: on only when OTEL_EXPORTER_OTLP_ENDPOINT (or the
 * traces-specific variable) is set, and then the SDK is loaded. Spans are written
 * after the response, from timings the request already recorded, so tracing adds
 * nothing to the request path; when off, no tracing code runs at all.
 */
@Injectable()
export class TracingService implements OnApplicationShutdown {
  readonly enabled: boolean;
  private readonly provider: TracerProvider | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly ids = new PresetIds();

  constructor() {
    const env = process.env;
    // The OTel spec reads boolean variables case-insensitively: TRUE and True disable too.
    const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
    // Checked at config load (an http:// or https:// URL, else exit 78 naming the variable).
    const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
    this.enabled = Boolean(endpoint) && !disabled;
    if (!this.enabled || !endpoint) return;
    const logger = new Logger('Tracing');
    // Loaded lazily so a gateway without tracing never loads the SDK.
    const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
    const { OTLPTraceExporter } =
      require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
    this.provider = new sdk.TracerProvider({
      idGenerator: this.ids,
      resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'ai-gateway' }),
      spanProcessors: [
        new sdk.BatchSpanProcessor({
          exporter: reportingFailures(new OTLPTraceExporter(), endpoint, logger),
          scheduledDelayMillis: Number(env.OTEL_BSP_SCHEDULE_DELAY) || 5_000,
        }),
      ],
    });
    this.tracer = this.provider.getTracer('ai-gateway');
    logger.log('OpenTelemetry traces on (OTLP/HTTP)');
  }

  record(t: RequestTrace): void {
    const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
    const model = t.attributes['gen_ai.request.model'] ?? '';
    const { trace } = t;
    // Under the caller's span when it sent one (its trace id is then the span's), else a trace of our own.
    const caller = trace.parentSpanId
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: trace.traceId,
          spanId: trace.parentSpanId,
          traceFlags: parseInt(trace.flags, 16),
          isRemote: true,
          ...(trace.tracestate ? { traceState: api.createTraceState(trace.tracestate) } : {}),
        })
      : api.ROOT_CONTEXT;
    const span = this.ids.with(trace.traceId, trace.spanId, () =>
      this.tracer!.startSpan(
        model ? `${t.operation} ${model}` : t.operation,
        {
          kind: api.SpanKind.SERVER,
          startTime: t.startedAt,
          attributes: { 'gen_ai.operation.name': t.operation, 'http.response.status_code': t.status, ...t.attributes },
        },
        caller,
      ),
    );
    // OTel HTTP server spans: a 5xx is an error, a 4xx the caller's; a failure after the response began
    // (a stream cut after its first chunk: status 200) is one too. A client that left (499) is not.
    if (t.status >= 500 || (t.status < 400 && t.attributes['error.type']))
      span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(t.attributes['error.type'] ?? t.status) });
    const parent = api.trace.setSpan(api.context.active(), span);
    for (const a of t.attempts) {
      const child = this.ids.with(trace.traceId, a.spanId, () =>
        this.tracer!.startSpan(
          `${t.operation} ${a.upstreamModel}`,
          {
            kind: api.SpanKind.CLIENT,
            startTime: a.startedAt,
            attributes: {
              'gen_ai.operation.name': t.operation,
              'gen_ai.provider.name': a.provider,
              'gen_ai.request.model': a.upstreamModel,
              'gateway.deployment': a.deployment,
              ...(a.error ? { 'error.type': a.error } : {}),
            },
          },
          parent,
        ),
      );
      if (a.error) child.setStatus({ code: api.SpanStatusCode.ERROR, message: a.error });
      child.end(a.endedAt ?? t.endedAt);
    }
    span.end(t.endedAt);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/**
 * The SDK's id source, told which ids the next span takes: the ids the request already used
 * (its `traceparent` to the upstream names the attempt's span). Spans are made after the
 * response, one at a time and synchronously, so a preset cannot reach another span.
 */
class PresetIds {
  private traceId = '';
  private spanId = '';

  with<T>(traceId: string, spanId: string, make: () => T): T {
    this.traceId = traceId;
    this.spanId = spanId;
    try {
      return make();
    } finally {
      this.traceId = this.spanId = '';
    }
  }

  generateTraceId(): string {
    return this.traceId || randomBytes(16).toString('hex');
  }

  generateSpanId(): string {
    return this.spanId || randomBytes(8).toString('hex');
  }
}
