export * from './embedding-inputs';
export * from './gateway-error';
export * from './provider';
export * from './providers.module';
export * from './providers.service';
export type * from './wire';
