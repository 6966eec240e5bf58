import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * A key not allowed a model is refused it whatever the model's health, found wrong by an independent
 * check: once another tenant's failures opened the breaker of a model the key may not use, the key
 * was told 503 `no_healthy_deployment` "try again shortly" (529 on the Messages API), which the SDKs
 * and Claude Code retry, and so learned that model's health. Official clients, config keys, no Redis.
 */
const MASTER = 'model-permission-master-key-0123';
const ONLY_MOCK = 'model-permission-only-mock-key-0123';
const EVERY = 'model-permission-every-model-key-0123';

const config = configWith({
  providers: [
    { name: 'broken', type: 'mock', mock: { failRate: 1, failStatus: 500 } },
    // Off: its key's variable is unset (nothing listens on port 9 either).
    { name: 'unreleased', type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MODEL_PERMISSION_UNSET_PROVIDER_KEY' },
  ],
  models: [
    { name: 'secret', deployments: [{ provider: 'broken', model: 'secret' }] },
    { name: 'secret-embedding', deployments: [{ provider: 'broken', model: 'secret-embedding', capabilities: ['embeddings'] }] },
    { name: 'dormant', deployments: [{ provider: 'unreleased', model: 'dormant' }] },
    { name: 'dormant-embedding', deployments: [{ provider: 'unreleased', model: 'dormant-embedding', capabilities: ['embeddings'] }] },
  ],
  virtualModels: [
    { name: 'auto', default: 'mock-1', rules: [{ name: 'confidential', match: { keywords: ['payroll'] }, model: 'secret' }] },
  ],
  router: { retry: { attemptsPerDeployment: 1, retryAfterCapMs: 0 }, breaker: { consecutiveFailures: 2, cooldownMs: 600_000 } },
  security: {
    keys: [
      { id: 'only-mock', keyEnv: 'ONLY_MOCK_KEY', models: ['mock-1', 'mock-embedding'] },
      { id: 'every', keyEnv: 'EVERY_KEY' },
    ],
  },
});

const openai = (gateway: GatewayProcess, apiKey: string) => gateway.client({ apiKey, maxRetries: 0 });
const anthropic = (gateway: GatewayProcess, apiKey: string) => new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0 });
const hi = [{ role: 'user' as const, content: 'hi' }];

/** One call per API that names a model (`model`, or `${model}-embedding` for embeddings), for a key. */
const CALLS: { api: string; call: (gateway: GatewayProcess, key: string, model: string) => Promise<unknown> }[] = [
  { api: 'chat', call: (g, k, model) => openai(g, k).chat.completions.create({ model, messages: hi }) },
  { api: 'responses', call: (g, k, model) => openai(g, k).responses.create({ model, input: 'hi' }) },
  { api: 'input_tokens', call: (g, k, model) => openai(g, k).responses.inputTokens.count({ model, input: 'hi' }) },
  { api: 'embeddings', call: (g, k, model) => openai(g, k).embeddings.create({ model: `${model}-embedding`, input: 'hi' }) },
  { api: 'messages', call: (g, k, model) => anthropic(g, k).messages.create({ model, max_tokens: 5, messages: hi }) },
  { api: 'count_tokens', call: (g, k, model) => anthropic(g, k).messages.countTokens({ model, messages: hi }) },
];

type SdkError = InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>;

/** The error of a call that must fail, as its SDK read it. */
async function failure(call: Promise<unknown>): Promise<SdkError> {
  const error = (await call.then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e,
  )) as SdkError;
  assert.ok(error instanceof OpenAI.APIError || error instanceof Anthropic.APIError, String(error));
  return error;
}

/** The status and the code (OpenAI) or error type (Anthropic) the SDK read from a call that must fail. */
async function told(call: Promise<unknown>): Promise<[number | undefined, unknown]> {
  const error = await failure(call);
  if (error instanceof OpenAI.APIError) return [error.status, error.code];
  return [error.status, (error.error as { error?: { type?: string } }).error?.type];
}

