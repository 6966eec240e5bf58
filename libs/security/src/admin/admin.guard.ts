import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The admin API answers only to `Authorization: Bearer <GATEWAY_MASTER_KEY>`, compared in constant time. */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly master: Buffer | undefined;

  constructor(config: GatewayConfig) {
    this.master = config.masterKey ? digest(config.masterKey) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.master) {
      throw new GatewayError(403, 'The admin API is off: set GATEWAY_MASTER_KEY to use it.', 'permission_error', 'admin_disabled');
    }
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!timingSafeEqual(digest(presented), this.master)) {
      throw new GatewayError(401, 'The admin API needs the master key.', 'invalid_request_error', 'invalid_api_key');
    }
    return true;
  }
}
