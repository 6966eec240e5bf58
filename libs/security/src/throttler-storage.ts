import type { ThrottlerStorage } from '@nestjs/throttler';
import type { LimitsService } from './limits.service';

/**
 * @nestjs/throttler storage on the gateway's window counter: Redis when configured
 * (one atomic script per request, shared by every replica), in process otherwise.
 * A blocked request is not counted, so exactly `limit` requests pass per window.
 */
export class WindowThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly limits: LimitsService) {}

  async increment(key: string, ttl: number, limit: number): ReturnType<ThrottlerStorage['increment']> {
    const { ok, used, resetMs } = await this.limits.countRequest(key, limit, ttl);
    const seconds = Math.ceil(resetMs / 1000);
    return { totalHits: ok ? used : used + 1, timeToExpire: seconds, isBlocked: !ok, timeToBlockExpire: ok ? 0 : seconds };
  }
}
