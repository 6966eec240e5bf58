import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { get } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL;
const TEAM_KEY = 'team-drain-secret-key-value';
/** The fake upstream's usage: 7 completion tokens at $2000 per million, input free; max_tokens 7 reserves exactly that. */
const REQUEST_USD = (7 * 2000) / 1e6;
/** Far longer than a drain with nothing in flight takes: a gateway still up after it waited for a connection with no request. */
const GRACE_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway, with a budgeted key, in front of the fake upstream (its `slow-<ms>` model answers late). */
async function startGateway(upstreamUrl: string, keyId: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const config = configWith({
    providers: [{ name: 'up', type: 'openai-compatible', baseUrl: upstreamUrl, apiKeyEnv: 'FAKE_UP_KEY' }],
    models: [
      { name: 'quick', deployments: [{ provider: 'up', model: 'ok', price: { input: 0, output: 2000 } }] },
      { name: 'slow', deployments: [{ provider: 'up', model: 'slow-1500', price: { input: 0, output: 2000 } }] },
      // Two chunks, then silence: a stream still open when its client aborts it.
      { name: 'stall', deployments: [{ provider: 'up', model: 'stall' }] },
      { name: 'stuck', deployments: [{ provider: 'up', model: 'hang' }] },
      // A 429 with Retry-After: 7, waited out (within retryAfterCapMs) before asking again.
      { name: 'limited', deployments: [{ provider: 'up', model: 'status-429' }] },
    ],
    router: { retry: { retryAfterCapMs: 10_000 }, breaker: { cooldownMs: 10_000 } },
    security: { keys: [{ id: keyId, keyEnv: 'TEAM_KEY', budget: { usd: 10, period: 'daily' } }] },
  });
  return GatewayProcess.start(config, {
    env: { FAKE_UP_KEY: 'sk-fake', GATEWAY_MASTER_KEY: 'drain-master-key-0123456789', TEAM_KEY, ...env },
  });
}

/** What a response's body held when it ended, or when its connection closed: the text received up to then. */
async function received(res: Response): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of res.body!) text += decoder.decode(chunk, { stream: true });
  } catch {
    // The drain closed the connection: what came before it is the answer.
  }
  return text;
}

/** A POST of `body` as JSON to `path`, with the team's key. */
const post = (gateway: GatewayProcess, path: string, body: object) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEAM_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const chat = (gateway: GatewayProcess, model: string, stream = false) =>
  post(gateway, '/v1/chat/completions', { model, max_tokens: 7, stream, messages: [{ role: 'user', content: 'hello' }] }).then(
    async (res) => ({ status: res.status, body: await res.text() }),
  );

/** A stream that stalls after two chunks: its response (the 200 once it began), and its text, or the error that cut it. */
function stallingStream(gateway: GatewayProcess): { started: Promise<Response>; stream: Promise<string | Error> } {
  const started = post(gateway, '/v1/chat/completions', {
    model: 'stall',
    max_tokens: 7,
    stream: true,
    messages: [{ role: 'user', content: 'hello' }],
  });
  return { started, stream: started.then((res) => res.text()).catch((err: Error) => err) };
}

/** Sends SIGTERM and waits for the exit: its code, how long it took, and whether the grace ran out. */
async function drainTimed(gateway: GatewayProcess): Promise<{ code: number | null; ms: number; graceOver: boolean }> {
  const start = Date.now();
  gateway.signal('SIGTERM');
  const code = await gateway.waitForExit();
  const ms = Date.now() - start;
  return { code, ms, graceOver: gateway.logs.some((l) => l.msg === 'grace period over: closing remaining connections') };
}

/** A request on a connection of its own: once answered, every connection opened before it has been accepted. */
const healthOnNewConnection = (gateway: GatewayProcess) =>
  new Promise<number>((resolve, reject) =>
    get(`${gateway.url}/health`, { agent: false }, (res) => resolve(res.resume().statusCode!)).on('error', reject),
  );

