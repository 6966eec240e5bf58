import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '@gateway/config';

const minimal = () => ({
  providers: [{ name: 'mock', type: 'mock' }],
  models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
});

describe('config', () => {
  it('the shipped default config loads with no environment at all', () => {
    const config = loadConfig({ GATEWAY_CONFIG: resolve(__dirname, '../../../config/gateway.yaml') });
    assert.equal(config.server.port, 3000);
    assert.equal(config.server.host, '127.0.0.1');
    assert.ok(config.models.some((m) => m.name === 'mock-1'));
    assert.ok(config.providers.some((p) => p.name === 'openai' && p.apiKeyEnv === 'OPENAI_API_KEY'));
    assert.ok(config.providers.some((p) => p.type === 'anthropic' && p.apiKeyEnv === 'ANTHROPIC_API_KEY'));
    assert.ok(config.providers.some((p) => p.type === 'gemini' && p.apiKeyEnv === 'GOOGLE_API_KEY'));
    const haiku = config.models.find((m) => m.name === 'claude-haiku-4-5')!.deployments[0];
    assert.equal(haiku.thinking, 'budget');
    assert.equal(config.models.find((m) => m.name === 'claude-sonnet-5-5')!.deployments[0].thinking, 'adaptive', 'the default');
  });

  it('fills defaults and applies environment overrides', () => {
    const config = parseConfig(minimal(), {
      PORT: '8080',
      HOST: '0.0.0.0',
      GATEWAY_MASTER_KEY: 'master-key-of-some-length',
      REDIS_URL: 'redis://r:6379',
      LOG_LEVEL: 'warn',
      SHUTDOWN_GRACE_MS: '5000',
    });
    assert.equal(config.masterKey, 'master-key-of-some-length');
    assert.equal(config.server.port, 8080);
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.logLevel, 'warn');
    assert.equal(config.server.shutdownGraceMs, 5000);
    assert.equal(config.redisUrl, 'redis://r:6379');
    assert.equal(config.providers[0].timeoutMs, 600_000);
  });

  it('Anthropic deployments bill cache writes at 1.25x input (5-minute cache) and 2x (1-hour) unless their price says otherwise', () => {
    const config = parseConfig(
      {
        providers: [
          { name: 'claude', type: 'anthropic', apiKeyEnv: 'ANTHROPIC_API_KEY' },
          { name: 'mock', type: 'mock' },
        ],
        models: [
          { name: 'sonnet', deployments: [{ provider: 'claude', model: 's', price: { input: 3, output: 15 } }] },
          { name: 'own', deployments: [{ provider: 'claude', model: 'o', price: { input: 3, cacheWrite: 4 } }] },
          { name: 'unpriced', deployments: [{ provider: 'claude', model: 'u' }] },
          { name: 'other', deployments: [{ provider: 'mock', model: 'm', price: { input: 3 } }] },
        ],
      },
      {},
    );
    const price = (name: string) => config.models.find((m) => m.name === name)!.deployments[0].price;
    assert.deepEqual([price('sonnet')!.cacheWrite, price('sonnet')!.cacheWrite1h], [3.75, 6]);
    assert.deepEqual([price('own')!.cacheWrite, price('own')!.cacheWrite1h], [4, 6]);
    assert.equal(price('unpriced'), undefined);
    assert.deepEqual([price('other')!.cacheWrite, price('other')!.cacheWrite1h], [undefined, undefined]);
  });

  const bad: [string, (c: ReturnType<typeof minimal>) => unknown, RegExp][] = [
    ['an unknown provider type', (c) => ((c.providers[0] as { type: string }).type = 'skynet'), /providers\[0\]\.type/],
    ['an unknown key (typo)', (c) => ((c.providers[0] as Record<string, unknown>).apiKeyEnvv = 'X'), /providers\[0\]\.apiKeyEnvv/],
    [
      'a deployment of an undeclared provider',
      (c) => (c.models[0].deployments[0].provider = 'ghost'),
      /models\[0\]\.deployments\[0\]\.provider: unknown provider "ghost"/,
    ],
    ['a model without deployments', (c) => (c.models[0].deployments = []), /models\[0\]\.deployments/],
    ['a duplicate model name', (c) => c.models.push({ ...c.models[0] }), /declared twice/],
    ['a duplicate provider', (c) => c.providers.push({ ...c.providers[0] }), /duplicate provider "mock"/],
    [
      'a negative price',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: -1 }),
      /models\[0\]\.deployments\[0\]\.price\.input/,
    ],
    [
      'a cache-write price that is not a number',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, cacheWrite1h: 'double' }),
      /models\[0\]\.deployments\[0\]\.price\.cacheWrite1h/,
    ],
    [
      'an openai-compatible provider without a base URL',
      (c) => c.providers.push({ name: 'x', type: 'openai-compatible' }),
      /providers\[1\]\.baseUrl: required/,
    ],
    [
      'a lower-case key variable name',
      (c) => ((c.providers[0] as Record<string, unknown>).apiKeyEnv = 'my key'),
      /providers\[0\]\.apiKeyEnv/,
    ],
    [
      'an anthropic provider without apiKeyEnv',
      (c) => c.providers.push({ name: 'a', type: 'anthropic' }),
      /providers\[1\]\.apiKeyEnv: required for type anthropic/,
    ],
    [
      'a gemini provider without apiKeyEnv',
      (c) => c.providers.push({ name: 'g', type: 'gemini' }),
      /providers\[1\]\.apiKeyEnv: required for type gemini/,
    ],
    [
      'an embeddings deployment that declares chat capabilities',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).capabilities = ['embeddings', 'tools']),
      /models\[0\]\.deployments\[0\]\.capabilities: an embeddings deployment declares no chat capabilities/,
    ],
    [
      'a model mixing chat and embeddings deployments',
      (c) => c.models[0].deployments.push({ provider: 'mock', model: 'e', capabilities: ['embeddings'] } as never),
      /models\[0\]\.deployments\[1\]\.capabilities: every deployment of a model is the same kind/,
    ],
    [
      'a semantic cache embedding model that is a chat model',
      (c) => Object.assign(c, { cache: { semantic: { embeddingModel: 'm', embeddingDimensions: 8 } } }),
      /cache\.semantic\.embeddingModel: "m" does not declare the embeddings capability/,
    ],
    [
      'an unknown thinking style',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).thinking = 'deep'),
      /models\[0\]\.deployments\[0\]\.thinking/,
    ],
    [
      'a provider timeout longer than a Node timer holds (it would fire after 1 ms)',
      (c) => ((c.providers[0] as Record<string, unknown>).timeoutMs = 2 ** 31),
      /providers\[0\]\.timeoutMs: .*2147483647/,
    ],
    [
      'a blank task-rule keyword (it would match every message)',
      (c) =>
        Object.assign(c, {
          virtualModels: [{ name: 'auto', default: 'm', rules: [{ name: 'r', match: { keywords: ['bug', ' '] }, model: 'm' }] }],
        }),
      /virtualModels\[0\]\.rules\[0\]\.match\.keywords\[1\]: a keyword is a word or phrase, not blank/,
    ],
    [
      'an attempt timeout longer than a Node timer holds',
      (c) => Object.assign(c, { router: { timeouts: { attemptMs: 30 * 24 * 3600 * 1000 } } }),
      /router\.timeouts\.attemptMs: .*2147483647/,
    ],
  ];
  for (const [name, mutate, message] of bad) {
    it(`rejects ${name}, naming the key`, () => {
      const config = minimal();
      mutate(config);
      assert.throws(
        () => parseConfig(config, {}),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }

  it('refuses to listen beyond loopback without a master key (auth would be off)', () => {
    assert.throws(() => parseConfig(minimal(), { HOST: '0.0.0.0' }), /server\.host: listening on 0\.0\.0\.0 needs GATEWAY_MASTER_KEY/);
    assert.throws(
      () => parseConfig(minimal(), { HOST: '0.0.0.0', GATEWAY_MASTER_KEY: 'short' }),
      /masterKey: GATEWAY_MASTER_KEY must be at least 16 characters/,
    );
  });

  it('refuses a master key written into the file', () => {
    assert.throws(() => parseConfig({ ...minimal(), masterKey: 'x'.repeat(20) }, {}), /set GATEWAY_MASTER_KEY in the environment/);
  });

  it('takes a provider base URL from its baseUrlEnv when set, validated like the file', () => {
    const withEnvUrl = () => ({
      ...minimal(),
      providers: [{ name: 'local', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', baseUrlEnv: 'LOCAL_BASE_URL' }],
      models: [{ name: 'm', deployments: [{ provider: 'local', model: 'm' }] }],
    });
    assert.equal(parseConfig(withEnvUrl(), {}).providers[0].baseUrl, 'http://127.0.0.1:11434/v1');
    assert.equal(parseConfig(withEnvUrl(), { LOCAL_BASE_URL: 'http://10.1.2.3:8000/v1' }).providers[0].baseUrl, 'http://10.1.2.3:8000/v1');
    assert.throws(() => parseConfig(withEnvUrl(), { LOCAL_BASE_URL: 'not a url' }), /providers\[0\]\.baseUrl/);
  });

  it('rejects a bad PORT from the environment, naming it', () => {
    assert.throws(() => parseConfig(minimal(), { PORT: 'eighty' }), /server\.port/);
  });

  it('a missing file is a ConfigError with the path', () => {
    assert.throws(() => loadConfig({ GATEWAY_CONFIG: '/nonexistent/gw.yaml' }), /cannot read gateway config \/nonexistent\/gw\.yaml/);
  });
});
