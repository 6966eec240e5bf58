export * from './cost';
export * from './metrics.module';
export * from './event-loop-delay';
export * from './genai-names';
export * from './metrics.service';
export * from './spend.service';
export * from './trace-context';
export * from './tracing.service';
