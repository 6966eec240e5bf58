import { DeploymentConfig, type GatewayConfig, parseConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { GatewayError, type Provider } from '@gateway/providers';
import type { RedisService } from '@gateway/redis';
import { type AttemptCall, BreakerRegistry, type Deployment, Executor, LatencyTracker, profileChat, STRATEGY_ORDER } from '@gateway/router';
import { eligibleDeployments } from '../../libs/router/src/eligibility';
import { FakeClock } from './fake-clock';

/** A config with no models; `router` is the router section (retry, timeouts, breaker, latency). */
export function routerConfig(router: object): GatewayConfig {
  return parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [], router }, {});
}

export function deployment(id: string): Deployment {
  return {
    id,
    provider: { name: id } as Provider,
    upstreamModel: id,
    config: Object.assign(new DeploymentConfig(), { provider: id, model: id }),
  };
}

export interface Answer {
  status: number;
  /** What the call returned (the tests' calls return the deployment id). */
  result?: string;
  /** The error's response headers, when it failed. */
  headers?: Record<string, string>;
  start: number;
  end: number;
}

/**
 * The real executor, deployment health and eligibility of a priority group
 * (`g/0` first), on a virtual clock and without Redis. `send` runs one request the
 * way the chat pipeline does: eligibility, then the plan, then the executor.
 */
export function routerHarness(config: GatewayConfig, size = 2) {
  const clock = new FakeClock();
  const metrics = new MetricsService();
  const breakers = new BreakerRegistry(config, { client: undefined } as RedisService, metrics);
  const latency = new LatencyTracker(config, clock);
  const executor = new Executor(config, breakers, latency, metrics, clock);
  const deployments = Array.from({ length: size }, (_, i) => deployment(`g/${i}`));
  const group = { name: 'g', config: {} as never, deployments };
  const profile = profileChat({ model: 'g', messages: [{ role: 'user', content: 'hi' }] });

  /** `waitedMs`: what the request spent before the executor (Plan.waitedMs), off its deadline. */
  const send = async (call: AttemptCall<string>, abortAfterMs?: number, waitedMs?: number): Promise<Answer> => {
    const start = clock.now();
    const ac = new AbortController();
    const cancel = abortAfterMs === undefined ? () => undefined : clock.after(abortAfterMs, () => ac.abort());
    try {
      const plan = {
        group,
        profile,
        deployments: STRATEGY_ORDER.priority(eligibleDeployments(group, profile, breakers, start), {} as never),
        waitedMs,
      };
      const run = await executor.run(plan, ac.signal, 'total', call);
      return { status: 200, result: run.result, start, end: clock.now() };
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      return { status: err.status, headers: err.headers, start, end: clock.now() };
    } finally {
      cancel();
    }
  };
  return { clock, metrics, breakers, latency, executor, deployments, send };
}
