export { ANTHROPIC_ERROR_TYPES_BY_STATUS } from './anthropic/errors';
export * from './embedding-inputs';
export * from './gateway-error';
export * from './provider';
export * from './providers.module';
export * from './providers.service';
export { checkParams, refuse, type ParamRule, type ParamTable } from './translation/params';
export type * from './wire';
