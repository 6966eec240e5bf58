import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig, type ProviderConfig } from '@gateway/config';
import { MetricsService } from '../../libs/metrics/src/metrics.service';
import type { RedisService } from '../../libs/redis/src/redis.service';
import { BreakerRegistry } from '../../libs/router/src/breaker-registry';
import { Clock } from '../../libs/router/src/clock';
import { deploymentFingerprint } from '../../libs/router/src/deployment-fingerprint';

const provider = (fields: Partial<ProviderConfig>) =>
  ({ name: 'oa', type: 'openai', apiKeyEnv: 'OPENAI_API_KEY', ...fields }) as ProviderConfig;

// Found by an independent check: breakers were shared in Redis by `<group>/<index>`, so removing a broken deployment
// handed its open breaker to the healthy one that moved into its place (every request 503 for the cool-down).
describe('deployment fingerprint (the key of a deployment health in Redis)', () => {
  const base = provider({ baseUrl: 'https://api.example.com/v1' });

  it('is the same on every restart and in any order of the config, short and without the key', () => {
    const config = (providers: object[], deployments: object[]) =>
      parseConfig({ providers, models: [{ name: 'g', deployments }] }, { OPENAI_API_KEY: 'sk-secret-value-0123' });
    const a = { name: 'oa', type: 'openai', apiKeyEnv: 'OPENAI_API_KEY' };
    const b = { name: 'ob', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1' };
    const one = config(
      [a, b],
      [
        { provider: 'oa', model: 'x' },
        { provider: 'ob', model: 'y' },
      ],
    );
    const other = config(
      [b, a],
      [
        { provider: 'ob', model: 'y' },
        { provider: 'oa', model: 'x' },
      ],
    );
    const of = (c: typeof one, name: string, model: string) =>
      deploymentFingerprint(
        c.providers.find((p) => p.name === name)!,
        model,
      );
    assert.equal(of(one, 'oa', 'x'), of(other, 'oa', 'x'));
    assert.equal(of(one, 'ob', 'y'), of(other, 'ob', 'y'));
    // Pinned: a replica restarted on a new build must find what the running ones stored (a change here splits a rollout).
    assert.equal(deploymentFingerprint(base, 'gpt-x'), 'R9573k12s6U65eDq');
    assert.equal(
      deploymentFingerprint(base, 'gpt-x'),
      deploymentFingerprint(provider({ baseUrl: 'https://api.example.com/v1/' }), 'gpt-x'),
    );
    assert.match(deploymentFingerprint(base, 'gpt-x'), /^[A-Za-z0-9_-]{16}$/);
    assert.doesNotMatch(deploymentFingerprint(base, 'gpt-x'), /sk-secret/);
  });

  it('differs with the upstream model, the base URL, the account, the provider type', () => {
    const prints = [
      deploymentFingerprint(base, 'gpt-x'),
      deploymentFingerprint(base, 'gpt-y'),
      deploymentFingerprint(provider({ baseUrl: 'https://eu.example.com/v1' }), 'gpt-x'),
      deploymentFingerprint(provider({ baseUrl: 'https://api.example.com/v1', apiKeyEnv: 'OPENAI_KEY_TEAM_B' }), 'gpt-x'),
      deploymentFingerprint(provider({ baseUrl: 'https://api.example.com/v1', type: 'openai-compatible' }), 'gpt-x'),
      deploymentFingerprint(provider({ name: 'm1', type: 'mock', apiKeyEnv: undefined }), 'gpt-x'),
      deploymentFingerprint(provider({ name: 'm2', type: 'mock', apiKeyEnv: undefined }), 'gpt-x'),
    ];
    assert.equal(new Set(prints).size, prints.length, prints.join(' '));
  });

  // recheck30b D2: two OpenAI projects on one key (OpenAI-Project) shared health: one project without access to a
  // model took the other, which had it, out of its group.
  it('differs with the provider`s extra headers (a project or organization), whatever their case and order', () => {
    const at = (headers: Record<string, string>) => deploymentFingerprint({ ...base, headers }, 'gpt-x');
    assert.notEqual(at({ 'OpenAI-Project': 'proj_a' }), at({ 'OpenAI-Project': 'proj_b' }));
    assert.notEqual(at({ 'OpenAI-Project': 'proj_a' }), deploymentFingerprint(base, 'gpt-x'));
    assert.equal(at({ 'OpenAI-Project': 'p', 'OpenAI-Organization': 'o' }), at({ 'openai-organization': 'o', 'openai-project': 'p' }));
    assert.equal(at({}), deploymentFingerprint(base, 'gpt-x'), 'no headers: the fingerprint as before');
  });

  it('is the same for two providers of one account, model and URL: their deployments share health, in one group or two', () => {
    assert.equal(
      deploymentFingerprint(base, 'gpt-x'),
      deploymentFingerprint({ ...base, name: 'oa-again', timeoutMs: 5 } as ProviderConfig, 'gpt-x'),
    );
    const config = parseConfig(
      {
        providers: [{ name: 'broken', type: 'mock', mock: { failRate: 1 } }],
        models: [
          { name: 'a', deployments: [{ provider: 'broken', model: 'x' }] },
          {
            name: 'b',
            deployments: [
              { provider: 'broken', model: 'y' },
              { provider: 'broken', model: 'x', id: 'b-x' },
            ],
          },
        ],
      },
      {},
    );
    const breakers = new BreakerRegistry(config, { client: undefined } as RedisService, new MetricsService(), new Clock());
    const now = Date.now();
    for (let i = 0; i < config.router.breaker.consecutiveFailures; i++) breakers.get('a/0').admit(now)?.end({ kind: 'failed' }, now);
    assert.equal(breakers.get('a/0').state, 'open');
    assert.equal(breakers.get('b-x').state, 'open', 'the same upstream model on the same account, in another group');
    assert.equal(breakers.get('b/0').state, 'closed', 'another upstream model');
  });
});
