import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'master-key-0123456789abcdef';
const A_KEY = 'tenant-a-key-0123456789abcdef';
const B_KEY = 'tenant-b-key-0123456789abcdef';
const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/12`;
const skip = !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)';

// Found by an independent check (fair31, defect 1): within its RPM and TPM, one key's long streams held every one of
// a provider's maxConnections, and every other key waited for a connection (503 connections_busy). A key's
// `maxConcurrent` (else security.defaultMaxConcurrent) bounds its requests in flight on each replica. Seen failing
// without it: the third of tenant-a's requests was served (200), not refused.
describe("security: a key's requests in flight (maxConcurrent)", { skip }, () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  /** The same, without security.defaultMaxConcurrent: a key without maxConcurrent has no cap there. */
  let uncapped: GatewayProcess;

  before(async () => {
    const redis = new Redis(REDIS_URL!);
    await redis.flushdb();
    redis.disconnect();
    const baseUrl = await upstream.start();
    const keys = [
      { id: 'tenant-a', keyEnv: 'A_KEY', maxConcurrent: 2 },
      { id: 'tenant-b', keyEnv: 'B_KEY', maxConcurrent: 50 },
    ];
    const config = (security: object) =>
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY', maxConnections: 16 }],
        models: [
          { name: 'long', deployments: [{ provider: 'fake', model: 'stall' }] },
          { name: 'shared', deployments: [{ provider: 'fake', model: 'ok' }] },
          { name: 'broken', deployments: [{ provider: 'fake', model: 'reset' }] },
          { name: 'cutting', deployments: [{ provider: 'fake', model: 'cut' }] },
          { name: 'pending', deployments: [{ provider: 'fake', model: 'held-gone' }] },
        ],
        router: { retry: { attemptsPerDeployment: 1 }, breaker: { consecutiveFailures: 1000 } },
        security,
      });
    const env = { FAKE_KEY: 'sk-fake', GATEWAY_MASTER_KEY: MASTER, A_KEY, B_KEY, REDIS_URL: REDIS_URL! };
    [gateway, uncapped] = await Promise.all([
      GatewayProcess.start(config({ defaultMaxConcurrent: 3, keys }), { env }),
      GatewayProcess.start(config({ keys }), { env }),
    ]);
  });
  after(async () => {
    await Promise.all([gateway?.stop(), uncapped?.stop()]);
    await upstream.stop();
  });

  const chat = (key: string, model: string, stream = false, signal?: AbortSignal, on = gateway) =>
    fetch(`${on.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hello' }] }),
      signal,
    });

  /** `count` streams of `key` that the upstream never ends, each begun (200); cut() aborts them all. */
  async function hold(key: string, count: number, on = gateway): Promise<{ cut: () => Promise<void> }> {
    const controllers = Array.from({ length: count }, () => new AbortController());
    const streams: Response[] = [];
    for (const c of controllers) streams.push(await chat(key, 'long', true, c.signal, on));
    assert.deepEqual(
      streams.map((s) => s.status),
      Array(count).fill(200),
    );
    return {
      cut: async () => {
        for (const c of controllers) c.abort();
        await Promise.all(streams.map((s) => s.body?.cancel().catch(() => undefined)));
      },
    };
  }

  /** The answer's status, its error (code and type as the protocol names them) and Retry-After; the body is read. */
  async function outcome(res: Response) {
    const body = (await res.json()) as { error?: { code?: string; type: string } };
    return { status: res.status, code: body.error?.code, type: body.error?.type, retryAfter: res.headers.get('retry-after') };
  }

  /** Waits until `key` is served again: a place it held is given back. */
  const servedAgain = (key: string, on = gateway) =>
    eventually(async () => (await chat(key, 'shared', false, undefined, on)).status === 200);

  it("a key at its limit gets 429 concurrency_limit_exceeded in its own protocol; another key's requests are served", async () => {
    const held = await hold(A_KEY, 2);
    assert.deepEqual(await outcome(await chat(A_KEY, 'shared')), {
      status: 429,
      code: 'concurrency_limit_exceeded',
      type: 'rate_limit_error',
      retryAfter: '1',
    });
    const messages = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': A_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'shared', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const anthropic = (await messages.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(messages.status, 429);
    assert.equal(anthropic.type, 'error');
    assert.equal(anthropic.error.type, 'rate_limit_error');
    assert.match(anthropic.error.message, /2 requests in flight/);
    assert.equal(messages.headers.get('retry-after'), '1');
    assert.equal((await chat(B_KEY, 'shared')).status, 200, "tenant-b is not held to tenant-a's places");
    await held.cut();
    assert.ok(await servedAgain(A_KEY), 'the places of the streams its client cut were given back');
  });

  it('a place is given back however its request ends: an answer, an upstream error, a stream read to its end, cut upstream, cut by its client', async () => {
    for (let round = 0; round < 3; round++) {
      assert.equal((await chat(A_KEY, 'shared')).status, 200);
      const streamed = await chat(A_KEY, 'shared', true);
      assert.equal(streamed.status, 200);
      await streamed.text();
      // The upstream drops the stream after two chunks: the client's stream ends early.
      await (await chat(A_KEY, 'cutting', true)).text().catch(() => undefined);
      const failed = await chat(A_KEY, 'broken');
      assert.ok(failed.status >= 500, `the upstream's reset is the client's ${failed.status}`);
      await failed.text();
      const cut = await hold(A_KEY, 1);
      await cut.cut();
      assert.ok(await servedAgain(A_KEY));
    }
    // Exactly its two places again: none leaked, none given back twice.
    const held = await hold(A_KEY, 2);
    assert.equal((await outcome(await chat(A_KEY, 'shared'))).code, 'concurrency_limit_exceeded');
    await held.cut();
    assert.ok(await servedAgain(A_KEY));
  });

  it('a JSON answer whose client left keeps its place while its upstream call goes on, and gives it back when the call ends', async () => {
    const sentBefore = upstream.received.length;
    const left = new AbortController();
    const leaving = chat(A_KEY, 'pending', false, left.signal).catch(() => undefined);
    assert.ok(
      await eventually(async () => upstream.received.slice(sentBefore).some((r) => (r.body as { model?: string }).model === 'held-gone')),
    );
    left.abort();
    await leaving;
    // The call goes on upstream, to be billed, holding its connection: one place of two.
    const one = await hold(A_KEY, 1);
    assert.equal((await outcome(await chat(A_KEY, 'shared'))).code, 'concurrency_limit_exceeded');
    upstream.release('gone');
    await one.cut();
    assert.ok(await servedAgain(A_KEY), 'given back once the call ended');
    const two = await hold(A_KEY, 2);
    await two.cut();
  });

  it('the admin API sets maxConcurrent, validated, on create and PATCH; a PATCH of another field keeps it; cleared, the default holds', async () => {
    for (const maxConcurrent of [0, 1.5, '2', -1]) {
      const refused = await gateway.adminKeys(MASTER, 'POST', '', { name: 'c', maxConcurrent });
      assert.equal(refused.status, 400, `maxConcurrent ${JSON.stringify(maxConcurrent)} is refused`);
    }
    const created = await gateway.adminKeys(MASTER, 'POST', '', { name: 'c', rpm: 1000, maxConcurrent: 1 });
    assert.equal(created.status, 201);
    assert.equal(created.body.maxConcurrent, 1);
    const { id, key } = created.body as { id: string; key: string };
    const patched = await gateway.adminKeys(MASTER, 'PATCH', `/${id}`, { rpm: 500 });
    assert.equal(patched.status, 200);
    assert.deepEqual([patched.body.rpm, patched.body.maxConcurrent], [500, 1], 'a PATCH of rpm keeps maxConcurrent');
    assert.equal((await gateway.adminKeys(MASTER, 'PATCH', `/${id}`, { maxConcurrent: 0 })).status, 400);

    const one = await hold(key, 1);
    assert.equal((await outcome(await chat(key, 'shared'))).code, 'concurrency_limit_exceeded');
    await one.cut();

    const cleared = await gateway.adminKeys(MASTER, 'PATCH', `/${id}`, { maxConcurrent: null });
    assert.equal(cleared.status, 200);
    assert.equal('maxConcurrent' in cleared.body, false);
    assert.equal(cleared.body.rpm, 500, 'clearing maxConcurrent keeps the other limits');
    // The key's record reaches the replica's key cache; held to security.defaultMaxConcurrent (3) then.
    assert.ok(await eventually(async () => (await chat(key, 'shared')).status === 200));
    const three = await hold(key, 3);
    assert.equal((await outcome(await chat(key, 'shared'))).code, 'concurrency_limit_exceeded');
    await three.cut();
  });

  // Found by an independent check (race33, D1): a key without a cap took no place, so requests it had in flight when
  // a PATCH gave it one were not counted, and each replica admitted that many more. Seen failing without counting
  // them: the request after the PATCH was served (200), with three of the key's streams running against a cap of 2.
  it('maxConcurrent PATCHed onto a key that had none counts the requests already in flight', async () => {
    const created = await uncapped.adminKeys(MASTER, 'POST', '', { name: 'busy' });
    const { id, key } = created.body as { id: string; key: string };
    const streams = [await hold(key, 1, uncapped), await hold(key, 1, uncapped), await hold(key, 1, uncapped)];
    assert.equal((await uncapped.adminKeys(MASTER, 'PATCH', `/${id}`, { maxConcurrent: 2 })).status, 200);
    assert.equal((await outcome(await chat(key, 'shared', false, undefined, uncapped))).code, 'concurrency_limit_exceeded');
    await streams[0].cut();
    assert.equal(
      (await outcome(await chat(key, 'shared', false, undefined, uncapped))).code,
      'concurrency_limit_exceeded',
      'still 2 in flight',
    );
    await streams[1].cut();
    assert.ok(await servedAgain(key, uncapped), 'under the cap once one more has ended');
    await streams[2].cut();
  });
});
