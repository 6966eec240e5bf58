import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const hi = [{ role: 'user' as const, content: 'hi' }];

// Found by an independent check: an Anthropic deployment whose account is out of credit answers a 400
// `invalid_request_error` ("Your credit balance is too low…"), which the gateway passed to the client as its own
// mistake: no fallback to a healthy deployment, no cool-down, the same 400 to every request. The other vendors' ways
// of saying the gateway's account cannot be billed fared no better: OpenAI's 429 `insufficient_quota` with a code
// naming why (`credit_balance_exhausted`) was a rate limit (no cool-down, "retry after 1 s" when alone), its 400
// `billing_hard_limit_reached` the client's mistake, Gemini's 402 `RESOURCE_EXHAUSTED` (prepaid credit spent) a rate
// limit asked again, its 400 `FAILED_PRECONDITION` (billing off) a 502 without fallback. README Routing: each is the
// deployment's own trouble, left at once for the next deployment and kept out for the breaker's cool-down.
describe("an upstream that cannot bill the gateway's account is the deployment's trouble, not the client's", () => {
  const vendors = new FakeVendors();
  const served = vendors.serveGroups(
    [
      ['ant-credit', ['ant', 'claude-credit-low'], ['oa', 'gpt-fallback']],
      ['ant-cap', ['ant', 'claude-spend-cap'], ['oa', 'gpt-fallback']],
      ['oa-credit', ['oa', 'quota-credit'], ['oa', 'gpt-fallback']],
      ['oa-hard-limit', ['oa', 'billing-hard-limit'], ['oa', 'gpt-fallback']],
      ['gem-prepay', ['gem', 'gemini-prepay-spent'], ['oa', 'gpt-fallback']],
      ['gem-no-billing', ['gem', 'gemini-no-billing'], ['oa', 'gpt-fallback']],
      ['claude', ['ant', 'claude-credit-low'], ['ant', 'claude-echo']],
      ['oa-credit-only', ['oa', 'quota-credit']],
      ['claude-credit-only', ['ant', 'claude-credit-low']],
    ],
    { clientOptions: { maxRetries: 0 } },
  );
  let client: OpenAI;
  let anthropic: Anthropic;
  const asked = (model: string) => vendors.asked(model);
  before(() => {
    client = served.client;
    // The SDK's own retries left on: it must be told not to retry what no retry clears.
    anthropic = new Anthropic({ baseURL: served.gateway.url, apiKey: 'unused' });
  });

  // [group, its first deployment's upstream model, why the gateway left it]
  const cases: [string, string, string][] = [
    ['ant-credit', 'claude-credit-low', 'upstream_quota_exceeded'],
    ['ant-cap', 'claude-spend-cap', 'upstream_quota_exceeded'],
    ['oa-credit', 'quota-credit', 'upstream_quota_exceeded'],
    ['oa-hard-limit', 'billing-hard-limit', 'upstream_quota_exceeded'],
    ['gem-prepay', 'gemini-prepay-spent', 'upstream_quota_exceeded'],
    ['gem-no-billing', 'gemini-no-billing', 'upstream_permission_denied'],
  ];
  for (const [group, upstreamModel, why] of cases) {
    it(`${group}: answered by the next deployment, and the refused one is cooled down`, async () => {
      const before = asked(upstreamModel);
      const { data, response } = await client.chat.completions.create({ model: group, messages: hi }).withResponse();
      assert.equal(data.model, 'gpt-fallback');
      assert.equal(response.headers.get('x-gateway-fallbacks'), `${group}/0=${why}`);
      assert.equal(asked(upstreamModel), before + 1, 'asked once, not retried');
      const next = await client.chat.completions.create({ model: group, messages: hi }).withResponse();
      assert.equal(next.data.model, 'gpt-fallback');
      assert.equal(asked(upstreamModel), before + 1, 'not asked again while it cools down');
      assert.match(next.response.headers.get('x-gateway-fallbacks') ?? '', /=cooling_down$/);
    });
  }

  it('/v1/messages, two Anthropic deployments: the second answers, the first is cooled down', async () => {
    const before = asked('claude-credit-low');
    for (let i = 0; i < 2; i++) {
      const message = await anthropic.messages.create({ model: 'claude', max_tokens: 20, messages: hi });
      assert.deepEqual(
        message.content.map((b) => (b.type === 'text' ? b.text : b.type)),
        ['echo: hi'],
      );
    }
    // At most once: the same model on the same account in ant-credit, when that case ran first, cooled this one too (shared health, README Routing).
    assert.ok(asked('claude-credit-low') <= before + 1, 'not asked again while it cools down');
  });

  it('alone, the client is told the account has no credit, and not to retry: then and during the cool-down', async () => {
    const asked0 = asked('quota-credit');
    for (const round of ['first', 'cooling down']) {
      const err = await apiError(client.chat.completions.create({ model: 'oa-credit-only', messages: hi }));
      assert.deepEqual([err.status, err.code, err.headers?.get('retry-after')], [502, 'upstream_quota_exceeded', null], round);
      assert.equal(err.headers?.get('x-should-retry'), 'false', round);
      assert.match(err.message, /has no quota left for the gateway's account; check the provider account's plan and billing/, round);
    }
    // At most once, then left alone while it cools down; not at all when oa-credit's case, the same model on the same account, ran first.
    assert.ok(asked('quota-credit') <= asked0 + 1, 'asked at most once, then left alone while it cools down');
    const before = asked('claude-credit-low');
    for (const round of ['first', 'cooling down']) {
      const err = await anthropic.messages.create({ model: 'claude-credit-only', max_tokens: 20, messages: hi }).catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.APIError, String(err));
      // Anthropic's statuses on its protocol: an upstream failure is a 500 api_error, never the 529 "overloaded" of an outage.
      assert.deepEqual([err.status, err.type], [500, 'api_error'], round);
      assert.match(err.message, /has no quota left for the gateway's account/, round);
    }
    assert.ok(asked('claude-credit-low') <= before + 1, 'the SDK did not retry, the gateway did not ask again');
  });
});

