import { DynamicModule, Module } from '@nestjs/common';
import { GatewayConfig } from './gateway-config';

/**
 * Provides the validated GatewayConfig. The bootstrap loads it before Nest starts
 * (so a bad file fails fast, naming the key) and hands it in here.
 */
@Module({})
export class ConfigModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: GatewayConfig, useValue: config }],
      exports: [GatewayConfig],
    };
  }
}
