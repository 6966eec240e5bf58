import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ask, askStream, coalescingGateway, metric } from '../support/cache';
import { eventually } from '../support/eventually';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'coalesce-master-key-0123456789';
const KEYS = { ALICE_KEY: 'coalesce-alice-0123456789', BOB_KEY: 'coalesce-bob-0123456789' };
/** One model group a case, each on its own held upstream model (FakeOpenAI's `held-<tag>`). */
const CASES = ['shared', 'failed', 'cut', 'tenants', 'unread', 'gone'];

// Twenty identical concurrent requests made twenty upstream calls: the cache only helps once an
// answer is stored. An identical request arriving while one is on its way now waits for its answer.
describe('response cache: identical requests in flight share one upstream call', () => {
  const { setup, calls, waiting } = coalescingGateway(
    CASES,
    {
      security: {
        keys: [
          { id: 'alice', keyEnv: 'ALICE_KEY' },
          { id: 'bob', keyEnv: 'BOB_KEY' },
        ],
      },
    },
    { env: { GATEWAY_MASTER_KEY: MASTER, ...KEYS } },
  );
  const coalesced = () => metric(setup.gateway, 'gateway_cache_lookups_total{result="hit-coalesced"}');

  it('streamed and JSON requests waiting for a streamed answer get it, and the upstream is called once', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const before = await coalesced();
    const first = askStream(client, 'What is the tallest mountain?', true, {}, 'c-shared');
    assert.ok(await eventually(async () => calls('shared') === 1));
    const json = [1, 2].map(() => ask(client, 'What is the tallest mountain?', { model: 'c-shared' }));
    const streamed = [true, false].map((usage) => askStream(client, 'What is the tallest mountain?', usage, {}, 'c-shared'));
    assert.ok(await eventually(async () => (await waiting()) === 4));
    setup.upstream.release('shared');
    const answered = await first;
    assert.equal(answered.cache, 'miss');
    const [json1, json2] = await Promise.all(json);
    const [stream1, stream2] = await Promise.all(streamed);
    for (const follower of [json1, json2, stream1, stream2]) assert.equal(follower.cache, 'hit-coalesced');
    assert.equal(json1.completion.choices[0].message.content, answered.text);
    assert.equal(json2.completion.choices[0].message.content, answered.text);
    assert.equal(stream1.text, answered.text);
    assert.equal(stream2.text, answered.text);
    assert.ok(stream1.chunks.at(-1)?.usage, 'a follower that asked for usage gets it');
    assert.ok(!stream2.chunks.some((c) => c.usage), 'and one that did not, does not');
    assert.equal(calls('shared'), 1);
    assert.equal((await coalesced()) - before, 4);
    assert.equal(await waiting(), 0);
  });

  it('when the request waited for fails, one waiting request goes upstream and the other waits for it', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const first = ask(client, 'Which river is the longest?', { model: 'c-failed' }).catch((err: { status?: number }) => err);
    assert.ok(await eventually(async () => calls('failed') === 1));
    const followers = [1, 2].map(() => ask(client, 'Which river is the longest?', { model: 'c-failed' }));
    assert.ok(await eventually(async () => (await waiting()) === 2));
    setup.upstream.release('failed', 400);
    assert.equal(((await first) as { status?: number }).status, 400);
    const answered = await Promise.all(followers);
    assert.deepEqual(answered.map((f) => f.cache).sort(), ['hit-coalesced', 'miss']);
    for (const follower of answered) assert.match(follower.completion.choices[0].message.content ?? '', /Which river is the longest\?/);
    assert.equal(calls('failed'), 2);
  });

  it('when the client of the request waited for goes away, one waiting request takes over', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const gone = new AbortController();
    const first = client.chat.completions
      .create({ model: 'c-cut', messages: [{ role: 'user', content: 'How deep is the ocean?' }] }, { signal: gone.signal, maxRetries: 0 })
      .catch((err: Error) => err);
    assert.ok(await eventually(async () => calls('cut') === 1));
    const followers = [1, 2].map(() => ask(client, 'How deep is the ocean?', { model: 'c-cut' }));
    assert.ok(await eventually(async () => (await waiting()) === 2));
    gone.abort();
    assert.ok((await first) instanceof Error);
    assert.ok(await eventually(async () => calls('cut') === 2 && (await waiting()) === 1));
    setup.upstream.release('cut');
    assert.deepEqual((await Promise.all(followers)).map((f) => f.cache).sort(), ['hit-coalesced', 'miss']);
    assert.equal(calls('cut'), 2);
  });

  // Found by an independent check: a streamed request whose client kept its connection open without
  // reading held every identical request, without end (its answer went at its client's pace).
  it('a streamed request whose client does not read does not hold the ones waiting for it', async () => {
    // ~14 MB of SSE (one chunk a word) for a 160 KB answer: far more than the sockets between gateway and
    // client hold, and than the gateway reads ahead of a client (16 entries' worth, 4 MiB): the waiting
    // request is let go then, and goes upstream itself.
    const prompt = Array.from({ length: 80_000 }, () => 'a').join(' ');
    const body = JSON.stringify({ model: 'c-unread', stream: true, messages: [{ role: 'user', content: prompt }] });
    const unread = connect(Number(new URL(setup.gateway.url).port), '127.0.0.1');
    unread.on('error', () => undefined);
    unread.pause(); // a client that keeps its connection open and never reads
    unread.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${MASTER}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    try {
      assert.ok(await eventually(async () => calls('unread') === 1));
      const follower = ask(setup.gateway.client({ apiKey: MASTER }), prompt, { model: 'c-unread' });
      assert.ok(await eventually(async () => (await waiting()) === 1));
      setup.upstream.release('unread');
      const served = await follower;
      assert.equal(served.cache, 'miss');
      assert.equal(served.completion.choices[0].message.content, `fake answer to: ${prompt}`);
      assert.equal(calls('unread'), 2);
    } finally {
      unread.destroy();
    }
  });

  // Found by an independent check: a waiting request whose client had gone went upstream all the same
  // once the request it waited for failed.
  it('a waiting request whose client has gone stops waiting and never goes upstream', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const first = ask(client, 'How far is the moon?', { model: 'c-gone' }).catch((err: { status?: number }) => err);
    assert.ok(await eventually(async () => calls('gone') === 1));
    const leaving = new AbortController();
    const follower = client.chat.completions
      .create({ model: 'c-gone', messages: [{ role: 'user', content: 'How far is the moon?' }] }, { signal: leaving.signal })
      .catch((err: Error) => err);
    assert.ok(await eventually(async () => (await waiting()) === 1));
    leaving.abort();
    assert.ok((await follower) instanceof Error);
    assert.ok(await eventually(async () => (await waiting()) === 0), 'it stopped waiting when its client left');
    setup.upstream.release('gone', 400);
    assert.equal(((await first) as { status?: number }).status, 400);
    // Its log line comes when it ends: at once now; before, only after its own upstream call.
    const ended = await setup.gateway.logged('request', { where: (l) => l.status === 499 && l.model === 'c-gone', timeoutMs: 30_000 });
    assert.equal(ended.length, 1);
    assert.equal(calls('gone'), 1, 'the request whose client had gone made no upstream call');
  });

  it('a request never waits for another tenant’s answer', async () => {
    const alice = setup.gateway.client({ apiKey: KEYS.ALICE_KEY });
    const bob = setup.gateway.client({ apiKey: KEYS.BOB_KEY });
    const first = ask(alice, 'Name a prime number.', { model: 'c-tenants' });
    assert.ok(await eventually(async () => calls('tenants') === 1));
    const other = ask(bob, 'Name a prime number.', { model: 'c-tenants' });
    assert.ok(await eventually(async () => calls('tenants') === 2));
    const same = askStream(alice, 'Name a prime number.', true, {}, 'c-tenants');
    assert.ok(await eventually(async () => (await waiting()) === 1));
    setup.upstream.release('tenants');
    assert.equal((await first).cache, 'miss');
    assert.equal((await other).cache, 'miss');
    const follower = await same;
    assert.equal(follower.cache, 'hit-coalesced');
    assert.equal(follower.text, (await first).completion.choices[0].message.content);
    assert.equal(calls('tenants'), 2);
  });
});

