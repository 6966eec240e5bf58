import { Module } from '@nestjs/common';
import { ProvidersModule } from '@gateway/providers';
import { Executor } from './executor';
import { ModelCatalog } from './model-catalog';

@Module({
  imports: [ProvidersModule],
  providers: [ModelCatalog, Executor],
  exports: [ModelCatalog, Executor],
})
export class RouterModule {}
