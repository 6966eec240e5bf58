import { DeploymentConfig, type GatewayConfig, parseConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import { GatewayError, type Provider } from '@gateway/providers';
import type { RedisService } from '@gateway/redis';
import {
  type AttemptCall,
  BreakerRegistry,
  type Deployment,
  Executor,
  failedRunOf,
  LatencyTracker,
  profileChat,
  type RunAttempts,
  STRATEGY_ORDER,
  Stopping,
} from '@gateway/router';
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
  /** The error's response headers, message and code, when it failed. */
  headers?: Record<string, string>;
  message?: string;
  code?: string | null;
  /** Why each failed or skipped deployment was left, as `x-gateway-fallbacks` says it (`g/0=breaker_open`). */
  fallbacks?: string[];
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
  const breakers = new BreakerRegistry(config, { client: undefined } as RedisService, metrics, clock);
  const latency = new LatencyTracker(config, clock);
  const stopping = new Stopping();
  const executor = new Executor(config, breakers, latency, metrics, clock, stopping);
  const deployments = Array.from({ length: size }, (_, i) => deployment(`g/${i}`));
  const group = { name: 'g', config: {} as never, deployments };
  const profile = profileChat({ model: 'g', messages: [{ role: 'user', content: 'hi' }] });

  /** `waitedMs`: what the request spent before the executor (Plan.waitedMs), off its deadline. */
  /** `stop`: a whole answer's (Executor.runWhole: the client leaving aborts its attempt only until the call's `sent`; `stop` does). */
  const send = async (call: AttemptCall<string>, abortAfterMs?: number, waitedMs?: number, stop?: AbortSignal): Promise<Answer> => {
    const start = clock.now();
    const ac = new AbortController();
    const cancel = abortAfterMs === undefined ? () => undefined : clock.after(abortAfterMs, () => ac.abort());
    try {
      const eligible = eligibleDeployments(group, profile, breakers, start);
      const plan = { group, profile, deployments: STRATEGY_ORDER.priority(eligible.deployments, {} as never), out: eligible.out, waitedMs };
      // A call that takes no `sent` stands for a transport that writes its request at once: it is sent when called (a
      // timeout then is the upstream's, not a wait for a connection: Executor, connectionsBusy).
      const sentAtOnce: AttemptCall<string> = call.length >= 4 ? call : (d, s, t, sent) => (sent?.(), call(d, s, t, sent));
      const run = await (stop ? executor.runWhole(plan, ac.signal, sentAtOnce, stop) : executor.run(plan, ac.signal, 'total', sentAtOnce));
      return { status: 200, result: run.result, fallbacks: fallbacksOf(run), start, end: clock.now() };
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      const run = failedRunOf(err);
      const failed = { status: err.status, headers: err.headers, message: err.message, code: err.code };
      return { ...failed, ...(run && { fallbacks: fallbacksOf(run) }), start, end: clock.now() };
    } finally {
      cancel();
    }
  };
  return { clock, metrics, breakers, latency, executor, stopping, deployments, send };
}

function fallbacksOf(run: RunAttempts): string[] {
  return run.failures.map((f) => `${f.deployment}=${f.reason}`);
}