// Found by an independent check: /v1/messages requests to an `anthropic` deployment (Claude Code's path)
// waited for identical ones although the vendor's own answer is never stored: every one waited, then
// went upstream anyway, at twice the latency.
describe('response cache: no request waits for an answer that will not be stored', () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  before(async () => {
    const providers = await vendors.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers,
        models: [{ name: 'claude-x', deployments: [{ provider: 'ant', model: 'claude-slow-60000' }] }],
        cache: { enabled: true, semantic: { enabled: false } },
      }),
      { env: vendors.env },
    );
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  it('identical Messages API requests to an anthropic deployment each go upstream at once', async () => {
    const calls = () => vendors.anthropic.received.filter((r) => r.body.model === 'claude-slow-60000').length;
    const body = JSON.stringify({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'Say hi.' }] });
    const leave = new AbortController();
    const send = () =>
      fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body,
        signal: leave.signal,
      }).catch((err: Error) => err);
    const first = send();
    assert.ok(await eventually(async () => calls() === 1));
    const second = send();
    try {
      assert.ok(await eventually(async () => calls() === 2), 'the second went upstream while the first was still on its way');
      assert.equal(await metric(gateway, 'gateway_cache_waiting_requests'), 0);
    } finally {
      leave.abort();
      await Promise.all([first, second]);
    }
  });
});
