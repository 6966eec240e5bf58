export * from './cache-config';
export * from './responses-config';
export * from './gateway-config';
export * from './router-config';
export * from './security-config';
export * from './load-config';
export * from './config.module';
