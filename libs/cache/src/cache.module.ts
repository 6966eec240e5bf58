import { Module } from '@nestjs/common';
import { RouterModule } from '@gateway/router';
import { CacheService } from './cache.service';

/** The response cache. Needs GatewayConfig, RedisService and MetricsService (global modules). */
@Module({
  imports: [RouterModule],
  providers: [CacheService],
  exports: [CacheService],
})
export class CacheModule {}
