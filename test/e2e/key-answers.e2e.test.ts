import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * What a key is told, found wrong by an independent check: the refusal of a request no TPM window
 * can admit, the models a key allowed by an alias sees, the limits its usage report names, and the
 * problem an admin 400 names. One gateway on a database of its own of the test Redis.
 */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/10`;
const MASTER = 'key-answers-master-key-0123';
const DEFAULT_RPM = 1_000;
const DEFAULT_TPM = 100_000;

const config = configWith({
  // Answers of up to 4096 tokens unless the request says less.
  models: [{ name: 'long', deployments: [{ provider: 'mock', model: 'long', maxOutputTokens: 4096 }] }],
  security: { defaultRpm: DEFAULT_RPM, defaultTpm: DEFAULT_TPM },
});

const admin = (gateway: GatewayProcess, method: string, path: string, body?: object) => gateway.adminKeys(MASTER, method, path, body);

/** A fetch that counts the requests an SDK sends through it. */
function counting(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return { fetch: (input, init) => (calls++, fetch(input, init)), calls: () => calls };
}

describe('what a key is told', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let gateway: GatewayProcess;

  before(async () => {
    const redis = new Redis(REDIS_URL!);
    await redis.flushdb();
    redis.disconnect();
    gateway = await GatewayProcess.start(config, { env: { REDIS_URL: REDIS_URL!, GATEWAY_MASTER_KEY: MASTER } });
  });
  after(() => gateway?.stop());

  const createKey = async (fields: object) => {
    const { status, body } = await admin(gateway, 'POST', '', fields);
    assert.equal(status, 201, JSON.stringify(body));
    return body as { id: string; key: string };
  };

  it('a request needing more tokens than the TPM is refused for good: no Retry-After, x-should-retry false, the SDKs do not retry', async () => {
    const { key } = await createKey({ name: 'small-tpm', tpm: 1000 });
    const openai = counting();
    const error = await gateway
      .client({ apiKey: key, maxRetries: 2, fetch: openai.fetch })
      .chat.completions.create({ model: 'mock', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('admitted'),
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    assert.deepEqual([error.status, error.code], [429, 'request_exceeds_tpm']);
    assert.match(error.message, /about 50\d\d tokens, more than the limit of 1000 per minute/);
    assert.equal(error.headers?.get('x-should-retry'), 'false');
    assert.equal(error.headers?.get('retry-after'), null);
    assert.equal(error.headers?.get('x-ratelimit-limit-tokens'), '1000');
    assert.equal(openai.calls(), 1, 'the OpenAI SDK gave up at once');

    const anthropic = counting();
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 2, fetch: anthropic.fetch });
    const refused = await claude.messages.create({ model: 'mock', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => assert.fail('admitted'),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    assert.equal(refused.status, 429);
    assert.equal((refused.error as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.equal(refused.headers?.get('x-should-retry'), 'false');
    assert.equal(refused.headers?.get('retry-after'), null);
    assert.equal(anthropic.calls(), 1, 'the Anthropic SDK gave up at once');
  });

  it('without max_tokens, the completion reserved against the TPM is capped to what the limit holds, then settled to what it used', async () => {
    const { id, key } = await createKey({ name: 'capped', tpm: 1000 });
    // The deployment's 4096 output tokens alone are more than the key's 1000 a minute.
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'long', messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('x-ratelimit-remaining-tokens'), '0', 'it reserved the whole limit, not 4096 tokens');
    const used = ((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    let counted = 0;
    await eventually(async () => (counted = (await admin(gateway, 'GET', `/${id}/usage`)).body.currentMinute.tokens) === used);
    assert.equal(counted, used, 'the window keeps what the request used');
  });

  it('a key allowed a model by its alias sees it listed under that alias, as chat and GET /v1/models/{id} treat it', async () => {
    // `mock` is an alias of `mock-1`.
    const { key } = await createKey({ name: 'by-alias', models: ['mock'] });
    const client = gateway.client({ apiKey: key });
    assert.ok((await client.chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] })).id);
    assert.deepEqual(
      (await client.models.list()).data.map((m) => m.id),
      ['mock'],
    );
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    assert.deepEqual(
      (await claude.models.list()).data.map((m) => m.id),
      ['mock'],
    );
    assert.equal((await client.models.retrieve('mock')).id, 'mock');
    // Each request made only when awaited: a second one refused while the first was awaited had no
    // handler yet, an unhandled rejection that failed the test whenever it answered first.
    for (const refused of [
      () => client.models.retrieve('mock-1'),
      () => client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] }),
    ]) {
      await assert.rejects(refused, (e: InstanceType<typeof OpenAI.APIError>) => e.status === 404 || e.status === 403);
    }
    // A key allowed the model by its own name sees that name, as before.
    const byName = await createKey({ name: 'by-name', models: ['mock-1'] });
    assert.deepEqual(
      (await gateway.client({ apiKey: byName.key }).models.list()).data.map((m) => m.id),
      ['mock-1'],
    );
  });

  it("a Messages API client is told the key's limits in Anthropic's headers, an OpenAI client in OpenAI's", async () => {
    const { key } = await createKey({ name: 'anthropic-headers', rpm: 3, tpm: 5000 });
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    const windowStart = Math.floor(Date.now() / 1000) * 1000;
    const params = { model: 'mock', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };
    const { response } = await claude.messages.create(params).withResponse();
    const windowEnd = Date.now() + 61_000;
    const anthropic = (name: string) => response.headers.get(`anthropic-ratelimit-${name}`);
    assert.deepEqual(['requests-limit', 'requests-remaining', 'tokens-limit'].map(anthropic), ['3', '2', '5000']);
    assert.ok(Number(anthropic('tokens-remaining')) < 5000, 'the request reserved tokens');
    for (const reset of [anthropic('requests-reset'), anthropic('tokens-reset')]) {
      // RFC 3339 to the second, as Anthropic sends it: the end of the key's minute window.
      assert.match(reset ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(Date.parse(reset!) >= windowStart && Date.parse(reset!) <= windowEnd, reset!);
    }
    assert.deepEqual(
      [...response.headers.keys()].filter((name) => name.startsWith('x-ratelimit-')),
      [],
      'not OpenAI names on the Messages API',
    );

    // A token count is a request against the RPM only: its headers, none for tokens.
    const counted = await claude.messages.countTokens({ model: 'mock', messages: params.messages }).withResponse();
    assert.equal(counted.response.headers.get('anthropic-ratelimit-requests-remaining'), '1');
    assert.equal(counted.response.headers.get('anthropic-ratelimit-tokens-limit'), null);

    const openai = await gateway
      .client({ apiKey: key })
      .chat.completions.create({ model: 'mock', messages: params.messages })
      .withResponse();
    assert.deepEqual(
      [openai.response.headers.get('x-ratelimit-limit-requests'), openai.response.headers.get('x-ratelimit-remaining-requests')],
      ['3', '0'],
    );
    assert.equal(openai.response.headers.get('anthropic-ratelimit-requests-limit'), null, 'OpenAI names only on the OpenAI API');

    const refused = await claude.messages.create(params).then(
      () => assert.fail('admitted past the RPM'),
      (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
    );
    assert.equal(refused.status, 429);
    assert.equal(refused.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
    assert.match(refused.headers?.get('anthropic-ratelimit-requests-reset') ?? '', /Z$/);
    assert.ok(Number(refused.headers?.get('retry-after')) >= 1);
  });

  it('a models entry ending in * allows the models whose names start with the rest; * elsewhere is refused, naming models', async () => {
    // `mock` is an alias of `mock-1`; `long` another model.
    const { key } = await createKey({ name: 'prefix', models: ['mock*'] });
    const client = gateway.client({ apiKey: key });
    assert.deepEqual(
      (await client.models.list()).data.map((m) => m.id),
      ['mock-1', 'mock-embedding'],
    );
    for (const model of ['mock', 'mock-1']) {
      assert.ok((await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })).id, model);
    }
    await assert.rejects(
      () => client.chat.completions.create({ model: 'long', messages: [{ role: 'user', content: 'hi' }] }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 403 && e.code === 'model_not_allowed',
    );
    const every = await createKey({ name: 'every', models: ['*'] });
    assert.ok(
      (await gateway.client({ apiKey: every.key }).chat.completions.create({ model: 'long', messages: [{ role: 'user', content: 'hi' }] }))
        .id,
    );
    for (const models of [['gpt-*-mini'], ['**'], ['*mock']]) {
      const res = await admin(gateway, 'POST', '', { name: 'bad-wildcard', models });
      assert.equal(res.status, 400, JSON.stringify(models));
      assert.equal(res.body.error.param, 'models', JSON.stringify(models));
      assert.match(res.body.error.message, /a prefix ending in \* .*\* only ends a value/, JSON.stringify(models));
    }
  });

  it('the usage report names the limits in force: the defaults for a key without its own', async () => {
    const plain = await createKey({ name: 'defaults' });
    assert.deepEqual(
      (({ rpmLimit, tpmLimit }) => ({ rpmLimit, tpmLimit }))((await admin(gateway, 'GET', `/${plain.id}/usage`)).body.currentMinute),
      { rpmLimit: DEFAULT_RPM, tpmLimit: DEFAULT_TPM },
    );
    const own = await createKey({ name: 'own', rpm: 5, tpm: 500 });
    const { rpmLimit, tpmLimit } = (await admin(gateway, 'GET', `/${own.id}/usage`)).body.currentMinute;
    assert.deepEqual([rpmLimit, tpmLimit], [5, 500]);
  });

  it('an admin 400 names the missing or wrongly typed value before its range or length', async () => {
    const { id } = await createKey({ name: 'messages' });
    const cases: [object, string, RegExp][] = [
      [{ rpm: true }, 'rpm', /rpm must be an integer/],
      [{ tpm: '5' }, 'tpm', /tpm must be an integer/],
      [{ name: 123 }, 'name', /name must be a string/],
      [{ budget: { period: 'daily' } }, 'budget.usd', /usd is required/],
      [{ budget: { usd: 'ten' } }, 'budget.usd', /usd must be a number/],
      [{ models: ['mock', 5] }, 'models', /each value in models must be a string/],
      // Values of the right kind still get their range or length problem.
      [{ rpm: 0 }, 'rpm', /rpm must not be less than 1/],
      // The admin API's budget is bounded by a class of its own: it kept the lower bound too (upgrade24 D4).
      [{ budget: { usd: -1 } }, 'budget.usd', /usd must not be less than 0/],
      [{ name: 'x'.repeat(201) }, 'name', /shorter than or equal to 200/],
    ];
    for (const [body, param, problem] of cases) {
      const res = await admin(gateway, 'PATCH', `/${id}`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.param, param, JSON.stringify(body));
      assert.match(res.body.error.message, problem, JSON.stringify(body));
    }
  });

  it('a body that is no object of key fields creates or changes no key: null, or the names of Object methods', async () => {
    const { id } = await createKey({ name: 'kept' });
    const keysBefore = (await admin(gateway, 'GET', '')).body.data.length;
    const cases: [string, string | null][] = [
      ['null', null],
      ['{"toString":1}', 'toString'],
      ['{"name":"x","hasOwnProperty":1}', 'hasOwnProperty'],
    ];
    for (const [method, path] of [
      ['POST', ''],
      ['PATCH', `/${id}`],
    ]) {
      for (const [raw, param] of cases) {
        const res = await fetch(`${gateway.opsUrl}/admin/keys${path}`, {
          method,
          headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
          body: raw,
        });
        const body = (await res.json()) as { error: { param: string | null } };
        assert.equal(res.status, 400, `${method} ${raw}`);
        assert.equal(body.error.param, param, `${method} ${raw}`);
      }
    }
    assert.equal((await admin(gateway, 'GET', '')).body.data.length, keysBefore, 'no key was created');
    assert.equal((await admin(gateway, 'GET', `/${id}`)).body.name, 'kept', 'the key was not changed');
  });
});
