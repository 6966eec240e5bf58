import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * Authentication comes before the body's checks, found wrong by an independent check: with auth on,
 * a request without a valid key whose body failed the route's schema got that 400 (naming the
 * schema's rules) instead of the 401, its guessed key was never looked up nor counted toward the
 * per-IP limit, and the access line of a valid key's 400 said `anonymous`. Official clients, no Redis.
 */
const MASTER = 'auth-order-master-key-0123456789';
const TEAM_KEY = 'auth-order-team-key-0123456789';
const WRONG_KEY = 'auth-order-wrong-key-0123456789';
const BODY_LIMIT = 64 * 1024;

const config = (ipFailuresPerMinute: number) =>
  configWith({
    server: { bodyLimitBytes: BODY_LIMIT },
    security: { keys: [{ id: 'team-a', keyEnv: 'TEAM_A_KEY' }], ipFailuresPerMinute },
  });
const env = { GATEWAY_MASTER_KEY: MASTER, TEAM_A_KEY: TEAM_KEY };

/** The key sent: none at all (the SDK's own header removed), a wrong one, or the team's. */
type Credential = 'none' | 'wrong' | 'valid';
const KEYS: Record<Exclude<Credential, 'none'>, string> = { wrong: WRONG_KEY, valid: TEAM_KEY };

const openai = (gateway: GatewayProcess, credential: Credential) =>
  gateway.client({
    apiKey: credential === 'none' ? 'unsent' : KEYS[credential],
    ...(credential === 'none' && { defaultHeaders: { authorization: null } }),
  });
const anthropic = (gateway: GatewayProcess, credential: Credential) =>
  new Anthropic({
    baseURL: gateway.url,
    apiKey: credential === 'none' ? null : KEYS[credential],
    maxRetries: 0,
    ...(credential === 'none' && { defaultHeaders: { 'x-api-key': null, authorization: null } }),
  });

type Call = (gateway: GatewayProcess, credential: Credential, options: { headers: Record<string, string> }) => Promise<unknown>;

/** One request per /v1 route whose body fails that route's schema (each a 400 with a valid key). */
const INVALID: { route: string; protocol: 'openai' | 'anthropic'; call: Call }[] = [
  {
    route: '/v1/chat/completions',
    protocol: 'openai',
    call: (g, c, o) =>
      openai(g, c).chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'x' }], temperature: 9 }, o),
  },
  {
    route: '/v1/embeddings',
    protocol: 'openai',
    call: (g, c, o) => openai(g, c).embeddings.create({ model: 'mock-embedding' } as never, o),
  },
  { route: '/v1/responses', protocol: 'openai', call: (g, c, o) => openai(g, c).responses.create({ model: 'mock', input: 5 } as never, o) },
  {
    route: '/v1/responses/input_tokens',
    protocol: 'openai',
    call: (g, c, o) => openai(g, c).responses.inputTokens.count({ model: 'mock', input: 5 } as never, o),
  },
  { route: '/v1/messages', protocol: 'anthropic', call: (g, c, o) => anthropic(g, c).messages.create({ model: 'mock' } as never, o) },
  {
    route: '/v1/messages/count_tokens',
    protocol: 'anthropic',
    call: (g, c, o) => anthropic(g, c).messages.countTokens({ model: 'mock' } as never, o),
  },
];

type SdkError = InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>;

/** The SDK's error for a call that must fail, with the access line of its request. */
async function refused(gateway: GatewayProcess, call: Call, credential: Credential) {
  const reqId = randomUUID();
  const error = await call(gateway, credential, { headers: { 'x-request-id': reqId } }).then(
    () => assert.fail('the call succeeded'),
    (e: unknown) => e as SdkError,
  );
  assert.ok(error instanceof OpenAI.APIError || error instanceof Anthropic.APIError, String(error));
  const [line] = await gateway.logged('request', { where: (l) => l.reqId === reqId });
  assert.ok(line, `an access line for ${reqId}`);
  return { error, line };
}

/** What the caller's SDK read: the status and the code (OpenAI) or the error type (Anthropic). */
function told(error: SdkError): [number | undefined, unknown] {
  if (error instanceof OpenAI.APIError) return [error.status, error.code];
  return [error.status, (error.error as { error?: { type?: string } }).error?.type];
}

