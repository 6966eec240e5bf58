export * from './redis.module';
export * from './redis.service';
export * from './within-budget';
export * from './subscription';
export * from './redis-now-lua';
export * from './forget-expired';
export * from './redis-refusal';
export * from './eviction';
