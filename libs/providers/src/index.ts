export * from './gateway-error';
export * from './provider';
export * from './providers.module';
export * from './providers.service';
export { checkParams, refuse, type ParamRule, type ParamTable } from './translation/params';
export type * from './wire';
