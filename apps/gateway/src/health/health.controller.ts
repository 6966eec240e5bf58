import { Controller, Get, Req, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyRequest } from 'fastify';
import { CacheService } from '@gateway/cache';
import { GatewayConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { onOpsListener } from '../http/ops-plane';
import { ShutdownState } from './shutdown-state';

const PING_TIMEOUT_MS = 250;
const EMBEDDER_LOADING = 'the semantic cache embedder is loading its model';
const REDIS_REFUSED = "Redis refuses the gateway's password, user or ACL";

/**
 * Kubelet probes. Liveness only says the event loop answers; readiness turns false
 * as soon as a drain starts, so the load balancer stops sending new requests while
 * in-flight ones finish. Redis is reported but does not make a replica unready: it
 * is shared by every replica and the gateway serves without it (limits and cache
 * fail open), so failing readiness on it would take every replica out of the
 * Service at once and turn a Redis blip into a full outage (found by bench/soak).
 * A REDIS_CLUSTER setting that does not match the Redis REDIS_URL names does make it unready:
 * that is this replica's configuration, and it would serve with limits and budgets open. So does Redis refusing
 * its password, user or ACL before it has once taken everything the replica runs (RedisService.misconfigured,
 * AccessCheck): a rollout with a wrong secret stops at its first pod; found later, it is reported, not failed on.
 * The semantic cache's offline embedder does make it unready while its model loads (the first
 * second or so): a ready replica serves as configured. One whose model failed to load is ready,
 * without the semantic layer (logged), rather than never.
 *
 * With auth on, the public port's probes answer with their status alone (`{"status":"ok"}`, or
 * `{"status":"error"}` with the same 503): nothing internal goes to anonymous callers on the port a
 * load balancer exposes (Redis reachability, the embedder's state). The ops listener's probes keep
 * the details. Without auth (loopback, a laptop) both ports give them.
 */
@Controller()
export class HealthController {
  private readonly detailsOnPublicPort: boolean;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly cache: CacheService,
    private readonly shutdown: ShutdownState,
    config: GatewayConfig,
  ) {
    this.detailsOnPublicPort = !config.masterKey;
  }

  /**
   * Load balancers' default health-check path (a GKE L7 check asks for `/`): it follows `/ready`
   * (the drain, the embedder's model loading, a REDIS_CLUSTER mismatch, Redis refusing a new replica), so a load balancer checking only `/` takes the
   * replica out during the drain's delay and sends it nothing before the semantic layer can serve.
   * Redis is not pinged here: `/ready` reports it without failing on it.
   */
  @Get()
  root() {
    if (this.shutdown.draining) throw new ServiceUnavailableException('Draining for shutdown.');
    if (this.cache.embedderState === 'loading') throw new ServiceUnavailableException(`Not ready: ${EMBEDDER_LOADING}.`);
    if (this.redis.clusterMismatch)
      throw new ServiceUnavailableException('Not ready: REDIS_CLUSTER does not match the Redis REDIS_URL names.');
    if (this.redis.misconfigured?.blocking) throw new ServiceUnavailableException(`Not ready: ${REDIS_REFUSED}.`);
    return { status: 'ok' };
  }

  @Get('health')
  @HealthCheck()
  live(@Req() request: FastifyRequest) {
    return this.report(
      request,
      this.health.check([() => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) })]),
    );
  }

  @Get('ready')
  @HealthCheck()
  ready(@Req() request: FastifyRequest) {
    return this.report(request, this.checkReady());
  }

  /** Terminus' report, or, on the public port with auth on, its status alone (a failed check still a 503). */
  private async report(request: FastifyRequest, check: Promise<HealthCheckResult>): Promise<HealthCheckResult | { status: 'ok' }> {
    if (this.detailsOnPublicPort || onOpsListener(request)) return check;
    try {
      await check;
    } catch (err) {
      if (err instanceof ServiceUnavailableException) throw new ServiceUnavailableException({ status: 'error' });
      throw err;
    }
    return { status: 'ok' };
  }

  private checkReady(): Promise<HealthCheckResult> {
    return this.health.check([
      () => {
        const gate = this.indicators.check('gateway');
        return this.shutdown.draining ? gate.down({ message: 'draining for shutdown' }) : gate.up({ config: 'loaded' });
      },
      async () => {
        const check = this.indicators.check('redis');
        if (!this.redis.client) return check.up({ configured: false });
        // A config error of this replica (REDIS_CLUSTER), unlike an outage of the Redis all replicas share.
        const mismatch = this.redis.clusterMismatch;
        if (mismatch) return check.down({ message: mismatch });
        const refused = this.redis.misconfigured;
        if (refused?.blocking) return check.down({ message: refused.message });
        // A short PING (a cluster's state): the probe must answer quickly even when Redis hangs.
        const status: Record<string, unknown> = await this.redis.status(PING_TIMEOUT_MS);
        if (refused) status.misconfigured = refused.message;
        return check.up(status);
      },
      () => {
        const check = this.indicators.check('embedder');
        const state = this.cache.embedderState;
        if (!state) return check.up({ semantic: 'off' });
        return state === 'loading' ? check.down({ state, message: EMBEDDER_LOADING }) : check.up({ state });
      },
    ]);
  }
}
