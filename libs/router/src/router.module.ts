import { Module } from '@nestjs/common';
import { ProvidersModule } from '@gateway/providers';
import { BreakerRegistry } from './breaker-registry';
import { Clock } from './clock';
import { Executor } from './executor';
import { LatencyTracker } from './latency-tracker';
import { ModelCatalog } from './model-catalog';
import { RouterService } from './router.service';

@Module({
  imports: [ProvidersModule],
  providers: [ModelCatalog, RouterService, Executor, BreakerRegistry, LatencyTracker, Clock],
  exports: [ModelCatalog, RouterService, Executor],
})
export class RouterModule {}
