import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { limitKeys } from '../../libs/security/src/limit-keys';
import { eventually } from '../support/eventually';
import { configWith, type GatewayProcess, twoGatewaysOnRedis } from '../support/gateway';

// Found by an independent check: two replicas on one Redis, a key made through the admin API with rpm, tpm and a
// budget, admitted from leases under mixed load (chat completions, Responses and Messages, streamed and not, and
// their token counts) with clients leaving 0-150 ms after sending: once idle, tokens stayed counted in the key's
// `tpm:inflight` (and its TPM window) until the window ended. A token count is counted against RPM alone; its lease
// exchange named no TPM window, which the lease store took for a new one, dropping the settlements of the TPM
// lease's requests still in flight.

/** A database of its own on the shared test Redis (see security.e2e.test.ts). */
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/6`;
const MASTER = 'test-master-key-lease-inflight-0123';
const LOAD_MS = 6_000;
const CLIENTS = 12;
const MESSAGES = [{ role: 'user', content: 'hello there, how are you today?' }];
const ANTHROPIC = { 'anthropic-version': '2023-06-01' };

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];
const MAX_TOKENS = [5, 20, 100, 400];
/** What the clients send, each with a completion bound picked at random. */
const ROUTES: (() => { path: string; body: object; headers?: Record<string, string> })[] = [
  () => ({ path: '/v1/chat/completions', body: { model: 'laggy', max_tokens: pick(MAX_TOKENS), messages: MESSAGES } }),
  () => ({ path: '/v1/chat/completions', body: { model: 'laggy', max_tokens: pick(MAX_TOKENS), stream: true, messages: MESSAGES } }),
  () => ({ path: '/v1/responses', body: { model: 'laggy', max_output_tokens: 16 + pick(MAX_TOKENS), input: 'hello there' } }),
  () => ({ path: '/v1/responses', body: { model: 'laggy', max_output_tokens: 16 + pick(MAX_TOKENS), stream: true, input: 'hello' } }),
  () => ({ path: '/v1/messages', headers: ANTHROPIC, body: { model: 'laggy', max_tokens: pick(MAX_TOKENS), messages: MESSAGES } }),
  () => ({
    path: '/v1/messages',
    headers: ANTHROPIC,
    body: { model: 'laggy', max_tokens: pick(MAX_TOKENS), stream: true, messages: MESSAGES },
  }),
  () => ({ path: '/v1/messages/count_tokens', headers: ANTHROPIC, body: { model: 'laggy', messages: MESSAGES } }),
  () => ({ path: '/v1/responses/input_tokens', body: { model: 'laggy', input: 'hello there' } }),
];

const config = configWith({
  providers: [{ name: 'lag', type: 'mock', mock: { latencyMs: 60, tokensPerSecond: 400 } }],
  models: [{ name: 'laggy', deployments: [{ provider: 'lag', model: 'laggy', price: { input: 10, output: 20 } }] }],
  security: { limitLeaseMs: 1_000 },
});

/** One request; its client leaves after `leaveAfterMs` when given. Resolves once it is over either way. */
function send(gateway: GatewayProcess, secret: string, route: ReturnType<(typeof ROUTES)[number]>, leaveAfterMs?: number): Promise<void> {
  return new Promise((done) => {
    const req = httpRequest(`${gateway.url}${route.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...route.headers },
    });
    req.on('response', (res) => res.resume().on('end', done).on('error', done).on('close', done));
    req.on('error', () => done()).on('close', () => done());
    req.end(JSON.stringify(route.body));
    if (leaveAfterMs !== undefined) setTimeout(() => req.destroy(), leaveAfterMs);
  });
}

/** A replica's unlabelled sample `name`. */
async function sample(gateway: GatewayProcess, name: string): Promise<number> {
  const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.slice(line.lastIndexOf(' ') + 1) ?? NaN);
}

describe('a leased key under mixed load, clients leaving', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const pair = twoGatewaysOnRedis(config, REDIS_URL!, { GATEWAY_MASTER_KEY: MASTER });

  it('holds no tokens in flight once every request is over and every lease is back', async () => {
    const created = await pair.a.adminKeys(MASTER, 'POST', '', {
      name: 'lease-inflight',
      rpm: 100_000,
      tpm: 5_000_000,
      budget: { usd: 1_000, period: 'monthly' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, key: secret } = created.body as { id: string; key: string };
    const gateways = [pair.a, pair.b];
    const until = Date.now() + LOAD_MS;
    let sent = 0;
    const client = async () => {
      for (; Date.now() < until; sent++)
        await send(pick(gateways), secret, pick(ROUTES)(), Math.random() < 0.5 ? Math.random() * 150 : undefined);
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const leased = await Promise.all(gateways.map((g) => sample(g, 'gateway_leased_admissions_total')));
    // Leases end a lease period after their last use and are given back then; each replica then holds nothing.
    const held = () => Promise.all(gateways.map((g) => sample(g, 'gateway_limit_lease_keys')));
    assert.ok(await eventually(async () => (await held()).every((n) => n === 0)), 'leases given back');
    const k = limitKeys(id);
    const [inFlight, ttl] = await Promise.all([pair.redis.get(k.tpmInFlight), pair.redis.pttl(k.tpm)]);
    assert.ok(ttl > 0, `the TPM window is still open (${ttl} ms left): what is in flight is read before it ends`);
    assert.ok(
      leased.every((n) => n > 0),
      `both replicas admitted from leases (${leased.join(', ')} of ${sent} requests)`,
    );
    assert.equal(Number(inFlight ?? 0), 0, `TPM tokens in flight once idle, after ${sent} requests`);
  });
});
