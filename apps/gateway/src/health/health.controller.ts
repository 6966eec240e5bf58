import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { RedisService } from '@gateway/redis';
import { ShutdownState } from './shutdown-state';

/**
 * Kubelet probes. Liveness only says the event loop answers; readiness also needs
 * Redis (when configured) and turns false as soon as a drain starts, so the load
 * balancer stops sending new requests while in-flight ones finish.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get('health')
  @HealthCheck()
  live() {
    return this.health.check([() => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) })]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const gate = this.indicators.check('gateway');
        return this.shutdown.draining ? gate.down({ message: 'draining for shutdown' }) : gate.up({ config: 'loaded' });
      },
      async () => {
        const check = this.indicators.check('redis');
        if (!this.redis.client) return check.up({ configured: false });
        return (await this.redis.ping()) ? check.up() : check.down({ message: 'Redis does not answer PING' });
      },
    ]);
  }
}
