export * from './executor';
export * from './model-catalog';
export * from './router.module';