describe('authentication before the body is checked', () => {
  let gateway: GatewayProcess;
  before(async () => (gateway = await GatewayProcess.start(config(1000), { env })));
  after(() => gateway?.stop());

  for (const { route, protocol, call } of INVALID) {
    it(`${route}: no key or a wrong key with an invalid body is a 401 in the ${protocol} shape, logged as such (a wrong key as \`(invalid)\`)`, async () => {
      for (const [credential, code] of [
        ['none', 'missing_api_key'],
        ['wrong', 'invalid_api_key'],
      ] as const) {
        const { error, line } = await refused(gateway, call, credential);
        const expected = protocol === 'openai' ? code : 'authentication_error';
        assert.deepEqual(told(error), [401, expected], `${credential} key: ${error.message}`);
        // Found by an independent check: a wrong key's refusal was logged as `anonymous`, as if no key had been sent.
        assert.deepEqual([line.status, line.keyId, line.error], [401, credential === 'wrong' ? '(invalid)' : 'anonymous', code]);
      }
    });

    it(`${route}: a valid key with an invalid body is a 400 whose access line names the key`, async () => {
      const { error, line } = await refused(gateway, call, 'valid');
      assert.equal(error.status, 400, error.message);
      assert.deepEqual([line.route, line.status, line.keyId], [route, 400, 'team-a']);
    });
  }

  it('a body over the size limit without a key is a 401 (the body is not read), with the key a 413', async () => {
    const big = JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] });
    const post = (headers: Record<string, string>) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: big,
      });
    assert.equal((await post({})).status, 401);
    assert.equal((await post({ authorization: `Bearer ${WRONG_KEY}` })).status, 401);
    assert.equal((await post({ authorization: `Bearer ${TEAM_KEY}` })).status, 413);
  });

  // The README said x-api-key took precedence; the gateway takes the bearer token, the credential
  // Claude Code documents as winning (ANTHROPIC_AUTH_TOKEN over ANTHROPIC_API_KEY) when both are set.
  it('a request with both a bearer token and x-api-key is authenticated by the bearer token', async () => {
    // Raw headers: the Anthropic SDK installed sends its apiKey as a bearer token too, and takes one credential.
    const both = (apiKey: string, bearer: string) =>
      fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
          'x-api-key': apiKey,
          authorization: `Bearer ${bearer}`,
        },
        body: JSON.stringify({ model: 'mock', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      });
    assert.equal((await both(WRONG_KEY, TEAM_KEY)).status, 200, 'a wrong x-api-key beside the valid bearer token');
    assert.equal((await both(TEAM_KEY, WRONG_KEY)).status, 401, 'a wrong bearer token beside a valid x-api-key');
  });
});

describe('failed authentications with invalid bodies count toward the per-IP limit', () => {
  const LIMIT = 4;
  let gateway: GatewayProcess;
  before(async () => (gateway = await GatewayProcess.start(config(LIMIT), { env })));
  after(() => gateway?.stop());

  it(`${LIMIT} failures from an address in either protocol are 401s, the next is the 429, and valid keys still serve`, async () => {
    const call = (route: string) => INVALID.find((c) => c.route === route)!.call;
    const failures: [string, Credential][] = [
      ['/v1/chat/completions', 'none'],
      ['/v1/embeddings', 'wrong'],
      ['/v1/messages', 'none'],
      ['/v1/messages/count_tokens', 'wrong'],
    ];
    const statuses: (number | undefined)[] = [];
    for (const [route, credential] of failures) statuses.push((await refused(gateway, call(route), credential)).error.status);
    assert.deepEqual(statuses, Array(LIMIT).fill(401));
    const { error } = await refused(gateway, call('/v1/responses'), 'wrong');
    assert.equal(error.status, 429, error.message);
    assert.equal(error.headers?.get('x-ratelimit-limit-auth-failures'), String(LIMIT));
    // No lock-out on /v1 for an address that failed (clients behind one NAT): a valid key is served.
    const served = await openai(gateway, 'valid').chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'x' }] });
    assert.ok(served.id);
  });
});
