import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ask, askStream, coalescingGateway, metric } from '../support/cache';
import { WEATHER_TOOL } from '../support/chat';
import { eventually } from '../support/eventually';
import { configWith, gatewayWithFakeUpstream } from '../support/gateway';

const MASTER = 'coalesce-lost-master-key-0123456789';
/** One model group a case, each on its own held upstream model (FakeOpenAI's `held-<tag>`). */
const CASES = ['once', 'once-stream', 'always', 'always-stream', 'tool-unshared'];
type Failed = { status?: number };

const sorted = (results: { cache: string | null }[]) => results.map((r) => r.cache).sort();

// Found by the lead: when the request others waited for failed (a 429, a 5xx, its client gone), every
// one of them went upstream at once: three identical requests on a 429 made six upstream calls, a
// thundering herd exactly when the upstream struggles. Now one takes over and the rest wait for it.
describe('response cache: after the request waited for fails, one waiting request takes over', () => {
  // One attempt a request, and no breaker in the way: upstream calls count the requests that went.
  const { setup, calls, waiting } = coalescingGateway(
    CASES,
    { router: { retry: { attemptsPerDeployment: 1 }, breaker: { consecutiveFailures: 100 } } },
    { env: { GATEWAY_MASTER_KEY: MASTER } },
  );
  /** Answers the requests held for `tag` now (with `status`'s error when given); later ones are held until the next release. */
  const releaseHeld = (tag: string, status?: number) => {
    setup.upstream.release(tag, status);
    setup.upstream.holdAgain(tag);
  };

  it('an upstream that 429s once: three waiting requests make one more upstream call, not three', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const question = 'Which river is the longest?';
    const first = ask(client, question, { model: 'c-once' }).catch((err: Failed) => err);
    assert.ok(await eventually(async () => calls('once') === 1));
    const followers = [1, 2, 3].map(() => ask(client, question, { model: 'c-once' }));
    assert.ok(await eventually(async () => (await waiting()) === 3));
    setup.upstream.release('once', 429);
    assert.equal(((await first) as Failed).status, 429);
    const answered = await Promise.all(followers);
    assert.deepEqual(sorted(answered), ['hit-coalesced', 'hit-coalesced', 'miss']);
    for (const follower of answered) assert.equal(follower.completion.choices[0].message.content, `fake answer to: ${question}`);
    assert.equal(calls('once'), 2);
    assert.equal(await waiting(), 0);
  });

  it('streamed: a failed streamed request is taken over by one waiting request, streamed or not', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const question = 'How deep is the ocean?';
    const first = askStream(client, question, true, {}, 'c-once-stream').catch((err: Failed) => err);
    assert.ok(await eventually(async () => calls('once-stream') === 1));
    const streamed = [1, 2].map(() => askStream(client, question, true, {}, 'c-once-stream'));
    const json = ask(client, question, { model: 'c-once-stream', stream: false });
    assert.ok(await eventually(async () => (await waiting()) === 3));
    setup.upstream.release('once-stream', 503);
    assert.equal(((await first) as Failed).status, 503);
    const [a, b] = await Promise.all(streamed);
    const c = await json;
    assert.deepEqual(sorted([a, b, c]), ['hit-coalesced', 'hit-coalesced', 'miss']);
    for (const text of [a.text, b.text, c.completion.choices[0].message.content]) assert.equal(text, `fake answer to: ${question}`);
    assert.equal(calls('once-stream'), 2);
  });

  // Not a failure: another lead would most likely get a tool call too, and the waiting ones would only wait for it in turn.
  it('an answer that may not be shared (a tool call): the waiting requests all go upstream at once', async () => {
    const client = setup.gateway.client({ apiKey: MASTER });
    const params = { model: 'c-tool-unshared', tools: [WEATHER_TOOL] };
    const first = ask(client, 'Weather in Paris?', params);
    assert.ok(await eventually(async () => calls('tool-unshared') === 1));
    const followers = [1, 2].map(() => ask(client, 'Weather in Paris?', params));
    assert.ok(await eventually(async () => (await waiting()) === 2));
    releaseHeld('tool-unshared');
    assert.equal((await first).completion.choices[0].finish_reason, 'tool_calls');
    // Held upstream now: both are there at once, neither waits for the other.
    assert.ok(await eventually(async () => calls('tool-unshared') === 3 && (await waiting()) === 0), `calls ${calls('tool-unshared')}`);
    setup.upstream.release('tool-unshared');
    for (const follower of await Promise.all(followers)) assert.equal(follower.cache, 'miss');
  });

  for (const stream of [false, true]) {
    const tag = stream ? 'always-stream' : 'always';
    it(`an upstream that fails every time${stream ? ' (streamed)' : ''}: one more call a failure, then, after two, the rest go; N requests, N calls`, async () => {
      const client = setup.gateway.client({ apiKey: MASTER });
      const question = `Name a prime number (${tag}).`;
      const send = () =>
        (stream ? askStream(client, question, true, {}, `c-${tag}`) : ask(client, question, { model: `c-${tag}` })).catch(
          (err: Failed) => err,
        );
      const first = send();
      assert.ok(await eventually(async () => calls(tag) === 1));
      const followers = [1, 2, 3, 4].map(send);
      assert.ok(await eventually(async () => (await waiting()) === 4));
      releaseHeld(tag, 503);
      // One of the four leads now; three wait for it (their second wait).
      assert.ok(
        await eventually(async () => calls(tag) === 2 && (await waiting()) === 3),
        `calls ${calls(tag)}, waiting ${await waiting()}`,
      );
      releaseHeld(tag, 503);
      // Two leads failed: the three waited twice and go upstream themselves, none waits.
      assert.ok(
        await eventually(async () => calls(tag) === 5 && (await waiting()) === 0),
        `calls ${calls(tag)}, waiting ${await waiting()}`,
      );
      setup.upstream.release(tag, 503);
      for (const failed of await Promise.all([first, ...followers])) assert.equal((failed as Failed).status, 503);
      assert.equal(calls(tag), 5, 'five requests, five upstream calls: never more than one each');
    });
  }
});

