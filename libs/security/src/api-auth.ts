import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { GatewayConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { bearerToken } from './bearer';
import { ANONYMOUS, hasExpired, type KeyRecord, secretEnded } from './key-record';
import { KeyConcurrency } from './key-concurrency';
import { KeyStore } from './key-store.service';
import { LimitsService } from './limits.service';
import { firstOnRequest } from './route-hooks';

/**
 * The gateway key: OpenAI clients send it as a bearer token, Anthropic clients may send `x-api-key`.
 * Both sent: the bearer, as Claude Code documents ANTHROPIC_AUTH_TOKEN winning over ANTHROPIC_API_KEY.
 */
function presentedKey(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer) return bearer;
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() || undefined : undefined;
}

/** How the access line names a key refused that the gateway does not know (`keyId`); never the secret sent. */
export const INVALID_KEY_ID = '(invalid)';
/** How it names a key it could not check (the key store unreachable: its 503), neither known nor refused as invalid. */
export const UNVERIFIED_KEY_ID = '(unverified)';

/** The access line's name of each refused key (refusedKeyId), set as the 401 is thrown. */
const refused = new WeakMap<FastifyRequest['raw'], string>();

/**
 * The key a refused request sent, as its access line names it: the key's id when the secret was one the gateway
 * knows (revoked, expired, rotated out), else INVALID_KEY_ID, or UNVERIFIED_KEY_ID when it could not be checked;
 * undefined when none was sent (`anonymous`). It was logged as `anonymous`, so refused-key traffic looked like
 * requests without a key.
 */
export const refusedKeyId = (request: FastifyRequest): string | undefined => refused.get(request.raw);

/**
 * `Authorization: Bearer <key>` (or `x-api-key: <key>`) on every /v1 request once GATEWAY_MASTER_KEY is set;
 * without it (local use, loopback only) requests are anonymous. Failed attempts
 * count against a per-IP limit so keys cannot be guessed at speed.
 */
@Injectable()
export class ApiAuth {
  private readonly required: boolean;

  constructor(
    config: GatewayConfig,
    private readonly keys: KeyStore,
    private readonly limits: LimitsService,
    private readonly concurrency: KeyConcurrency,
  ) {
    this.required = Boolean(config.masterKey);
  }

  /**
   * Sets `request.gatewayKey`, or throws the 401 (or, past the per-IP limit of failures, the 429).
   * Done at once (undefined) for a key the process knows (configured, or cached from Redis): no
   * promise and no tick on the request path then; a promise when Redis is asked, or for a refusal.
   */
  authenticate(request: FastifyRequest): Promise<void> | undefined {
    const presented = presentedKey(request);
    if (!presented)
      return this.reject(
        request,
        'missing_api_key',
        "You didn't provide an API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
      );
    // Only a lookup that asks Redis can fail (its promise: the key store's 503); a known answer is given at once.
    const key = this.keys.lookup(presented);
    if (!(key instanceof Promise)) return this.accept(request, key);
    return key.then(
      (found) => this.accept(request, found),
      (err: unknown) => {
        throw this.unverified(request, err);
      },
    );
  }

  /** A key the store could not look up (its 503): logged as such, not as `anonymous`, which it was. */
  private unverified(request: FastifyRequest, err: unknown): unknown {
    refused.set(request.raw, UNVERIFIED_KEY_ID);
    return err;
  }

  /** Sets `request.gatewayKey` to the key found, or refuses it. */
  private accept(request: FastifyRequest, key: KeyRecord | undefined): Promise<void> | undefined {
    if (!key) return this.reject(request, 'invalid_api_key', 'Incorrect API key provided.', INVALID_KEY_ID);
    if (key.revoked) return this.reject(request, 'invalid_api_key', 'Incorrect API key provided.', key.id);
    const now = Date.now();
    if (secretEnded(key, now)) {
      return this.reject(request, 'invalid_api_key', 'This API key was rotated and its grace period has ended: use the new key.', key.id);
    }
    if (hasExpired(key, now)) return this.reject(request, 'expired_api_key', 'This API key has expired.', key.id);
    request.gatewayKey = key;
    return undefined;
  }

  /**
   * The onRequest hook of the /v1 routes: the key (auth off, every request is anonymous: no lookup, no promise),
   * then its place among the key's requests in flight (hold).
   */
  hook(): onRequestHookHandler {
    return (request, reply, done) => {
      let pending: Promise<void> | undefined;
      try {
        if (this.required) pending = this.authenticate(request);
        else request.gatewayKey = ANONYMOUS;
        if (!pending) this.hold(request, reply);
      } catch (err) {
        return done(err as Error);
      }
      if (pending) pending.then(() => this.hold(request, reply)).then(() => done(), done);
      else done();
    };
  }

  /**
   * Takes a place among the key's requests in flight, or throws its 429 (KeyConcurrency); given back when the
   * response closes (request-hooks.ts). None for a response already closed (its client left during the lookup):
   * its close has run, and nothing would give the place back.
   */
  private hold(request: FastifyRequest, reply: FastifyReply): void {
    if (!reply.raw.closed) this.concurrency.enter(request.gatewayKey!, request.raw);
  }

  /** `keyId`: how the access line names the key sent (refusedKeyId), none when none was. */
  private async reject(request: FastifyRequest, code: string, message: string, keyId?: string): Promise<never> {
    if (keyId) refused.set(request.raw, keyId);
    await this.limits.failedAuth(request.ip, 'v1');
    throw new GatewayError(401, message, 'invalid_request_error', code);
  }
}

/**
 * Authenticates each /v1 request in its route's onRequest hook, before its body is read, parsed
 * and checked against the route's schema (a Nest guard ran after all three): a caller without a
 * valid key gets the 401 whatever its body, every such guess counts toward the per-IP limit, and
 * a valid key's 400 is logged under its id. A hook of those routes alone (probes, metrics and the
 * admin API are guarded elsewhere: admin.guard.ts).
 */
export function installApiAuth(fastify: FastifyInstance, auth: ApiAuth): void {
  firstOnRequest(fastify, (url) => url.startsWith('/v1/'), auth.hook());
}
