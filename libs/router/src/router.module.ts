import { Module } from '@nestjs/common';
import { ProvidersModule } from '@gateway/providers';
import { BreakerRegistry } from './breaker-registry';
import { Clock } from './clock';
import { Executor } from './executor';
import { LatencyTracker } from './latency-tracker';
import { ModelCatalog } from './model-catalog';
import { RouterService } from './router.service';
import { Stopping } from './stopping';
import { UsageShares } from './usage-shares';

@Module({
  imports: [ProvidersModule],
  providers: [ModelCatalog, RouterService, Executor, BreakerRegistry, LatencyTracker, Clock, Stopping, UsageShares],
  exports: [ModelCatalog, RouterService, Executor, Stopping, UsageShares],
})
export class RouterModule {}
