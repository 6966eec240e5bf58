import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ConfigError, configSecrets, configWarnings, loadConfig, parseConfig, redisUrls } from '@gateway/config';
import { profileChat, TaskRouter } from '@gateway/router';

const minimal = () => ({
  providers: [{ name: 'mock', type: 'mock' }],
  models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
});
const rule = (name: string) => ({ name, match: { task: 't' }, model: 'm' });
const virtualModel = (name: string) => ({ name, default: 'm', rules: [rule('r')] });
const key = (id: string, keyEnv: string) => ({ id, keyEnv, budget: { usd: 5 } });
const adminKey = (id: string, keyEnv: string) => ({ id, keyEnv, role: 'read' });
/** minimal() with a virtual model, a declared key and an admin key. */
const complete = () => ({
  ...minimal(),
  virtualModels: [virtualModel('auto')],
  security: { keys: [key('team', 'K1')], adminKeys: [adminKey('ops', 'A1')] },
});
const header = (c: ReturnType<typeof minimal>, headers: unknown) => Object.assign(c.providers[0], { headers });

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
    // Found by an independent check: priority answers were billed at the standard price, audio at the text one.
    const price = (model: string) => config.models.find((m) => m.name === model)!.deployments[0].price!;
    const priority = price('gpt-4.1').tiers!.priority!;
    assert.deepEqual([priority.input, priority.output, priority.cachedInput], [3.5, 14, undefined]);
    assert.equal(price('gemini-2.5-flash-lite').audioInput, 0.3);
  });

  // Found by an independent check: price.tiers.ultrafast was refused ("property ultrafast should not exist"), so OpenAI's
  // Ultrafast answers (6x the standard rates) could not be priced.
  it('takes rates for any service tier an upstream may name (ultrafast, scale, a new one)', () => {
    const file = minimal();
    const tiers = { ultrafast: { input: 12, output: 48 }, scale: { input: 2 }, 'turbo-2': { output: 9 } };
    Object.assign(file.models[0].deployments[0], { price: { input: 2, output: 8, tiers } });
    const parsed = parseConfig(file, {}).models[0].deployments[0].price!.tiers!;
    assert.deepEqual(Object.keys(parsed), ['ultrafast', 'scale', 'turbo-2']);
    assert.deepEqual([parsed.ultrafast.input, parsed.ultrafast.output, parsed.scale.input, parsed['turbo-2'].output], [12, 48, 2, 9]);
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
    assert.equal(config.providers[0].maxResponseBytes, 256 * 1024 * 1024);
  });

  // Cache reads found by an independent check: they defaulted to the plain input price, ten times Anthropic's.
  // Web searches found by an independent check: the shipped config billed them at $0.
  it('Anthropic deployments bill cache reads at 0.1x input, writes at 1.25x (5-minute cache) and 2x (1-hour), web searches at $10 per 1,000, unless their price says otherwise', () => {
    const config = parseConfig(
      {
        providers: [
          { name: 'claude', type: 'anthropic', apiKeyEnv: 'ANTHROPIC_API_KEY' },
          { name: 'mock', type: 'mock' },
        ],
        models: [
          { name: 'sonnet', deployments: [{ provider: 'claude', model: 's', price: { input: 3, output: 15 } }] },
          {
            name: 'own',
            deployments: [{ provider: 'claude', model: 'o', price: { input: 3, output: 15, cachedInput: 0.5, cacheWrite: 4 } }],
          },
          { name: 'unpriced', deployments: [{ provider: 'claude', model: 'u' }] },
          { name: 'no-search-fee', deployments: [{ provider: 'claude', model: 'n', price: { input: 3, output: 15, webSearch: 0 } }] },
          { name: 'other', deployments: [{ provider: 'mock', model: 'm', price: { input: 3, output: 15 } }] },
          {
            name: 'long',
            deployments: [
              { provider: 'claude', model: 'l', price: { input: 1, output: 5, longContext: { above: 100_000, input: 5, output: 25 } } },
            ],
          },
        ],
      },
      {},
    );
    const price = (name: string) => config.models.find((m) => m.name === name)!.deployments[0].price;
    const cache = (name: string) => [price(name)!.cachedInput, price(name)!.cacheWrite, price(name)!.cacheWrite1h];
    assert.deepEqual(cache('sonnet'), [3 * 0.1, 3.75, 6]);
    assert.deepEqual(cache('own'), [0.5, 4, 6]);
    assert.equal(price('unpriced'), undefined);
    assert.deepEqual(cache('other'), [undefined, undefined, undefined]);
    const webSearch = (name: string) => price(name)!.webSearch;
    assert.deepEqual([webSearch('sonnet'), webSearch('no-search-fee'), webSearch('other')], [10, 0, undefined]);
    const tier = price('long')!.longContext!;
    assert.deepEqual(
      [tier.cachedInput, tier.cacheWrite, tier.cacheWrite1h],
      [5 * 0.1, 5 * 1.25, 5 * 2],
      'a long-context tier derives its own',
    );
  });

  it('a price that says each side it bills loads: 0 said explicitly, and an embeddings deployment with input alone', () => {
    const config = parseConfig(
      {
        ...minimal(),
        models: [
          { name: 'free', deployments: [{ provider: 'mock', model: 'f', price: { input: 0, output: 0 } }] },
          { name: 'embed', deployments: [{ provider: 'mock', model: 'e', capabilities: ['embeddings'], price: { input: 0.02 } }] },
        ],
      },
      {},
    );
    assert.deepEqual(
      config.models.map((m) => [m.deployments[0].price!.input, m.deployments[0].price!.output]),
      [
        [0, 0],
        [0.02, 0],
      ],
    );
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
    // Found by an independent check: a `*` anywhere but the end was taken literally and matched no model.
    [
      'a key models entry with * before its end',
      (c) => Object.assign(c, { security: { keys: [{ ...key('team', 'K1'), models: ['m*x'] }] } }),
      /security\.keys\[0\]\.models: each value in models must be a model name, or a prefix ending in \*/,
    ],
    [
      'a key models prefix no model starts with',
      (c) => Object.assign(c, { security: { keys: [{ ...key('team', 'K1'), models: ['gpt-*'] }] } }),
      /security\.keys\[0\]\.models: no model matches "gpt-\*"/,
    ],
    ['a duplicate model name', (c) => c.models.push({ ...c.models[0] }), /declared twice/],
    [
      'two deployments with one id (logs, metrics and headers would merge them)',
      (c) =>
        c.models.push({
          name: 'n',
          deployments: [
            { provider: 'mock', model: 'a', id: 'x' },
            { provider: 'mock', model: 'b', id: 'x' },
          ] as never,
        }),
      /models\[1\]\.deployments\[1\]: deployment id "x" is also models\[1\]\.deployments\[0\]'s/,
    ],
    [
      "a deployment id that is another deployment's <model>/<index>",
      (c) => c.models.push({ name: 'n', deployments: [{ provider: 'mock', model: 'a', id: 'm/0' }] as never }),
      /models\[1\]\.deployments\[0\]: deployment id "m\/0" is also models\[0\]\.deployments\[0\]'s/,
    ],
    ['a deployment id with a space', (c) => Object.assign(c.models[0].deployments[0], { id: 'a b' }), /models\[0\]\.deployments\[0\]\.id/],
    ['a duplicate provider', (c) => c.providers.push({ ...c.providers[0] }), /providers\[1\]\.name: "mock" is also providers\[0\]\.name/],
    [
      'two declared keys with one id (their limits, spend and metrics would merge)',
      (c) => Object.assign(c, { security: { keys: [key('team', 'K1'), key('team', 'K2')] } }),
      /security\.keys\[1\]\.id: "team" is also security\.keys\[0\]\.id/,
    ],
    [
      'two admin keys with one id',
      (c) => Object.assign(c, { security: { adminKeys: [adminKey('ops', 'A1'), adminKey('ops', 'A2')] } }),
      /security\.adminKeys\[1\]\.id: "ops" is also security\.adminKeys\[0\]\.id/,
    ],
    [
      'two virtual models with one name (the first would be dropped)',
      (c) => Object.assign(c, { virtualModels: [virtualModel('auto'), virtualModel('auto')] }),
      /virtualModels\[1\]\.name: "auto" is also virtualModels\[0\]\.name/,
    ],
    ['a section given as a list', (c) => Object.assign(c, { router: [] }), /^[^:]+: router: router must be a mapping$/],
    ['a section given as a number', (c) => Object.assign(c, { server: 5 }), /^[^:]+: server: server must be a mapping$/],
    ['a list item given as a list', (c) => c.providers.push([] as never), /providers: each item of providers must be a mapping/],
    [
      'a task rule without match',
      (c) => Object.assign(c, { virtualModels: [{ name: 'auto', default: 'm', rules: [{ name: 'r', model: 'm' }] }] }),
      /^[^:]+: virtualModels\[0\]\.rules\[0\]\.match: match must be a mapping$/,
    ],
    ['headers given as a string', (c) => header(c, 'OpenAI-Organization: org-1'), /providers\[0\]\.headers: headers must be a mapping/],
    [
      'a header value that is a mapping',
      (c) => header(c, { 'OpenAI-Organization': { id: 'org-1' } }),
      /providers\[0\]\.headers: header "OpenAI-Organization": the value must be a string/,
    ],
    [
      'a header value that is a number',
      (c) => header(c, { 'X-Version': 1.1 }),
      /providers\[0\]\.headers: header "X-Version": the value must be a string/,
    ],
    [
      'a header name with a space',
      (c) => header(c, { 'Open AI-Org': 'org-1' }),
      /providers\[0\]\.headers: header name "Open AI-Org" is not an HTTP token/,
    ],
    // Found by an independent ops check: it replaced the apiKeyEnv key upstream, and an upstream echoing it reached the client.
    ...['Authorization', 'x-api-key', 'X-Goog-Api-Key', 'api-key', 'Proxy-Authorization'].map(
      (name): [string, (c: ReturnType<typeof minimal>) => unknown, RegExp] => [
        `a credential in the upstream headers (${name})`,
        (c) => header(c, { [name]: 'Bearer sk-proj-in-the-yaml' }),
        new RegExp(
          `providers\\[0\\]\\.headers: header "${name}" carries a credential: secrets never live in the config; put the key in the variable apiKeyEnv names$`,
        ),
      ],
    ),
    [
      'a header value with a line break',
      (c) => header(c, { 'X-Org': 'a\r\nX-Injected: 1' }),
      /providers\[0\]\.headers: header "X-Org": the value contains a line break/,
    ],
    [
      'an attempt timeout longer than the deadline',
      (c) => Object.assign(c, { router: { timeouts: { attemptMs: 90_000, deadlineMs: 60_000 } } }),
      /router\.timeouts\.attemptMs: 90000 is longer than deadlineMs \(60000\)/,
    ],
    // Found by a check: a first backoff above its cap was accepted, every backoff then silently the cap.
    [
      'a first backoff above its cap',
      (c) => Object.assign(c, { router: { retry: { backoffMs: 5_000, maxBackoffMs: 1_000 } } }),
      /router\.retry\.backoffMs: 5000 is above router\.retry\.maxBackoffMs \(1000\)/,
    ],
    [
      'a task rule whose minPromptTokens is above its maxPromptTokens',
      (c) =>
        Object.assign(c, {
          virtualModels: [
            { name: 'auto', default: 'm', rules: [{ name: 'r', model: 'm', match: { minPromptTokens: 100, maxPromptTokens: 10 } }] },
          ],
        }),
      /virtualModels\[0\]\.rules\[0\]\.match\.minPromptTokens: 100 is above maxPromptTokens \(10\)/,
    ],
    [
      'a weighted group whose weights are all 0',
      (c) => Object.assign(c.models[0], { strategy: 'weighted', deployments: [{ provider: 'mock', model: 'm', weight: 0 }] }),
      /models\[0\]\.deployments: every weight is 0/,
    ],
    [
      'an empty alias',
      (c) => Object.assign(c.models[0], { aliases: ['fast', ''] }),
      /models\[0\]\.aliases: each value in aliases must match/,
    ],
    ['a blank alias', (c) => Object.assign(c.models[0], { aliases: [' '] }), /models\[0\]\.aliases: each value in aliases must match/],
    [
      'an empty upstream model id',
      (c) => (c.models[0].deployments[0].model = ''),
      /models\[0\]\.deployments\[0\]\.model: model must be the upstream model id/,
    ],
    [
      'a negative price',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: -1 }),
      /models\[0\]\.deployments\[0\]\.price\.input/,
    ],
    [
      'a long-context tier without its length',
      (c) =>
        ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, longContext: { input: 2, output: 3 } }),
      /models\[0\]\.deployments\[0\]\.price\.longContext\.above/,
    ],
    [
      'a cache-write price that is not a number',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, cacheWrite1h: 'double' }),
      /models\[0\]\.deployments\[0\]\.price\.cacheWrite1h/,
    ],
    [
      'an audio price that is negative',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, audioInput: -1 }),
      /models\[0\]\.deployments\[0\]\.price\.audioInput/,
    ],
    [
      'a service tier price that is not a number',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { priority: { input: 'x' } } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: priority\.input: .*input must be a number/,
    ],
    [
      "a fast mode price (Anthropic's speed: fast) that is negative",
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { fast: { output: -1 } } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: fast\.output: output must not be less than 0/,
    ],
    [
      'a tier named as the standard price (default, standard, auto)',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { default: { input: 2 } } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: default: the standard price/,
    ],
    [
      'a tier name no upstream spells so',
      (c) =>
        ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { 'Ultra Fast': { input: 2 } } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: "Ultra Fast"/,
    ],
    [
      'a tier whose rates are a list',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { ultrafast: [6] } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: ultrafast must be a mapping/,
    ],
    [
      'a rate a tier has not',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = { input: 1, output: 2, tiers: { ultrafast: { inptu: 6 } } }),
      /models\[0\]\.deployments\[0\]\.price\.tiers: ultrafast\.inptu: property inptu should not exist/,
    ],
    // Found by an independent check: a side left out was billed at $0, silently (no price at all is warned of).
    ...(
      [
        ['output', { input: 1 }],
        ['input', { output: 1 }],
        ['input', {}],
        ['input', { cachedInput: 0.5, webSearch: 10 }],
      ] as const
    ).map(([side, price]): [string, (c: ReturnType<typeof minimal>) => unknown, RegExp] => [
      `a chat deployment's price without ${side} (${JSON.stringify(price)})`,
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).price = price),
      new RegExp(
        `models\\[0\\]\\.deployments\\[0\\]\\.price\\.${side}: missing: deployment m/0 \\(mock m\\) would bill its ${side} tokens at \\$0;`,
      ),
    ]),
    [
      "an embeddings deployment's price without input",
      (c) =>
        c.models.push({
          name: 'e',
          deployments: [{ provider: 'mock', model: 'e', capabilities: ['embeddings'], price: { output: 0 } }],
        } as never),
      /models\[1\]\.deployments\[0\]\.price\.input: missing: deployment e\/0 \(mock e\) would bill its input tokens at \$0;/,
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
      'a mock block on a provider that is not a mock (it would do nothing)',
      (c) => c.providers.push({ name: 'o', type: 'openai', mock: { failRate: 0.5 } } as never),
      /providers\[1\]\.mock: only a provider of type mock takes a mock block \(this one is openai\)/,
    ],
    [
      'an embeddings deployment that declares chat capabilities',
      (c) => ((c.models[0].deployments[0] as Record<string, unknown>).capabilities = ['embeddings', 'tools']),
      /models\[0\]\.deployments\[0\]\.capabilities: an embeddings deployment declares no chat capabilities/,
    ],
    [
      'an embeddings deployment on an anthropic provider (Anthropic has no embeddings API)',
      (c) => {
        c.providers.push({ name: 'ant', type: 'anthropic', apiKeyEnv: 'ANT_KEY' } as never);
        (c.models[0].deployments[0] as Record<string, unknown>).provider = 'ant';
        (c.models[0].deployments[0] as Record<string, unknown>).capabilities = ['embeddings'];
      },
      /models\[0\]\.deployments\[0\]\.capabilities: provider "ant" is of type anthropic, which has no embeddings API/,
    ],
    [
      'audio declared on an anthropic provider (Claude takes no audio input)',
      (c) => {
        c.providers.push({ name: 'ant', type: 'anthropic', apiKeyEnv: 'ANT_KEY' } as never);
        (c.models[0].deployments[0] as Record<string, unknown>).provider = 'ant';
        (c.models[0].deployments[0] as Record<string, unknown>).capabilities = ['vision', 'audio'];
      },
      /models\[0\]\.deployments\[0\]\.capabilities: provider "ant" is of type anthropic, which takes no audio input/,
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
      'an output-limit field OpenAI does not name, naming the value',
      (c) => ((c.providers[0] as Record<string, unknown>).maxTokensField = 'max_token'),
      /providers\[0\]\.maxTokensField: "max_token" is not one of max_tokens, max_completion_tokens/,
    ],
    [
      'a streamOptions that is no boolean, naming the value',
      (c) => ((c.providers[0] as Record<string, unknown>).streamOptions = 'no'),
      /providers\[0\]\.streamOptions: "no" is not true or false/,
    ],
    [
      'a provider timeout longer than a Node timer holds (it would fire after 1 ms)',
      (c) => ((c.providers[0] as Record<string, unknown>).timeoutMs = 2 ** 31),
      /providers\[0\]\.timeoutMs: .*2147483647/,
    ],
    [
      'a maxResponseBytes past V8`s longest string (no answer that long could be read)',
      (c) => ((c.providers[0] as Record<string, unknown>).maxResponseBytes = 2 ** 29),
      /providers\[0\]\.maxResponseBytes: maxResponseBytes must not be greater than 536870888/,
    ],
    [
      'a maxResponseBytes under 1 KiB',
      (c) => ((c.providers[0] as Record<string, unknown>).maxResponseBytes = 0),
      /providers\[0\]\.maxResponseBytes: maxResponseBytes must not be less than 1024/,
    ],
    [
      'a blank task-rule keyword (it would match every message)',
      (c) =>
        Object.assign(c, {
          virtualModels: [{ name: 'auto', default: 'm', rules: [{ name: 'r', match: { keywords: ['bug', ' '] }, model: 'm' }] }],
        }),
      /virtualModels\[0\]\.rules\[0\]\.match\.keywords\[1\]: a keyword is a word or phrase, not blank/,
    ],
    // Found by an independent check: a key's id is its tenant, so a key `master` read the master
    // key's stored responses and shared its limit counters, spend and cache namespace.
    ...['master', 'anonymous'].map((id): [string, (c: ReturnType<typeof minimal>) => unknown, RegExp] => [
      `a key whose id is the ${id} tenant's (${id})`,
      (c) => Object.assign(c, { security: { keys: [key('team', 'K1'), key(id, 'K2')] } }),
      /security\.keys\[1\]\.id: id must not be master or anonymous/,
    ]),
    [
      'an unknown metrics.keyLabel',
      (c) => Object.assign(c, { metrics: { keyLabel: 'some' } }),
      /metrics\.keyLabel: keyLabel must be one of the following values: configured, all, none/,
    ],
    // Found by an independent check: a rule routing to a declared virtual model was "unknown model".
    [
      'a virtual model routing to another virtual model',
      (c) =>
        Object.assign(c, { virtualModels: [virtualModel('v1'), virtualModel('v2')].map((v, i) => ({ ...v, default: i ? 'm' : 'v2' })) }),
      /virtualModels\[0\]\.default: "v2" is a virtual model; a virtual model routes to a model \(models\[\]\.name or an alias\), not to another virtual model$/,
    ],
    [
      'a virtual model routing to itself',
      (c) => Object.assign(c, { virtualModels: [{ ...virtualModel('v1'), rules: [{ name: 'r', match: { task: 't' }, model: 'v1' }] }] }),
      /virtualModels\[0\]\.rules\[0\]\.model: "v1" is a virtual model/,
    ],
    // Found by an independent check: x-gateway-route names the rule that fired, which two alike (or none) cannot.
    [
      'two task rules with one name',
      (c) => Object.assign(c, { virtualModels: [{ ...virtualModel('auto'), rules: [rule('r'), rule('r')] }] }),
      /virtualModels\[0\]\.rules\[1\]\.name: "r" is also virtualModels\[0\]\.rules\[0\]\.name$/,
    ],
    [
      'an empty task-rule name',
      (c) => Object.assign(c, { virtualModels: [{ ...virtualModel('auto'), rules: [rule('')] }] }),
      /virtualModels\[0\]\.rules\[0\]\.name: name must name the rule, not be empty$/,
    ],
    [
      'a task rule named like the default route',
      (c) => Object.assign(c, { virtualModels: [{ ...virtualModel('auto'), rules: [rule('default')] }] }),
      /virtualModels\[0\]\.rules\[0\]\.name: "default" names the route taken when no rule matches$/,
    ],
    // Patterns are compiled with the u flag (so \p{…} is a class): one that is no expression under it is refused.
    [
      'a task-rule pattern that is no regular expression with the u flag',
      (c) => Object.assign(c, { virtualModels: [{ ...virtualModel('auto'), rules: [{ ...rule('r'), match: { pattern: 'a\\-b' } }] }] }),
      /virtualModels\[0\]\.rules\[0\]\.match\.pattern: Invalid regular expression: \/a\\-b\/iu: Invalid escape$/,
    ],
    [
      'an attempt timeout longer than a Node timer holds',
      (c) => Object.assign(c, { router: { timeouts: { attemptMs: 30 * 24 * 3600 * 1000 } } }),
      /router\.timeouts\.attemptMs: .*2147483647/,
    ],
  ];
  // Task-rule patterns are compiled with the u flag now: the README's worked example still loads.
  it("the README's routing example loads, its task-rule pattern included", () => {
    const readme = readFileSync(resolve(__dirname, '../../../README.md'), 'utf8');
    const example = /```yaml\n(models:\n[^`]*?\nvirtualModels:[^`]*?)```/.exec(readme);
    assert.ok(example, 'README has the worked example');
    const parsed = parseYaml(example[1]) as { models: { deployments: { provider: string }[] }[] };
    const providers = [...new Set(parsed.models.flatMap((m) => m.deployments.map((d) => d.provider)))].map((name) => ({
      name,
      type: 'mock',
    }));
    const auto = new TaskRouter(parseConfig({ ...parsed, providers }, {}).virtualModels[0]);
    const question = profileChat({ model: 'auto', messages: [{ role: 'user', content: 'why does this Python function raise?' }] });
    assert.deepEqual(auto.decide(question, undefined), { model: 'strong-code', rule: 'code' });
  });

  // Raised by an independent check (keys2 e, g): the admin API refuses these (400). Then by a rolling-upgrade check
  // (upgrade24 D4): the last release ran with such a config, which then stopped this one at start-up (exit 78),
  // so a `helm upgrade` crash-looped: a config key is warned of instead, by its path.
  const warned: [string, (c: ReturnType<typeof minimal>) => unknown, RegExp][] = [
    [
      'a budget of more than $1,000,000 a period (a typo)',
      (c) => Object.assign(c, { security: { keys: [{ ...key('team', 'K1'), budget: { usd: 1e308 } }] } }),
      /security\.keys\[0\]\.budget\.usd: 1e\+308 is over 1000000/,
    ],
    [
      'a defaultTpm below the defaultRpm (every request uses at least one token)',
      (c) => Object.assign(c, { security: { defaultRpm: 60, defaultTpm: 30 } }),
      /security\.defaultTpm: 30 is below security\.defaultRpm \(60\)/,
    ],
    [
      "a key's tpm below the defaultRpm it is held to",
      (c) => Object.assign(c, { security: { defaultRpm: 60, keys: [{ ...key('team', 'K1'), tpm: 30 }] } }),
      /security\.keys\[0\]\.tpm: 30 is below its rpm \(60, security\.defaultRpm\)/,
    ],
    [
      "a key's rpm above the defaultTpm it is held to",
      (c) => Object.assign(c, { security: { defaultTpm: 1000, keys: [{ ...key('team', 'K1'), rpm: 5000 }] } }),
      /security\.keys\[0\]\.rpm: 5000 is above its tpm \(1000, security\.defaultTpm\)/,
    ],
  ];

  for (const [name, mutate, message] of warned) {
    it(`starts with ${name}, warning of it by its path`, () => {
      const config = minimal();
      mutate(config);
      const warnings = configWarnings(parseConfig(config, { K1: 'k1-secret-0123456789abcdef' }));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], message);
    });
  }

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

  it('a key models entry ending in * allows every model whose name starts with the rest; * alone, every model', () => {
    for (const models of [['m*'], ['*'], ['m']]) {
      const config = parseConfig({ ...minimal(), security: { keys: [{ ...key('team', 'K1'), models }] } }, { K1: 'k'.repeat(16) });
      assert.deepEqual(config.security.keys[0].models, models);
    }
  });

  // What YAML gives for a key whose children are all commented out: null, meaning the section's defaults.
  const emptySections = [
    'virtualModels:',
    'router:',
    'router: { retry: }',
    'router: { timeouts: }',
    'router: { breaker: }',
    'router: { latency: }',
    'router: { reasoningState: }',
    'security:',
    'security: { keys: }',
    'security: { failOpen: }',
    'cache:',
    'cache: { semantic: }',
    'responses:',
    'messages:',
    'messages: { threads: }',
    'redis:',
    'server:',
    'server: { redactPatterns: }',
  ];
  for (const yaml of emptySections) {
    it(`takes an empty section (\`${yaml}\`) as that section's defaults`, () => {
      const config = parseConfig({ ...minimal(), ...parseYaml(yaml) }, {});
      assert.deepEqual(config, parseConfig(minimal(), {}));
    });
  }

  it('a deadline set alone bounds the default attempt timeout instead of contradicting it', () => {
    const { timeouts } = parseConfig({ ...minimal(), router: { timeouts: { deadlineMs: 60_000 } } }, {}).router;
    assert.deepEqual([timeouts.attemptMs, timeouts.deadlineMs], [60_000, 60_000]);
    assert.equal(parseConfig(minimal(), {}).router.timeouts.attemptMs, 120_000);
  });

  it('applies the environment to an empty server section', () => {
    assert.equal(parseConfig({ ...minimal(), server: null }, { PORT: '8080' }).server.port, 8080);
  });

  // Every key a config class declares without @IsOptional: left out, or left empty (null), it is refused by name.
  const required: (string | number)[][] = [
    ['providers'],
    ['providers', 0, 'name'],
    ['providers', 0, 'type'],
    ['models'],
    ['models', 0, 'name'],
    ['models', 0, 'deployments'],
    ['models', 0, 'deployments', 0, 'provider'],
    ['models', 0, 'deployments', 0, 'model'],
    ['virtualModels', 0, 'name'],
    ['virtualModels', 0, 'default'],
    ['virtualModels', 0, 'rules'],
    ['virtualModels', 0, 'rules', 0, 'name'],
    ['virtualModels', 0, 'rules', 0, 'match'],
    ['virtualModels', 0, 'rules', 0, 'model'],
    ['security', 'keys', 0, 'id'],
    ['security', 'keys', 0, 'keyEnv'],
    ['security', 'keys', 0, 'budget', 'usd'],
    ['security', 'adminKeys', 0, 'id'],
    ['security', 'adminKeys', 0, 'keyEnv'],
    ['security', 'adminKeys', 0, 'role'],
  ];
  it('accepts the complete config the required-key cases start from', () => {
    assert.ok(parseConfig(complete(), { K1: 'k'.repeat(16) }));
  });
  for (const path of required) {
    const key = path
      .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
      .join('')
      .slice(1);
    for (const value of [undefined, null]) {
      it(`refuses ${key} ${value === undefined ? 'left out' : 'left empty'}, naming it`, () => {
        const config = complete();
        const parent = path
          .slice(0, -1)
          .reduce((o: Record<string | number, unknown>, k) => o[k] as Record<string | number, unknown>, config);
        if (value === undefined) delete parent[path.at(-1)!];
        else parent[path.at(-1)!] = value;
        assert.throws(
          () => parseConfig(config, {}),
          (err: unknown) => err instanceof ConfigError && err.message.includes(`: ${key}: `) && !/Cannot read|TypeError/.test(err.message),
        );
      });
    }
  }

  it('router.reasoningState: sized or turned off (maxEntries 0), a bad value refused naming its key', () => {
    assert.deepEqual(
      { ...parseConfig(minimal(), {}).router.reasoningState },
      { maxEntries: 10_000, maxMemoryMb: 32, ttlSeconds: 3_600, maxEntryBytes: 1_048_576, tenantMaxEntries: 10_000, tenantMaxMemoryMb: 32 },
    );
    const off = parseConfig({ ...minimal(), router: { reasoningState: { maxEntries: 0 } } }, {});
    assert.equal(off.router.reasoningState.maxEntries, 0);
    for (const [field, value] of [
      ['maxEntries', -1],
      ['maxMemoryMb', 0],
      ['ttlSeconds', 86_401],
      ['ttlSeconds', '1h'],
      ['maxEntryBytes', 0],
      ['tenantMaxEntries', 0],
      ['tenantMaxMemoryMb', 0],
    ] as const) {
      assert.throws(
        () => parseConfig({ ...minimal(), router: { reasoningState: { [field]: value } } }, {}),
        new RegExp(`router\\.reasoningState\\.${field}: `),
      );
    }
    // A state the tenant's bound could not hold would be dropped as it is written.
    assert.throws(
      () => parseConfig({ ...minimal(), router: { reasoningState: { maxEntryBytes: 2 * 1024 * 1024, tenantMaxMemoryMb: 1 } } }, {}),
      /router\.reasoningState\.maxEntryBytes: 2097152 is more than tenantMaxMemoryMb \(1 MiB\)/,
    );
  });

  it('refuses to listen beyond loopback without a master key (auth would be off)', () => {
    assert.throws(() => parseConfig(minimal(), { HOST: '0.0.0.0' }), /server\.host: listening on 0\.0\.0\.0 needs GATEWAY_MASTER_KEY/);
    assert.throws(
      () => parseConfig(minimal(), { HOST: '0.0.0.0', GATEWAY_MASTER_KEY: 'short' }),
      /masterKey: GATEWAY_MASTER_KEY must be at least 16 characters/,
    );
  });

  // Found by an independent check: any name starting with "127." passed (127.attacker.example resolves anywhere).
  it('without a master key, listens only on loopback addresses or localhost: never a name that looks like one', () => {
    for (const host of ['127.0.0.1', '127.12.0.3', '::1', '0:0:0:0:0:0:0:1', 'localhost']) {
      assert.equal(parseConfig(minimal(), { HOST: host }).server.host, host);
    }
    for (const host of ['127.attacker.example', '127.0.0.1.nip.io', '127', '10.0.0.1', '::', 'localhost.example']) {
      assert.throws(
        () => parseConfig(minimal(), { HOST: host }),
        new RegExp(`server\\.host: listening on ${host.replace(/\./g, '\\.')} needs`),
      );
    }
    assert.throws(
      () => parseConfig(minimal(), { METRICS_HOST: '127.attacker.example' }),
      /server\.metricsHost: listening on 127\.attacker/,
    );
    assert.throws(() => parseConfig(minimal(), { METRICS_HOST: '0.0.0.0' }), /server\.metricsHost: .* needs GATEWAY_MASTER_KEY/);
    assert.equal(parseConfig(minimal(), { METRICS_HOST: '0.0.0.0', GATEWAY_MASTER_KEY: 'x'.repeat(16) }).server.metricsHost, '0.0.0.0');
  });

  // Found by an independent check: YAML reads them as keys, the config's classes never look at them.
  it('refuses __proto__, constructor and prototype keys anywhere in the YAML file, naming the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-test-'));
    const cases: [string, string][] = [
      ['security: { keys: [ { id: y, keyEnv: KY, __proto__: { models: [m] } } ] }', 'security.keys[0].__proto__'],
      ['server: { constructor: { port: 1 } }', 'server.constructor'],
      ['prototype: 1', 'prototype'],
      [
        'models: [ { name: m, deployments: [ { provider: mock, model: m, price: { __proto__: 1 } } ] } ]',
        'models[0].deployments[0].price.__proto__',
      ],
    ];
    for (const [yaml, path] of cases) {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(
        file,
        `providers: [ { name: mock, type: mock } ]\n${yaml.startsWith('models') ? '' : 'models: [ { name: m, deployments: [ { provider: mock, model: m } ] } ]\n'}${yaml}\n`,
      );
      assert.throws(
        () => loadConfig({ GATEWAY_CONFIG: file }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(`: ${path}: `),
        path,
      );
    }
  });

  it('refuses a config or admin key shorter than 16 characters, naming it; the master key has the same floor', () => {
    assert.throws(() => parseConfig(complete(), { K1: 'short-key' }), /security\.keys\[0\]\.keyEnv: K1 holds a key of 9 characters/);
    assert.throws(
      () => parseConfig(complete(), { K1: 'k'.repeat(16), A1: 'x'.repeat(15) }),
      /security\.adminKeys\[0\]\.keyEnv: A1 holds a key of 15/,
    );
    assert.ok(parseConfig(complete(), { K1: 'k'.repeat(16), A1: 'a'.repeat(16) }));
  });

  it('refuses a config key whose variable is unset or empty, naming the entry and the variable; an unset admin key is only disabled', () => {
    for (const env of [{}, { K1: '' }])
      assert.throws(() => parseConfig(complete(), env), /security\.keys\[0\]\.keyEnv: K1 is not set; key "team" needs its key there/);
    assert.ok(parseConfig(complete(), { K1: 'k'.repeat(16) }));
  });

  // Found by an independent re-check: both were accepted silently, and one id shadowed the other.
  it('refuses a config or admin key whose secret is the master key or another key, naming the ids and never the secret', () => {
    const secret = 'shared-secret-0123456789';
    const twoKeys = { ...complete(), security: { keys: [key('team', 'K1'), key('other', 'K2')], adminKeys: [adminKey('ops', 'A1')] } };
    const cases: [Record<string, unknown>, NodeJS.ProcessEnv, RegExp][] = [
      [
        complete(),
        { GATEWAY_MASTER_KEY: secret, K1: secret },
        /security\.keys\[0\]\.keyEnv: K1 holds the same key as GATEWAY_MASTER_KEY; keys "master" and "team"/,
      ],
      [
        twoKeys,
        { K1: secret, K2: secret },
        /security\.keys\[1\]\.keyEnv: K2 holds the same key as security\.keys\[0\]\.keyEnv \(K1\); keys "team" and "other"/,
      ],
      [
        complete(),
        { K1: secret, A1: secret },
        /security\.adminKeys\[0\]\.keyEnv: A1 holds the same key as security\.keys\[0\]\.keyEnv \(K1\); keys "team" and "ops"/,
      ],
    ];
    for (const [file, env, message] of cases) {
      assert.throws(
        () => parseConfig(file, env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes(secret),
        String(message),
      );
    }
    assert.ok(parseConfig(twoKeys, { GATEWAY_MASTER_KEY: 'm'.repeat(16), K1: 'k'.repeat(16), K2: 'l'.repeat(16), A1: 'a'.repeat(16) }));
  });

  it('configSecrets: the master key and the values of every key variable the config names, set ones only', () => {
    const config = parseConfig(
      {
        ...complete(),
        providers: [
          { name: 'mock', type: 'mock' },
          { name: 'o', type: 'openai', apiKeyEnv: 'O_KEY' },
        ],
      },
      { GATEWAY_MASTER_KEY: 'm'.repeat(16), K1: 'k'.repeat(16), O_KEY: 'sk-o' },
    );
    assert.deepEqual(configSecrets(config, { K1: 'k'.repeat(16), A1: 'a'.repeat(16), O_KEY: 'sk-o' }), [
      'm'.repeat(16),
      'k'.repeat(16),
      'a'.repeat(16),
      'sk-o',
    ]);
  });

  // Found by an independent check (ops28 D1): a key ending in a Secret file's line break started, and no client could present it.
  it('drops the whitespace around a secret variable (a file line break), refuses whitespace inside, naming the variable only', () => {
    const withProvider = {
      ...complete(),
      providers: [
        { name: 'mock', type: 'mock' },
        { name: 'o', type: 'openai', apiKeyEnv: 'O_KEY' },
      ],
    };
    const env = { GATEWAY_MASTER_KEY: `${'m'.repeat(16)}\n`, K1: ` ${'k'.repeat(16)}\r\n`, A1: `${'a'.repeat(16)}\t`, O_KEY: 'sk-o\n' };
    const config = parseConfig(withProvider, env);
    assert.equal(config.masterKey, 'm'.repeat(16));
    assert.deepEqual(configSecrets(config, env), ['m'.repeat(16), 'k'.repeat(16), 'a'.repeat(16), 'sk-o']);
    for (const name of ['GATEWAY_MASTER_KEY', 'K1', 'A1', 'O_KEY'] as const) {
      const spaced = { ...env, [name]: 'secret-part-one secret-part-two' };
      assert.throws(
        () => parseConfig(withProvider, spaced),
        (err: Error) => err.message.includes(`${name}: the key has whitespace inside`) && !err.message.includes('secret-part'),
      );
    }
    // Whitespace only: a master key too short (not auth off), a config key not set.
    assert.throws(
      () => parseConfig(withProvider, { ...env, GATEWAY_MASTER_KEY: ' '.repeat(20) }),
      /GATEWAY_MASTER_KEY must be at least 16/,
    );
    assert.throws(() => parseConfig(withProvider, { ...env, K1: '\n' }), /K1 is not set/);
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
    // Named by the variable: the file's baseUrl is fine (found by an independent ops check).
    assert.throws(
      () => parseConfig(withEnvUrl(), { LOCAL_BASE_URL: 'api.example.com/v1' }),
      /: LOCAL_BASE_URL \(providers\[0\]\.baseUrl\): /,
    );
  });

  const badEnv: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /: PORT: expected an integer, got "eighty"$/],
    // Number(" ") is 0: a random port.
    [{ PORT: ' ' }, /: PORT: expected an integer, got " "$/],
    [{ METRICS_PORT: '9464.5' }, /: METRICS_PORT: expected an integer/],
    [{ LOG_BODIES: 'yes' }, /: LOG_BODIES: expected true, false, 1 or 0, got "yes"$/],
    // Values that parse but are refused by validation: named by the variable too, not only the key
    // whose value in the file is fine (found by an independent ops check).
    [{ LOG_LEVEL: 'verbose' }, /: LOG_LEVEL \(server\.logLevel\): logLevel must be one of/],
    [{ PORT: '99999' }, /: PORT \(server\.port\): port must not be greater than 65535$/],
    [{ SHUTDOWN_DELAY_MS: '-1' }, /: SHUTDOWN_DELAY_MS \(server\.shutdownDelayMs\): /],
    [{ SHUTDOWN_GRACE_MS: '9999999999' }, /: SHUTDOWN_GRACE_MS \(server\.shutdownGraceMs\): /],
    [{ REDIS_CLUSTER: 'yes' }, /: REDIS_CLUSTER: expected true, false, 1 or 0, got "yes"$/],
    // Found by an independent ops check: started, exported nothing and said nothing.
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318' }, /: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' }, /: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/],
    [
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' },
      /: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/,
    ],
    [{ REDIS_URL: 'redis//oops:6379' }, /: redisUrl: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ REDIS_URL: 'http://r:6379' }, /: redisUrl: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ REDIS_URL: 'redis://:pw@' }, /: redisUrl: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL with a host/],
    // Several seed nodes are a cluster's: one server has one URL, and the nodes share scheme and credentials.
    [
      { REDIS_URL: 'redis://a:6379,redis://b:6379' },
      /: REDIS_URL: several URLs \(comma-separated\) name the seed nodes of a Redis Cluster/,
    ],
    [{ REDIS_URL: 'redis://:pw@a:6379,redis://:other@b:6379', REDIS_CLUSTER: 'true' }, /: redisUrl: .*same scheme and credentials/],
    [{ REDIS_URL: 'redis://a:6379,rediss://b:6379', REDIS_CLUSTER: 'true' }, /: redisUrl: .*same scheme and credentials/],
  ];
  for (const [env, message] of badEnv) {
    it(`rejects ${JSON.stringify(env)} from the environment, naming the variable`, () => {
      assert.throws(
        () => parseConfig(minimal(), env),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }

  it('accepts OTLP endpoints that are http:// or https:// URLs', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example/v1/traces',
    };
    assert.ok(parseConfig(minimal(), env));
  });

  it('leaves the value of a bad REDIS_URL out of the message (it may hold the password)', () => {
    assert.throws(
      () => parseConfig(minimal(), { REDIS_URL: 'redis//:hunter2@r:6379' }),
      (err: Error) => !err.message.includes('hunter2'),
    );
  });

  it('accepts redis:// and rediss:// URLs with a password and a database', () => {
    assert.equal(parseConfig(minimal(), { REDIS_URL: 'rediss://:pw@r.example:6380/2' }).redisUrl, 'rediss://:pw@r.example:6380/2');
  });

  // Found by an independent re-check: the seed list split at every comma, and a password may hold one.
  it('reads one URL whose password holds a comma as one URL, with or without cluster mode', () => {
    const url = 'redis://:pa,ss@r.example:6379';
    assert.equal(parseConfig(minimal(), { REDIS_URL: url }).redisUrl, url);
    assert.deepEqual(redisUrls(`${url},redis://:pa,ss@r2.example:6379`), [url, 'redis://:pa,ss@r2.example:6379']);
  });

  it('accepts several comma-separated seed nodes for a Redis Cluster', () => {
    const urls = 'rediss://:pw@10.0.0.1:6379, rediss://:pw@10.0.0.2:6379';
    assert.equal(parseConfig(minimal(), { REDIS_URL: urls, REDIS_CLUSTER: 'true' }).redisUrl, urls);
  });

  it('reads true, false, 1 and 0 in any case for the boolean variables', () => {
    for (const [text, value] of [
      ['TRUE', true],
      ['False', false],
      ['1', true],
      ['0', false],
    ] as const) {
      const config = parseConfig(minimal(), { LOG_BODIES: text, REDIS_CLUSTER: text });
      assert.equal(config.server.logBodies, value, `LOG_BODIES=${text}`);
      assert.equal(config.redis.cluster, value, `REDIS_CLUSTER=${text}`);
    }
  });

  it('sends a header map of HTTP token names and one-line string values as written', () => {
    const config = minimal();
    header(config, { 'OpenAI-Organization': 'org-1', 'X-Title': 'My app: v2' });
    assert.deepEqual(parseConfig(config, {}).providers[0].headers, { 'OpenAI-Organization': 'org-1', 'X-Title': 'My app: v2' });
  });

  it('a missing file is a ConfigError with the path', () => {
    assert.throws(() => loadConfig({ GATEWAY_CONFIG: '/nonexistent/gw.yaml' }), /cannot read gateway config \/nonexistent\/gw\.yaml/);
  });
});
