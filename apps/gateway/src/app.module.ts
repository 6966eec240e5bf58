import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { CacheModule } from '@gateway/cache';
import { ConfigModule, GatewayConfig } from '@gateway/config';
import { MetricsModule } from '@gateway/metrics';
import { ProvidersModule } from '@gateway/providers';
import { RedisModule } from '@gateway/redis';
import { RouterModule } from '@gateway/router';
import { SecurityModule } from '@gateway/security';
import { ChatController } from './chat/chat.controller';
import { EmbeddingsController } from './embeddings/embeddings.controller';
import { HealthController } from './health/health.controller';
import { RedisEvictionWatch } from './health/redis-eviction';
import { ShutdownState } from './health/shutdown-state';
import { OpenAIErrorFilter } from './http/error.filter';
import { MessagesController } from './messages/messages.controller';
import { ThreadStore } from './messages/threads/thread-store';
import { MessageThreads } from './messages/threads/threads';
import { ModelsController } from './models/models.controller';
import { ChatPipeline } from './pipeline/chat-pipeline';
import { TokenCounter } from './pipeline/token-count';
import { ReasoningStateStore } from './reasoning-state/reasoning-state.store';
import { ResponsesController } from './responses/responses.controller';
import { ResponseStore } from './responses/store';

@Module({})
export class AppModule {
  /** The config and logger are built before Nest starts, so a bad config fails fast. */
  static forRoot(config: GatewayConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // nestjs-pino is Nest's logger; the per-request line is written by one
        // Fastify hook (http/request-hooks.ts), so its HTTP middleware is not mounted.
        LoggerModule.forRoot({ pinoHttp: { logger }, forRoutes: [] }),
        TerminusModule.forRoot({ logger: false }),
        RedisModule,
        MetricsModule,
        ProvidersModule,
        RouterModule,
        SecurityModule,
        CacheModule,
      ],
      controllers: [MessagesController, ResponsesController, EmbeddingsController, ModelsController, HealthController],
      providers: [
        // A Fastify route of its own (chat.controller.ts).
        ChatController,
        ShutdownState,
        RedisEvictionWatch,
        ChatPipeline,
        TokenCounter,
        ResponseStore,
        ThreadStore,
        MessageThreads,
        ReasoningStateStore,
        { provide: APP_FILTER, useClass: OpenAIErrorFilter },
      ],
    };
  }
}
