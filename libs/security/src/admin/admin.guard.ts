import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { LimitsService } from '../limits.service';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The admin API answers only to `Authorization: Bearer <GATEWAY_MASTER_KEY>`,
 * compared in constant time. Failures count toward the same per-IP limit as
 * /v1, so the master key cannot be guessed at speed either.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly master: Buffer | undefined;

  constructor(
    config: GatewayConfig,
    private readonly limits: LimitsService,
  ) {
    this.master = config.masterKey ? digest(config.masterKey) : undefined;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.master) {
      throw new GatewayError(403, 'The admin API is off: set GATEWAY_MASTER_KEY to use it.', 'permission_error', 'admin_disabled');
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    this.limits.checkBlocked(request.ip);
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!timingSafeEqual(digest(presented), this.master)) {
      await this.limits.failedAuth(request.ip);
      throw new GatewayError(401, 'The admin API needs the master key.', 'invalid_request_error', 'invalid_api_key');
    }
    return true;
  }
}