describe('a model the key may not use is a 403 whatever its health', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(config, { env: { GATEWAY_MASTER_KEY: MASTER, ONLY_MOCK_KEY: ONLY_MOCK, EVERY_KEY: EVERY } });
  });
  after(() => gateway?.stop());

  /** What the key not allowed the models is told on each API. */
  const refusals = async (model = 'secret') => {
    const answers: Record<string, unknown> = {};
    for (const { api, call } of CALLS) answers[api] = await told(call(gateway, ONLY_MOCK, model));
    return answers;
  };
  const REFUSED = Object.fromEntries(
    CALLS.map(({ api }) => [api, api === 'messages' || api === 'count_tokens' ? [403, 'permission_error'] : [403, 'model_not_allowed']]),
  );

  it('on every API, before and after another key opens the model breaker', async () => {
    assert.deepEqual(await refusals(), REFUSED, 'the models healthy');
    // Another key's failing requests open both models' breakers: it is told they cool down.
    for (const model of ['secret', 'secret-embedding']) {
      const fail = () =>
        model === 'secret'
          ? openai(gateway, EVERY).chat.completions.create({ model, messages: hi })
          : openai(gateway, EVERY).embeddings.create({ model, input: 'hi' });
      for (let i = 0; i < 2; i++) await told(fail());
      assert.deepEqual(await told(fail()), [503, 'no_healthy_deployment'], `${model}'s breaker open`);
    }
    assert.deepEqual(
      await told(anthropic(gateway, EVERY).messages.countTokens({ model: 'secret', messages: hi })),
      [529, 'overloaded_error'],
      'count_tokens of every key is refused while the model cools down',
    );
    assert.deepEqual(await refusals(), REFUSED, 'the models cooling down');
    // The key's own models still serve.
    assert.ok((await openai(gateway, ONLY_MOCK).chat.completions.create({ model: 'mock', messages: hi })).id);
  });

  // Found by an independent check (api32): a model whose providers are all off answered the key not allowed it 404, naming
  // its providers and the variable that would turn each on, where README promises the 403 on every API.
  it('a model whose providers are all off: 403 for the key not allowed it, telling nothing of them; 404 with why for the others', async () => {
    assert.deepEqual(await refusals('dormant'), REFUSED);
    for (const { api, call } of CALLS) {
      const refused = await failure(call(gateway, ONLY_MOCK, 'dormant'));
      assert.doesNotMatch(JSON.stringify(refused.error), /unreleased|MODEL_PERMISSION_UNSET_PROVIDER_KEY/, api);
      const notFound = await failure(call(gateway, EVERY, 'dormant'));
      assert.deepEqual([notFound.status, String(notFound.message).includes('MODEL_PERMISSION_UNSET_PROVIDER_KEY')], [404, true], api);
    }
  });

  it('a virtual model the key reaches through the groups it may use: a rule picking another group is refused without naming the rule or group', async () => {
    const ask = (content: string) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ONLY_MOCK}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content }] }),
      });
    const refused = await ask('the payroll of 2026');
    assert.deepEqual(
      [refused.status, refused.headers.get('x-gateway-route'), refused.headers.get('x-gateway-model-group')],
      [403, null, null],
    );
    const served = await ask('hello');
    assert.deepEqual([served.status, served.headers.get('x-gateway-route')], [200, 'auto; rule=default']);
  });

  // Found by an independent check (obs31): the 403 was counted and logged under model "none", though the gateway serves the
  // model and README keeps the group for a refusal by the key's limits or budget, of which its allow-list is part.
  it('the 403 is counted and logged under the model group, still not named in its headers', async () => {
    const labels = 'route="/v1/chat/completions",model="secret",deployment="none",provider="none",status="403",cache="none"';
    const before = await gateway.metric('gateway_requests_total', labels);
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ONLY_MOCK}`, 'content-type': 'application/json', 'x-request-id': 'permission-label-1' },
      body: JSON.stringify({ model: 'secret', messages: hi }),
    });
    assert.deepEqual([refused.status, refused.headers.get('x-gateway-model-group')], [403, null]);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === 'permission-label-1' });
    assert.deepEqual([line?.status, line?.model], [403, 'secret']);
    assert.equal(await gateway.metric('gateway_requests_total', labels), before + 1);
  });
});
