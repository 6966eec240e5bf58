import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { ThreeVendorUpstream, VENDORS } from '../support/three-vendor-upstream';

// Found by an independent check: an Anthropic deployment's 503 was a 500 api_error on /v1/messages and a
// 502 on chat (the body's `api_error` type, or none, won over the status), while an OpenAI-format or
// Gemini deployment's 503 was "overloaded"; and a Gemini 503's Retry-After did not reach the client.
// Each vendor's answer of each status the errors table names, with a body that says no more than the
// status (a proxy's HTML page; for 5xx also the vendor's generic server error), through both ingresses.

/** Upstream status -> [chat: status, code], [messages: status, Anthropic type]. */
const EXPECTED: Record<number, [[number, string | null], [number, string]]> = {
  400: [
    [400, null],
    [400, 'invalid_request_error'],
  ],
  401: [
    [502, 'upstream_auth_failed'],
    [500, 'api_error'],
  ],
  402: [
    [502, 'upstream_quota_exceeded'],
    [500, 'api_error'],
  ],
  403: [
    [502, 'upstream_permission_denied'],
    [500, 'api_error'],
  ],
  404: [
    [502, 'upstream_not_found'],
    [500, 'api_error'],
  ],
  408: [
    [504, 'upstream_timeout'],
    [504, 'timeout_error'],
  ],
  409: [
    [502, 'upstream_conflict'],
    [500, 'api_error'],
  ],
  413: [
    [413, 'request_too_large'],
    [413, 'request_too_large'],
  ],
  422: [
    [422, null],
    [400, 'invalid_request_error'],
  ],
  429: [
    [429, 'rate_limit_exceeded'],
    [429, 'rate_limit_error'],
  ],
  500: [
    [502, 'upstream_error'],
    [500, 'api_error'],
  ],
  503: [
    [503, 'upstream_overloaded'],
    [529, 'overloaded_error'],
  ],
  504: [
    [504, 'upstream_timeout'],
    [504, 'timeout_error'],
  ],
  529: [
    [503, 'upstream_overloaded'],
    [529, 'overloaded_error'],
  ],
};

/** Statuses whose Retry-After the client gets (the others' is the upstream's business). */
const PASSES_RETRY_AFTER = new Set([429, 503, 529]);

/** Each vendor's generic server error: a type that says no more than "it failed". */
const GENERIC_JSON: Record<string, (status: number) => object> = {
  oa: () => ({ error: { message: 'fake failure', type: 'server_error', code: null } }),
  ant: () => ({ type: 'error', error: { type: 'api_error', message: 'fake failure' } }),
  gem: (status) => ({ error: { code: status, message: 'fake failure', status: 'INTERNAL' } }),
};

const BODIES = (status: number) => (status >= 500 ? ['html', 'json'] : ['html']);
const INGRESSES = ['chat', 'messages'] as const;

/** The upstream model the fake answers: `s<status>-<body>-<ingress>` (one deployment each: no breaker shared). */
const modelOf = (status: number, body: string, ingress: string) => `s${status}-${body}-${ingress}`;

/** The three wire formats: the model says the status and body. */
function fakeUpstream(): ThreeVendorUpstream {
  return new ThreeVendorUpstream((vendor, model, res) => {
    const [, status, body] = /^s(\d+)-(\w+)-/.exec(model)!;
    const json = body === 'json';
    res.writeHead(Number(status), { 'content-type': json ? 'application/json' : 'text/html', 'retry-after': '1' });
    res.end(json ? JSON.stringify(GENERIC_JSON[vendor](Number(status))) : `<html><body><h1>${status}</h1>proxy</body></html>`);
  });
}

describe('an upstream status means the same whichever vendor answered, on either ingress', () => {
  const upstream = fakeUpstream();
  let gateway: GatewayProcess;
  const cases = VENDORS.flatMap((vendor) =>
    Object.keys(EXPECTED).flatMap((status) =>
      BODIES(Number(status)).flatMap((body) => INGRESSES.map((ingress) => ({ vendor, status: Number(status), body, ingress }))),
    ),
  );
  const name = (c: (typeof cases)[number]) => `${c.vendor}-${modelOf(c.status, c.body, c.ingress)}`;

  before(async () => {
    await upstream.start();
    const providers = upstream.providers();
    const models = cases.map((c) => ({
      name: name(c),
      deployments: [{ provider: c.vendor, model: modelOf(c.status, c.body, c.ingress), maxOutputTokens: 100 }],
    }));
    // One attempt, no wait for a cooled-down deployment: the client gets the upstream's answer as mapped.
    const router = { retry: { attemptsPerDeployment: 1, backoffMs: 1, maxBackoffMs: 1, retryAfterCapMs: 0 } };
    gateway = await GatewayProcess.start(configWith({ providers, models, router }), { env: { FAKE_KEY: 'fake-upstream-key' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  for (const c of cases) {
    const [[chatStatus, chatCode], [messagesStatus, messagesType]] = EXPECTED[c.status];
    const retryAfter = PASSES_RETRY_AFTER.has(c.status) ? '1' : null;
    if (c.ingress === 'chat') {
      it(`${c.vendor} ${c.status} (${c.body}) on /v1/chat/completions: ${chatStatus} ${chatCode}`, async () => {
        const err = await gateway
          .client()
          .chat.completions.create({ model: name(c), messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => assert.fail('answered'),
            (e: InstanceType<typeof OpenAI.APIError>) => e,
          );
        assert.deepEqual([err.status, err.code ?? null, err.headers?.get('retry-after') ?? null], [chatStatus, chatCode, retryAfter]);
      });
    } else {
      it(`${c.vendor} ${c.status} (${c.body}) on /v1/messages: ${messagesStatus} ${messagesType}`, async () => {
        const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
        const err = await anthropic.messages.create({ model: name(c), max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).then(
          () => assert.fail('answered'),
          (e: InstanceType<typeof Anthropic.APIError>) => e,
        );
        const type = (err.error as { error?: { type?: string } }).error?.type;
        assert.deepEqual([err.status, type, err.headers?.get('retry-after') ?? null], [messagesStatus, messagesType, retryAfter]);
      });
    }
  }
});
