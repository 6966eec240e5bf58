export * from './cost';
export * from './metrics.module';
export * from './metrics.service';
export * from './spend.service';
export * from './tracing.service';