// A waiting request's deadline: before, it waited for as long as the request it waited for went on
// (a stream's deadline ends with its first chunk), past its own deadlineMs.
describe('response cache: a waiting request stops waiting when its deadline passes', () => {
  const setup = gatewayWithFakeUpstream(
    (baseUrl) =>
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
        // `stall`: a stream that sends two chunks and then nothing, its connection open.
        models: [{ name: 'c-stall', deployments: [{ provider: 'fake', model: 'stall' }] }],
        cache: { enabled: true, semantic: { enabled: false } },
        router: { timeouts: { attemptMs: 1_500, deadlineMs: 1_500 } },
      }),
    // A connection of the stalled stream stays open after its client left (cache or not): stopping need not wait 30 s for it.
    { env: { SHUTDOWN_GRACE_MS: '1000' } },
  );
  const calls = () => setup.upstream.received.filter((r) => r.body.model === 'stall').length;

  it('answers 504 deadline_exceeded without an upstream call, and waits no more', async () => {
    const client = setup.gateway.client();
    const first = await client.chat.completions.create({
      model: 'c-stall',
      stream: true,
      messages: [{ role: 'user', content: 'Tell a long story.' }],
    });
    try {
      assert.ok(await eventually(async () => calls() === 1));
      const follower = await client.chat.completions
        .create({ model: 'c-stall', messages: [{ role: 'user', content: 'Tell a long story.' }] }, { timeout: 30_000 })
        .catch((err: Failed & { code?: string }) => err);
      assert.equal((follower as Failed).status, 504, String(follower));
      assert.equal((follower as { code?: string }).code, 'deadline_exceeded');
      assert.equal(await metric(setup.gateway, 'gateway_cache_waiting_requests'), 0);
      assert.equal(calls(), 1, 'the waiting request made no upstream call');
    } finally {
      first.controller.abort();
    }
  });
});

// Found by cache5: when the lead a request waited for failed a few ms before that request's own deadline,
// the request took its place (or, after two leads, went itself) with those few ms left: the attempt could
// not finish, and the request reached the upstream after its client had been answered 504.
describe('response cache: a waiting request with its deadline nearly passed does not go upstream', () => {
  // The upstream holds every call until released: one attempt a request, the whole deadline for it.
  const { setup, calls, waiting } = coalescingGateway(
    ['late'],
    { router: { timeouts: { attemptMs: 3_000, deadlineMs: 3_000 }, retry: { attemptsPerDeployment: 1 } } },
    {},
  );

  it('its lead fails with under 250 ms of its deadline left: 504 deadline_exceeded, no attempt, no upstream call', async () => {
    const client = setup.gateway.client();
    const send = () =>
      client.chat.completions
        .create({ model: 'c-late', messages: [{ role: 'user', content: 'Which mountain is the highest?' }] })
        .catch((err: Failed & { code?: string; headers?: Headers }) => err);
    const first = send();
    assert.ok(await eventually(async () => calls('late') === 1));
    const followers = [1, 2, 3].map(send);
    assert.ok(await eventually(async () => (await waiting()) === 3));
    // They were waiting before this: when the lead fails, at most 150 ms of their deadline is left (less on a slow machine).
    await new Promise((resolve) => setTimeout(resolve, 2_850));
    setup.upstream.release('late', 503);
    // Any call after it is held again, as by an upstream still slow.
    const answerHeld = setup.upstream.holdAgain('late');
    // The lead fails with the 503, or with its own deadline if the release came later than that.
    assert.ok([503, 504].includes(((await first) as Failed).status!));
    for (const follower of await Promise.all(followers)) {
      const failed = follower as Failed & { code?: string; headers?: Headers };
      assert.equal(failed.status, 504, String(follower));
      assert.equal(failed.code, 'deadline_exceeded');
      assert.equal(failed.headers?.get('x-gateway-attempts'), '0', 'no attempt was started for it');
    }
    assert.equal(calls('late'), 1, 'only the lead reached the upstream');
    assert.equal(await waiting(), 0);
    answerHeld();
  });
});
