import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { SpendService } from './spend.service';
import { TracingService } from './tracing.service';

@Global()
@Module({
  providers: [MetricsService, SpendService, TracingService],
  controllers: [MetricsController],
  exports: [MetricsService, SpendService, TracingService],
})
export class MetricsModule {}
