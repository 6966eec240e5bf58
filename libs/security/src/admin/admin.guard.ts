import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { type AdminRole, GatewayConfig, secretFromEnv } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { LimitsService } from '../limits.service';
import { bearerToken } from '../bearer';
import { firstOnRequest } from '../route-hooks';

const digest = (value: string) => createHash('sha256').update(value).digest();

interface AdminCredential {
  digest: Buffer;
  /** Who the audit log names: `master` or the admin key's id. */
  actor: string;
  role: AdminRole;
}

/** The actor of each admin request, set by the guard for the audit line and the access line. */
const actors = new WeakMap<FastifyRequest['raw'], string>();
export const adminActor = (request: FastifyRequest): string | undefined => actors.get(request.raw);

/**
 * The admin API answers to `Authorization: Bearer <GATEWAY_MASTER_KEY>` or to an
 * admin key from `security.adminKeys`, compared in constant time; `read` keys may
 * only GET. Failures count per IP toward `ipFailuresPerMinute` (apart from /v1's), and a
 * blocked address is refused before any comparison, so keys cannot be guessed at speed.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly credentials: AdminCredential[] = [];

  constructor(
    config: GatewayConfig,
    private readonly limits: LimitsService,
  ) {
    if (!config.masterKey) return;
    this.credentials.push({ digest: digest(config.masterKey), actor: 'master', role: 'manage' });
    for (const k of config.security.adminKeys) {
      const key = secretFromEnv(k.keyEnv);
      if (key) this.credentials.push({ digest: digest(key), actor: k.id, role: k.role });
      else new Logger('Keys').warn(`admin key ${k.id} disabled: ${k.keyEnv} is not set`);
    }
  }

  /**
   * Every admin route has the hook (installAdminAuth), which admitted the request before its body; the
   * guard keeps a route that would not have it closed all the same.
   */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!actors.has(request.raw)) await this.admit(request);
    return true;
  }

  /** The onRequest hook of the admin routes (installAdminAuth): admit, before the body is read. */
  hook(): onRequestHookHandler {
    return (request, _reply, done) => void this.admit(request).then(() => done(), done);
  }

  /** Notes who `request` is, or throws its refusal: the admin API off (403), a wrong or missing key (401), a read key's change (403). */
  private async admit(request: FastifyRequest): Promise<void> {
    if (!this.credentials.length) {
      throw new GatewayError(403, 'The admin API is off: set GATEWAY_MASTER_KEY to use it.', 'permission_error', 'admin_disabled');
    }
    this.limits.checkBlocked(request.ip);
    const presented = digest(bearerToken(request.headers.authorization) ?? '');
    // Every credential is compared, so the time taken does not say which one matched.
    const matches = this.credentials.filter((c) => timingSafeEqual(presented, c.digest));
    const credential = matches[0];
    if (!credential) {
      await this.limits.failedAuth(request.ip, 'admin');
      throw new GatewayError(401, 'The admin API needs the master key or an admin key.', 'invalid_request_error', 'invalid_api_key');
    }
    // Before the role check: the access line of a refused change names who tried it.
    actors.set(request.raw, credential.actor);
    if (credential.role === 'read' && request.method !== 'GET') {
      throw new GatewayError(403, `Admin key ${credential.actor} may only read.`, 'permission_error', 'admin_read_only');
    }
  }
}

/**
 * Checks the admin key of each admin request in its route's onRequest hook, before its body is read: a
 * wrong or missing key gets its 401 without `100 Continue` inviting the body first (a Nest guard ran
 * after the body), as /v1's does (api-auth.ts).
 */
export function installAdminAuth(fastify: FastifyInstance, guard: AdminGuard): void {
  firstOnRequest(fastify, (url) => url === '/admin' || url.startsWith('/admin/'), guard.hook());
}