describe('shutdown drain', () => {
  const upstream = new FakeOpenAI();
  let upstreamUrl = '';
  /** Until the upstream has had `count` requests in all: bounded, so one that never comes fails the test, not hangs it. */
  const untilReceived = async (count: number) =>
    assert.ok(await eventually(async () => upstream.received.length >= count), `the upstream got ${upstream.received.length} of ${count}`);
  before(async () => {
    upstreamUrl = await upstream.start();
  });
  after(() => upstream.stop());

  it(
    'SIGTERM with leased requests in flight gives everything back: Redis ends holding nothing, with their exact spend',
    { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
    async () => {
      const keyId = `drain-${randomBytes(6).toString('hex')}`;
      const redis = new Redis(REDIS_URL!);
      try {
        // limitLeaseMs is left at its default (leased admission).
        const gateway = await startGateway(upstreamUrl, keyId, { SHUTDOWN_DELAY_MS: '0', REDIS_URL: REDIS_URL! });
        for (let i = 0; i < 3; i++) assert.equal((await chat(gateway, 'quick')).status, 200);
        const before = upstream.received.length;
        const inFlight = [chat(gateway, 'slow', true), chat(gateway, 'slow', true), chat(gateway, 'slow')];
        // Admitted once the upstream has them.
        await untilReceived(before + 3);
        gateway.signal('SIGTERM');
        const answers = await Promise.all(inFlight);
        assert.deepEqual(
          answers.map((a) => a.status),
          [200, 200, 200],
        );
        assert.equal(await gateway.waitForExit(), 0);

        // Found by an independent check: the lease store closed before the HTTP drain ended, so the
        // in-flight hold it kept was never released, and was charged again when it lapsed.
        assert.equal(Number((await redis.get(`gateway:{${keyId}}:held`)) ?? 0), 0, 'nothing held');
        assert.deepEqual(await redis.zrange(`gateway:{${keyId}}:holds`, '0', '-1'), [], 'no hold left to lapse');
        const spent = Number(await redis.hget(`gateway:{${keyId}}:spend:${new Date().toISOString().slice(0, 10)}`, '_total'));
        assert.ok(Math.abs(spent - 6 * REQUEST_USD) < 1e-9, `spent ${spent}, the cost of the 6 requests`);
      } finally {
        redis.disconnect();
      }
    },
  );

  it("GET / (load balancers' default health check) answers 503 while draining, as /ready does", async () => {
    const gateway = await startGateway(upstreamUrl, 'root', { SHUTDOWN_DELAY_MS: '60000' });
    assert.equal((await fetch(`${gateway.url}/`)).status, 200);
    gateway.signal('SIGTERM');
    assert.ok(await eventually(async () => (await fetch(`${gateway.url}/ready`)).status !== 200), '/ready stopped answering 200');
    assert.equal((await fetch(`${gateway.url}/`)).status, 503);
    gateway.signal('SIGKILL');
    await gateway.waitForExit();
  });

  it('a second SIGTERM during the drain is logged and the drain goes on: the stream finishes, exit 0', async () => {
    const gateway = await startGateway(upstreamUrl, 'twice', { SHUTDOWN_DELAY_MS: '0' });
    const before = upstream.received.length;
    const stream = chat(gateway, 'slow', true);
    await untilReceived(before + 1);
    gateway.signal('SIGTERM');
    await gateway.logged('draining: no new connections, finishing in-flight requests');
    gateway.signal('SIGTERM');
    await gateway.logged('already draining: the signal changes nothing');
    const answer = await stream;
    assert.equal(answer.status, 200);
    assert.match(answer.body, /data: \[DONE\]/);
    assert.equal(await gateway.waitForExit(), 0);
  });

  it('requests the grace cuts are logged as cut by the drain (warn, shutdown_cut), not as clients that left (499), and tallied at exit', async () => {
    const gateway = await startGateway(upstreamUrl, 'cut', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '500' });
    const before = upstream.received.length;
    // A stream that has begun (its 200 sent), and a JSON request whose upstream answers long after the grace.
    const { started, stream } = stallingStream(gateway);
    const json = chat(gateway, 'stuck').catch((err: Error) => err);
    await untilReceived(before + 2);
    assert.equal((await started).status, 200, 'the stream began'); // rather than a fixed 200 ms, short on a busy host
    const drain = await drainTimed(gateway);
    assert.ok(drain.graceOver);
    assert.ok((await stream) instanceof Error, 'the stream was cut');
    assert.ok((await json) instanceof Error, 'the JSON request was cut');
    // No promise in the README of another code for a drain that had to cut: 0, with the warn tally.
    assert.equal(drain.code, 0);
    const lines = gateway.logs.filter((l) => l.msg === 'request' && l.route === '/v1/chat/completions');
    assert.deepEqual(lines.map((l) => [l.model, l.status, l.error, l.level]).sort(), [
      ['stall', 200, 'shutdown_cut', 40],
      ['stuck', 503, 'shutdown_cut', 40],
    ]);
    const tally = gateway.logs.find((l) => l.msg === '2 requests cut: still in flight when the grace ran out');
    assert.equal(tally?.level, 40);
    assert.equal(tally?.cut, 2);
  });

  // Found by an independent check (obs31, 1): the metrics port closed with the public one, so what the drain counted
  // (streams that ended in it, the shutdown_cut ones) was never scraped; the process exited right after the grace.
  it('the metrics port serves through the drain and after it, until one more scrape, so what the drain counted is scraped', async () => {
    const gateway = await startGateway(upstreamUrl, 'scraped', { SHUTDOWN_GRACE_MS: '3000', SHUTDOWN_SCRAPE_MS: String(GRACE_MS) });
    const before = upstream.received.length;
    const { started, stream } = stallingStream(gateway);
    const slow = chat(gateway, 'slow');
    await untilReceived(before + 2);
    assert.equal((await started).status, 200, 'the stream began');
    gateway.signal('SIGTERM');
    await gateway.logged('draining: no new connections, finishing in-flight requests');
    assert.equal((await slow).status, 200, 'answered in the drain');
    const inDrain = await fetch(`${gateway.opsUrl}/metrics`);
    assert.equal(inDrain.status, 200);
    assert.match(await inDrain.text(), /^gateway_requests_total\{[^}]*model="slow"[^}]*status="200"[^}]*\} 1$/m);
    // The grace cut the stream; the drain is over (the tally comes after the last access line): the port still answers.
    await gateway.logged('1 requests cut: still in flight when the grace ran out');
    assert.ok((await stream) instanceof Error, 'the stream was cut');
    const last = await fetch(`${gateway.opsUrl}/metrics`);
    assert.equal(last.status, 200);
    assert.match(await last.text(), /^gateway_stream_errors_total\{[^}]*reason="shutdown_cut"[^}]*\} 1$/m);
    // That scrape was the one waited for: the process exits then, well before the wait's bound (GRACE_MS).
    assert.equal(await gateway.waitForExit(), 0);
    assert.equal(gateway.exitSignal, null);
  });

  // Found by an independent check (faults3, D3): requests waiting out a Retry-After longer than the grace were held to
  // its end and then had their connections closed with no answer, though their access lines said 503.
  it('requests waiting out a Retry-After past the grace get a 503 when the drain begins, in their protocol, not a reset', async () => {
    const gateway = await startGateway(upstreamUrl, 'sleepers', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '2000' });
    const ask = (path: string) =>
      post(gateway, path, { model: 'limited', max_tokens: 7, messages: [{ role: 'user', content: 'hi' }] }).then(async (res) => ({
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as { error: { code?: string; type?: string; message: string } },
      }));
    const before = upstream.received.length;
    const waiting = [ask('/v1/chat/completions'), ask('/v1/messages')].map((p) => p.catch((err: Error) => err));
    // Both got their 429 and now sleep out its 7 s.
    await untilReceived(before + 2);
    await sleep(200);
    const drain = await drainTimed(gateway);
    const [chat, messages] = await Promise.all(waiting);
    assert.ok(!(chat instanceof Error), `chat: ${chat}`);
    assert.ok(!(messages instanceof Error), `messages: ${messages}`);
    assert.deepEqual([chat.status, chat.body.error.code], [503, 'shutting_down']);
    assert.match(chat.body.error.message, /shutting down/);
    assert.deepEqual([messages.status, messages.body.error.type], [529, 'overloaded_error']);
    assert.ok(Number(chat.retryAfter) >= 1 && Number(messages.retryAfter) >= 1, 'each says when to come back');
    assert.equal(upstream.received.length, before + 2, 'not asked again');
    assert.equal(drain.code, 0);
    assert.equal(drain.graceOver, false, 'answered: nothing left for the grace to cut');
    const lines = gateway.logs.filter((l) => l.msg === 'request' && l.model === 'limited');
    assert.deepEqual(lines.map((l) => [l.route, l.status, l.error]).sort(), [
      ['/v1/chat/completions', 503, 'shutting_down'],
      ['/v1/messages', 529, 'shutting_down'],
    ]);
  });

  // Found by an independent check: a stream the grace cut just stopped, with no event saying why.
  it('a stream the grace cuts ends with its protocol`s error event saying the gateway is shutting down (chat, Messages, Responses)', async () => {
    const gateway = await startGateway(upstreamUrl, 'cut-events', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: '500' });
    const open = (path: string, body: object) => post(gateway, path, { model: 'stall', stream: true, ...body });
    const before = upstream.received.length;
    // Each begun (its 200 sent) before the drain, rather than after a fixed 200 ms, short on a busy host.
    const begun = await Promise.all([
      open('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }),
      open('/v1/messages', { max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
      open('/v1/responses', { input: 'hi', store: false }),
    ]);
    assert.equal(upstream.received.length, before + 3);
    assert.deepEqual(
      begun.map((res) => res.status),
      [200, 200, 200],
    );
    const streams = begun.map(received);
    assert.ok((await drainTimed(gateway)).graceOver);
    const [chat, messages, responses] = await Promise.all(streams);
    const lastData = (text: string) => JSON.parse(/data: (.*)\n\n$/.exec(text)?.[1] ?? 'null');
    const SHUTTING_DOWN = /gateway is shutting down/;

    assert.equal(lastData(chat).error.code, 'shutdown_cut', chat);
    assert.match(lastData(chat).error.message, SHUTTING_DOWN);
    assert.match(messages, /event: error\ndata: [^\n]+\n\n$/, messages);
    assert.equal(lastData(messages).error.type, 'overloaded_error');
    assert.match(lastData(messages).error.message, SHUTTING_DOWN);
    assert.match(responses, /event: response\.failed\n/, responses);
    assert.equal(lastData(responses).type, 'error');
    assert.equal(lastData(responses).code, 'shutdown_cut');
    const lines = gateway.logs.filter((l) => l.msg === 'request' && l.model === 'stall');
    assert.deepEqual(lines.map((l) => [l.route, l.status, l.error]).sort(), [
      ['/v1/chat/completions', 200, 'shutdown_cut'],
      ['/v1/messages', 200, 'shutdown_cut'],
      ['/v1/responses', 200, 'shutdown_cut'],
    ]);
  });

  it('a stream the OpenAI SDK aborted leaves no connection holding the drain: it ends at once, not after the grace', async (t) => {
    const gateway = await startGateway(upstreamUrl, 'aborted', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    const port = Number(new URL(gateway.url).port);
    let opened = 0;
    // Connections the test process's undici (the SDK's fetch) opens to the gateway.
    const onConnected = (message: unknown) => {
      if (Number((message as { connectParams: { port: string | number } }).connectParams.port) === port) opened++;
    };
    subscribe('undici:client:connected', onConnected);
    try {
      const client = gateway.client({ apiKey: TEAM_KEY });
      const messages = [{ role: 'user' as const, content: 'hello' }];
      const stream = await client.chat.completions.create({ model: 'stall', stream: true, messages });
      const chunks = stream[Symbol.asyncIterator]();
      assert.equal((await chunks.next()).done, false);
      // Answered while the stream is open: on a second connection of the client's pool.
      const answer = await client.chat.completions.create({ model: 'quick', max_tokens: 7, messages });
      assert.ok(answer.choices[0].message.content);
      stream.controller.abort();
      // Found by testing: undici reconnects for the aborted request and keeps that connection, never
      // used, in its pool (nodejs/undici#5845); Node counts it as busy, so the drain waited the grace.
      for (let waited = 0; opened < 3 && waited < 5_000; waited += 10) await sleep(10);
      if (opened < 3) return t.skip('this undici no longer reconnects after an abort (the next test covers such a connection)');
      assert.equal(await healthOnNewConnection(gateway), 200);

      const drain = await drainTimed(gateway);
      assert.equal(drain.code, 0);
      assert.equal(drain.graceOver, false, 'no connection left for the grace to close');
      assert.ok(drain.ms < GRACE_MS, `exited after ${drain.ms} ms`);
    } finally {
      unsubscribe('undici:client:connected', onConnected);
    }
  });

  it('a request whose body stopped coming gets its 408 once the drain has lasted the 10 s headers timeout, not the whole grace', async () => {
    const gateway = await startGateway(upstreamUrl, 'stalled', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('utf8').on('data', (text: string) => (answer += text));
    const closed = once(socket, 'close');
    // Whole headers, then 5 of the 100 bytes announced.
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${TEAM_KEY}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mod',
    );
    // Once a connection opened after it is answered, its headers have been read.
    assert.equal(await healthOnNewConnection(gateway), 200);

    const drain = await drainTimed(gateway);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /"code":"request_timeout"/);
    assert.equal(drain.code, 0);
    assert.equal(drain.graceOver, false, 'the drain closed it before the grace ran out');
    const [line] = gateway.logs.filter((l) => l.msg === 'request' && l.route === '/v1/chat/completions');
    assert.equal(line?.status, 408, 'its route logs the 408 its client got');
    assert.ok(drain.ms < GRACE_MS, `exited after ${drain.ms} ms`);
  });

  it('a connection that never sent a byte is closed by the drain, which still waits for the stream in flight', async () => {
    const gateway = await startGateway(upstreamUrl, 'preconnect', { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    // As a browser's or load balancer's connection opened ahead of a request.
    const unused = connect(Number(new URL(gateway.url).port), '127.0.0.1');
    await once(unused, 'connect');
    const closed = once(unused, 'close');
    unused.resume();
    const before = upstream.received.length;
    const stream = chat(gateway, 'slow', true);
    await untilReceived(before + 1);

    const drain = await drainTimed(gateway);
    await closed;
    const answer = await stream;
    assert.equal(answer.status, 200);
    assert.match(answer.body, /data: \[DONE\]/, 'the stream in flight finished');
    assert.equal(drain.code, 0);
    assert.equal(drain.graceOver, false, 'no connection left for the grace to close');
    assert.ok(drain.ms < GRACE_MS, `exited after ${drain.ms} ms`);
  });
});
