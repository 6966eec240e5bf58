import { configWith } from '../../test/support/gateway';
import type { Scenario } from './schedule';

/** The soak's gateway keys (ids and the keys themselves; the env variable is SOAK_KEY_<ID>). */
export const SOAK_KEYS: Record<string, string> = {
  alpha: 'gw-soak-alpha-0123456789',
  beta: 'gw-soak-beta-0123456789',
  gamma: 'gw-soak-gamma-0123456789',
  /** Driven above its RPM on purpose: its 429s show the shared limiter works, stops (fail-open) and recovers. */
  limited: 'gw-soak-limited-0123456789',
};
export const LIMITED_RPM = 10;
/** The router's breaker cool-down in the soak: how long after a fault a deployment may stay out. */
export const BREAKER_COOLDOWN_MS = 5_000;

const keyEnv = (id: string) => `SOAK_KEY_${id.toUpperCase()}`;

/**
 * Two OpenAI-compatible providers on the fake upstreams: `flaky` (the one faults are
 * injected into) first, `steady` as the healthy fallback, for a plain and a slowly
 * streaming (`drip-150`: a word every 150 ms) model group. Router timeouts and the
 * breaker are scaled to the soak's seconds-long fault windows.
 */
export function soakConfig(flakyUrl: string, steadyUrl: string, embedder: 'mock' | 'use', scenario: Scenario = 'mixed') {
  const provider = (name: string, baseUrl: string) => ({
    name,
    type: 'openai-compatible',
    baseUrl,
    apiKeyEnv: 'SOAK_UPSTREAM_KEY',
    timeoutMs: 10_000,
    connectTimeoutMs: 1_000,
  });
  const group = (name: string, upstreamModel: string) => ({
    name,
    strategy: 'priority',
    deployments: [
      { provider: 'flaky', model: upstreamModel, price: { input: 0.15, output: 0.6 } },
      { provider: 'steady', model: upstreamModel, price: { input: 0.15, output: 0.6 } },
    ],
  });
  return configWith({
    server: { shutdownGraceMs: 20_000, logLevel: 'info' },
    providers: [provider('flaky', flakyUrl), provider('steady', steadyUrl)],
    models: [group('chat', 'ok'), group('chat-drip', 'drip-150')],
    router: {
      // The storm scenario uses issue #12's harness settings: 3 attempts per deployment.
      retry: { attemptsPerDeployment: scenario === 'storm' ? 3 : 2, backoffMs: 50, maxBackoffMs: 500, retryAfterCapMs: 2_000 },
      timeouts: { attemptMs: 3_000, deadlineMs: 12_000 },
      breaker: { consecutiveFailures: 5, failureRate: 0.5, minRequests: 20, windowMs: 10_000, cooldownMs: BREAKER_COOLDOWN_MS },
    },
    security: {
      keys: [
        { id: 'alpha', keyEnv: keyEnv('alpha') },
        { id: 'beta', keyEnv: keyEnv('beta') },
        // A daily budget far above what the soak spends: the budget check runs (and must fail open) on every request.
        { id: 'gamma', keyEnv: keyEnv('gamma'), budget: { usd: 1_000, period: 'daily' } },
        { id: 'limited', keyEnv: keyEnv('limited'), rpm: LIMITED_RPM },
      ],
    },
    cache: {
      // The storm scenario is about routing: its prompts are all unique, and caching them would only fill memory.
      enabled: scenario === 'mixed',
      embedded: { maxMemoryMb: 32 },
      semantic: embedder === 'mock' ? { embeddingModel: 'mock-embedding', embeddingDimensions: 256 } : {},
    },
  });
}

/** The proxy's readiness probing, as a kubelet's: every second, out after two failures. */
export const READINESS = { probeEveryMs: 1_000, failureThreshold: 2 };

export function soakEnv(redisUrl: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    // As the chart's shutdownDelaySeconds: a gateway keeps accepting after SIGTERM until the
    // proxy has taken it out, as Kubernetes removes the endpoint first. With no delay (the
    // tests' default), a connection the kernel completed just as the listener closed was
    // reset and lost (1 request in a busy CI run).
    SHUTDOWN_DELAY_MS: String(READINESS.failureThreshold * READINESS.probeEveryMs + 2_000),
    GATEWAY_MASTER_KEY: 'gw-soak-master-0123456789',
    SOAK_UPSTREAM_KEY: 'sk-fake-upstream',
    LOG_LEVEL: 'info',
    ...Object.fromEntries(Object.entries(SOAK_KEYS).map(([id, key]) => [keyEnv(id), key])),
  };
}
