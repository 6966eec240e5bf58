import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LimitsService } from './limits.service';

/**
 * Requests per minute per gateway key, through @nestjs/throttler with the shared
 * window counter as its storage. Answers with OpenAI's `x-ratelimit-*-requests`
 * headers and, over the limit, an OpenAI-shaped 429 with Retry-After.
 */
@Injectable()
export class RpmGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limits: LimitsService,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const key = context.switchToHttp().getRequest<FastifyRequest>().gatewayKey;
    return !key || this.limits.rpmOf(key) === undefined;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return (request as unknown as FastifyRequest).gatewayKey!.id;
  }

  protected override async handleRequest({ context, limit, ttl, throttler }: ThrottlerRequest): Promise<boolean> {
    const http = context.switchToHttp();
    const tracker = await this.getTracker(http.getRequest());
    const record = await this.storageService.increment(`gateway:rpm:${tracker}`, ttl, limit, ttl, throttler.name ?? 'rpm');
    const reply = http.getResponse<FastifyReply>();
    reply.header('x-ratelimit-limit-requests', String(limit));
    reply.header('x-ratelimit-remaining-requests', String(Math.max(0, limit - record.totalHits)));
    reply.header('x-ratelimit-reset-requests', `${record.timeToExpire}s`);
    if (record.isBlocked) throw this.limits.requestLimited(limit, record.timeToBlockExpire * 1000);
    return true;
  }
}