const REDIS_URL = process.env.TEST_REDIS_URL;

// The honest refusal above, on a replica that did not ask the upstream itself: it learns of the cool-down through
// Redis, and, with it, what the upstream said (it answered the 503 "try again shortly" of an outage).
describe(
  'a replica that heard of the cool-down through Redis tells its client the same',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    const vendors = new FakeVendors();
    let replicas: GatewayProcess[] = [];
    let listener: Redis | undefined;
    before(async () => {
      const [oa] = await vendors.start();
      const config = configWith({
        providers: [oa],
        models: [{ name: `credit-${process.pid}`, deployments: [{ provider: 'oa', model: 'quota-credit' }] }],
      });
      replicas = await Promise.all([0, 1].map(() => GatewayProcess.start(config, { env: { REDIS_URL: REDIS_URL! } })));
    });
    after(async () => {
      listener?.disconnect();
      await Promise.all(replicas.map((r) => r.stop()));
      await vendors.stop();
    });

    it('replica b refuses without asking the upstream, with what the upstream told replica a', async () => {
      const model = `credit-${process.pid}`;
      const [a, b] = replicas.map((r) => r.client({ maxRetries: 0 }));
      // What replica a announces, heard as replica b hears it.
      listener = new Redis(REDIS_URL!);
      const announced = new Promise<string>((resolve) => listener!.on('message', (_channel, message: string) => resolve(message)));
      await listener.subscribe('gateway:breakers');
      const first = await apiError(a.chat.completions.create({ model, messages: hi }));
      assert.deepEqual([first.status, first.code], [502, 'upstream_quota_exceeded']);
      // b has heard of the cool-down by the time its client asks.
      assert.match(await announced, /"state":"cooling"/);
      const asked = vendors.openai.received.length;
      const err = await apiError(b.chat.completions.create({ model, messages: hi }));
      assert.deepEqual([err.status, err.code, err.headers?.get('retry-after')], [502, 'upstream_quota_exceeded', null]);
      assert.equal(err.headers?.get('x-should-retry'), 'false');
      assert.match(
        err.message,
        new RegExp(`No deployment of ${model} can answer: its upstream has no quota left for the gateway's account`),
      );
      assert.doesNotMatch(err.message, /upstream said/, "not the upstream's words, which were about another request");
      assert.equal(vendors.openai.received.length, asked, 'b did not ask the upstream');
    });
  },
);
