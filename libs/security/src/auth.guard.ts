import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { bearerToken } from './bearer';
import { ANONYMOUS } from './key-record';
import { KeyStore } from './key-store.service';
import { LimitsService } from './limits.service';

/** Routes that serve clients with keys; probes, metrics and the admin API are guarded elsewhere. */
export const isApiRoute = (request: FastifyRequest) => request.routeOptions.url?.startsWith('/v1/') === true;

/** The gateway key: OpenAI clients send it as a bearer token, Anthropic clients may send `x-api-key`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer) return bearer;
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() || undefined : undefined;
}

/**
 * `Authorization: Bearer <key>` (or `x-api-key: <key>`) on every /v1 request once GATEWAY_MASTER_KEY is set;
 * without it (local use, loopback only) requests are anonymous. Failed attempts
 * count against a per-IP limit so keys cannot be guessed at speed.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly required: boolean;

  constructor(
    config: GatewayConfig,
    private readonly keys: KeyStore,
    private readonly limits: LimitsService,
  ) {
    this.required = Boolean(config.masterKey);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!isApiRoute(request)) return true;
    if (!this.required) {
      request.gatewayKey = ANONYMOUS;
      return true;
    }
    const presented = presentedKey(request);
    if (!presented)
      return this.reject(
        request,
        'missing_api_key',
        "You didn't provide an API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
      );
    const key = await this.keys.lookup(presented);
    if (!key || key.revoked) return this.reject(request, 'invalid_api_key', 'Incorrect API key provided.');
    if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now())
      return this.reject(request, 'expired_api_key', 'This API key has expired.');
    request.gatewayKey = key;
    return true;
  }

  private async reject(request: FastifyRequest, code: string, message: string): Promise<never> {
    await this.limits.failedAuth(request.ip);
    throw new GatewayError(401, message, 'invalid_request_error', code);
  }
}
