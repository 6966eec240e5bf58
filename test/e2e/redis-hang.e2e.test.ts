import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const MASTER = 'test-master-key-0123456789';
const KEY = 'hang-test-key-0123456789';

/**
 * A Redis that is connected but answers nothing (SIGSTOP here; a partition or a
 * stuck server in production) must not hang requests: its commands time out and
 * the limits fail open. Found by bench/soak (requests waited for the RPM check
 * as long as Redis was frozen).
 */
describe('a frozen Redis does not hang requests', { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  let server: RedisServer;
  let gateway: GatewayProcess;

  before(async () => {
    server = await RedisServer.start(REDIS_SERVER!);
    gateway = await GatewayProcess.start(
      configWith({
        security: { keys: [{ id: 'limited', keyEnv: 'HANG_KEY', rpm: 1000, tpm: 1_000_000, budget: { usd: 100, period: 'daily' } }] },
      }),
      { env: { REDIS_URL: server.url, GATEWAY_MASTER_KEY: MASTER, HANG_KEY: KEY } },
    );
  });
  after(async () => {
    server?.resume();
    await gateway?.stop();
    await server?.stop();
  });

  it('RPM, TPM and budget checks fail open; readiness still answers, ready', async () => {
    // The client gives up long before a frozen Redis would ever answer.
    const client = gateway.client({ apiKey: KEY, timeout: 5_000 });
    const ask = (content: string) => client.chat.completions.create({ model: 'mock', messages: [{ role: 'user', content }] });
    assert.match((await ask('before the freeze')).choices[0].message.content ?? '', /before the freeze/);

    server.freeze();
    // The first requests are served from the slice of the key's limits this replica leased
    // (limitLeaseMs, 1 s by default); once it ends, the admission that needs Redis fails open.
    let metrics = '';
    for (let n = 1; n <= 40 && !/gateway_limiter_unavailable_total\{limit="rpm"\} [1-9]/.test(metrics); n++) {
      const answer = await ask(`while frozen ${n}`);
      assert.match(answer.choices[0].message.content ?? '', new RegExp(`while frozen ${n}`));
      metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(metrics, /gateway_limiter_unavailable_total\{limit="rpm"\} [1-9]/);
    // The details on the ops port (with auth on the public port gives the status alone).
    const ready = await fetch(`${gateway.opsUrl}/ready`, { signal: AbortSignal.timeout(2_000) });
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { details: { redis: { reachable: boolean } } }).details.redis.reachable, false);
    assert.equal((await fetch(`${gateway.url}/ready`, { signal: AbortSignal.timeout(2_000) })).status, 200);

    server.resume();
    assert.match((await ask('after the freeze')).choices[0].message.content ?? '', /after the freeze/);
  });
});

/**
 * Failing open must not mean no limit: while Redis fails, each replica holds a key's RPM and TPM
 * in windows of its own. Before, every request passed for as long as Redis failed (a Redis
 * Cluster slot migration fails a key's admissions the same way).
 */
describe(
  'rate limits failing open are held per replica while Redis fails',
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    const OUTAGE_KEY = 'outage-test-key-0123456789';
    let server: RedisServer;
    let gateway: GatewayProcess;

    before(async () => {
      server = await RedisServer.start(REDIS_SERVER!);
      gateway = await GatewayProcess.start(
        configWith({ security: { limitLeaseMs: 0, keys: [{ id: 'outage', keyEnv: 'OUTAGE_KEY', rpm: 4, tpm: 1_000_000 }] } }),
        { env: { REDIS_URL: server.url, GATEWAY_MASTER_KEY: MASTER, OUTAGE_KEY } },
      );
    });
    after(async () => {
      server?.resume();
      await gateway?.stop();
      await server?.stop();
    });

    it('a frozen Redis: the key gets its RPM from this replica, then 429 with Retry-After', async () => {
      const ask = (content: string) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OUTAGE_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content }] }),
          signal: AbortSignal.timeout(10_000),
        });
      assert.equal((await ask('counted by Redis')).status, 200);

      server.freeze();
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let n = 0; n < 8; n++) {
        const answer = await ask(`while frozen ${n}`);
        statuses.push(answer.status);
        if (answer.status === 429) refused ??= answer;
        else await answer.arrayBuffer();
      }
      // The replica's own window starts at its first failed admission: four pass, then 429s.
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429]);
      assert.equal(refused!.headers.get('x-ratelimit-limit-requests'), '4');
      assert.ok(Number(refused!.headers.get('retry-after')) >= 1);
      assert.equal(((await refused!.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');
      const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
      assert.match(metrics, /gateway_limiter_unavailable_total\{limit="rpm"\} [1-9]/);
    });
  },
);
