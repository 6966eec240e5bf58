import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Redis } from 'ioredis';
import { FakeAnthropic } from '../support/fake-anthropic';
import { FakeGemini } from '../support/fake-gemini';
import { FakeOpenAI } from '../support/fake-openai';
import type { FakeUpstream } from '../support/fake-upstream';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisMonitor } from '../support/redis-monitor';
import { RedisServer } from '../support/redis-server';
import { eventually } from '../support/eventually';
import { sleep } from '../support/fake-upstream';

/**
 * Found by an independent check with @anthropic-ai/sdk 1.17, whose `beta.messages.thread()` and
 * `toolRunner()` use Anthropic's message threads by default: the first request sends
 * `thread: {type: "create"}`, each later one only its new messages with `thread: {type: "continue",
 * previous_message_id}`. The gateway ignored `thread` and translated the new messages alone (GPT: a
 * 200 that had lost the conversation; Gemini: a 400 naming a tool call id; with the cache on, an exact
 * hit for the lone new message). The gateway now holds threads itself, for every vendor, per tenant,
 * in Redis when configured: these run two replicas on one Redis, with the exact cache on.
 *
 * The SDK's own helper drives a conversation on each vendor; single turns are sent as it sends them
 * (`beta.messages.create` with `thread`) to check each error's `error.details.error_code`, which the
 * helper acts on (thread_not_found, thread_already_continued: replay the conversation with `create`).
 */
const SERVER = process.env.TEST_REDIS_SERVER;
const skip = !SERVER && 'TEST_REDIS_SERVER unset (run npm test)';
const THREADS_BETA = 'message-threads-2026-08-12';
const KEYS = { TEAM_A_KEY: 'team-a-secret-key-value', TEAM_B_KEY: 'team-b-secret-key-value', TEAM_C_KEY: 'team-c-secret-key-value' };
const SYSTEM = 'You are the thread test. Keep replies short.';
/** How long a continue's claim outlives its renewals (30 s by default): short, so a continue can outlast it. */
const CLAIM_TTL_SECONDS = 3;
/** A body limit a thread reaches in two turns (4 MiB by default). */
const BODY_LIMIT_BYTES = 100_000;

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic('sk-ant-fake');
const gemini = new FakeGemini('gemini-fake');

/** Per vendor: the gateway's model (an echo of the last user text) and the fake that serves it. */
const VENDORS: { model: string; upstream: FakeUpstream }[] = [
  { model: 'gpt-echo', upstream: openai },
  { model: 'claude-echo', upstream: anthropic },
  { model: 'gemini-echo', upstream: gemini },
];

type Body = Record<string, any>;
type Thread = { type: 'create' } | { type: 'continue'; previous_message_id: string };

describe('Anthropic message threads, held by the gateway for every vendor', { skip }, () => {
  let redis: RedisServer;
  let probe: Redis;
  let a: GatewayProcess;
  let b: GatewayProcess;

  before(async () => {
    const [oa, ant, gem] = await Promise.all([openai.start(), anthropic.start(), gemini.start()]);
    redis = await RedisServer.start(SERVER!);
    probe = new Redis(redis.url);
    const deploy = (name: string, provider: string, model: string) => ({
      name,
      deployments: [{ provider, model, maxOutputTokens: 1000, capabilities: ['tools', 'json', 'vision'] }],
    });
    const config = configWith({
      providers: [
        { name: 'oa', type: 'openai-compatible', baseUrl: oa },
        { name: 'ant', type: 'anthropic', baseUrl: ant, apiKeyEnv: 'FAKE_ANT_KEY' },
        { name: 'gem', type: 'gemini', baseUrl: gem, apiKeyEnv: 'FAKE_GEM_KEY' },
      ],
      models: [
        deploy('gpt-echo', 'oa', 'ok'),
        deploy('claude-echo', 'ant', 'claude-echo'),
        deploy('gemini-echo', 'gem', 'gemini-echo'),
        deploy('gpt-held', 'oa', 'held-claim'),
        deploy('gpt-lapse', 'oa', 'held-lapse'),
        deploy('gpt-race', 'oa', 'held-race'),
      ],
      messages: { threads: { claimTtlSeconds: CLAIM_TTL_SECONDS } },
      server: { bodyLimitBytes: BODY_LIMIT_BYTES },
      cache: { enabled: true, semantic: { enabled: false } },
      security: {
        keys: [
          { id: 'team-a', keyEnv: 'TEAM_A_KEY' },
          { id: 'team-b', keyEnv: 'TEAM_B_KEY' },
          { id: 'team-c', keyEnv: 'TEAM_C_KEY' },
        ],
      },
    });
    const env = {
      REDIS_URL: redis.url,
      GATEWAY_MASTER_KEY: 'test-master-key-0123456789',
      FAKE_ANT_KEY: 'sk-ant-fake',
      FAKE_GEM_KEY: 'gemini-fake',
      ...KEYS,
    };
    [a, b] = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    probe?.disconnect();
    await redis?.stop();
    await Promise.all([openai.stop(), anthropic.stop(), gemini.stop()]);
  });

  const client = (gw: GatewayProcess, key = KEYS.TEAM_A_KEY) => new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });

  /** One turn as the SDK's thread helper sends it: the threads beta, `thread`, and only what the server lacks. */
  function turn(gw: GatewayProcess, body: Body, thread: Thread, key?: string) {
    return client(gw, key).beta.messages.create({ max_tokens: 200, ...body, thread, betas: [THREADS_BETA] } as any) as Promise<Body>;
  }

  async function streamedTurn(gw: GatewayProcess, body: Body, thread: Thread): Promise<Body> {
    const stream = client(gw).beta.messages.stream({ max_tokens: 200, ...body, thread, betas: [THREADS_BETA] } as any);
    return (await stream.finalMessage()) as Body;
  }

  /** The error a call fails with, as the SDK's thread helper reads it: status and `error.details.error_code`. */
  async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; type: string }> {
    const err = await call.then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Anthropic.APIError, String(err));
    const body = err.error as { error: { type: string; details?: { error_code: string } } };
    return { status: err.status!, code: body.error.details?.error_code ?? '', type: body.error.type };
  }

  /** The user texts of what the upstream was last sent, in order, whatever its wire format. */
  function userTexts(upstream: FakeUpstream): string[] {
    return JSON.stringify(upstream.last().body).match(/thread turn \d/g) ?? [];
  }

  /**
   * How `call` (a continue sent while the upstream holds `tag`'s requests, `held` of them) ends: how
   * many requests the upstream holds once it was answered or went upstream itself (then `tag` is
   * released, so it ends), and its refusal.
   */
  async function refusedWhileHeld(call: Promise<Body>, held: number, tag: string) {
    let settled = false;
    const tracked = call.finally(() => (settled = true));
    tracked.catch(() => {}); // read below
    const before = openai.received.length - held;
    await eventually(async () => settled || openai.received.length > before + held);
    const upstreamCalls = openai.received.length - before;
    openai.release(tag);
    return { upstreamCalls, refused: await refusal(tracked) };
  }

  for (const { model, upstream } of VENDORS) {
    it(`${model}: a thread created on one replica is continued on the other, streamed and not, with the whole conversation upstream`, async () => {
      const first = await turn(a, { model, system: SYSTEM, messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
      assert.match(JSON.stringify(first.content), /thread turn 1/);

      const second = await streamedTurn(
        b,
        { model, messages: [{ role: 'user', content: 'thread turn 2' }] },
        {
          type: 'continue',
          previous_message_id: first.id,
        },
      );
      assert.deepEqual(userTexts(upstream), ['thread turn 1', 'thread turn 1', 'thread turn 2'], 'turn 1, its answer, turn 2');
      assert.match(JSON.stringify(upstream.last().body), /You are the thread test/, "the thread's system prompt");

      // The streamed answer was kept: the next turn, back on the first replica, continues from it.
      const third = await turn(
        a,
        { model, messages: [{ role: 'user', content: 'thread turn 3' }] },
        {
          type: 'continue',
          previous_message_id: second.id,
        },
      );
      assert.deepEqual(userTexts(upstream), ['thread turn 1', 'thread turn 1', 'thread turn 2', 'thread turn 2', 'thread turn 3']);
      assert.match(JSON.stringify(third.content), /thread turn 3/);
      assert.equal(upstream.last().body.thread, undefined, 'no upstream is sent `thread`');
      assert.doesNotMatch(String(upstream.last().headers['anthropic-beta'] ?? ''), /message-threads/, 'nor the threads beta');
    });
  }

  for (const { model, upstream } of VENDORS) {
    it(`${model}: the SDK's thread helper continues the gateway's thread, one upstream request a turn`, async () => {
      const thread = client(b).beta.messages.thread({ model, max_tokens: 200, system: SYSTEM });
      const before = upstream.received.length;
      await thread.send({ role: 'user', content: 'thread turn 4' });
      const answer = await thread.send({ role: 'user', content: 'thread turn 5' });
      assert.match(JSON.stringify(answer.content), /thread turn 5/);
      assert.equal(upstream.received.length - before, 2, 'no turn was replayed after a refusal');
      assert.deepEqual(userTexts(upstream), ['thread turn 4', 'thread turn 4', 'thread turn 5']);
    });
  }

  it('an unknown, expired or other tenant`s id is a 404 thread_not_found; a response continues once; the thread`s fields stay', async () => {
    const model = 'gpt-echo';
    const first = await turn(a, { model, system: SYSTEM, messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
    const next = (id: string, extra: Body = {}, gw = b, key?: string) =>
      turn(
        gw,
        { model, messages: [{ role: 'user', content: 'thread turn 2' }], ...extra },
        { type: 'continue', previous_message_id: id },
        key,
      );

    assert.deepEqual(await refusal(next('msg_unknown0123456789')), { status: 404, code: 'thread_not_found', type: 'not_found_error' });
    assert.deepEqual(await refusal(next(first.id, {}, b, KEYS.TEAM_B_KEY)), {
      status: 404,
      code: 'thread_not_found',
      type: 'not_found_error',
    });
    for (const changed of [
      { model: 'claude-echo' },
      { system: 'Another prompt.' },
      { thinking: { type: 'enabled', budget_tokens: 2048 } },
    ]) {
      const got = await refusal(next(first.id, changed));
      assert.deepEqual(got, { status: 400, code: 'thread_fingerprint_mismatch', type: 'invalid_request_error' }, JSON.stringify(changed));
    }

    const second = await next(first.id, { system: SYSTEM }); // the thread's own system prompt may be sent again
    assert.deepEqual(await refusal(next(first.id)), { status: 400, code: 'thread_already_continued', type: 'invalid_request_error' });

    // Kept in Redis under the tenant, for Anthropic's 5 minutes after the last response; gone, it is not found.
    const key = `gw:thread:{team-a}:${second.id}`;
    const ttl = await probe.ttl(key);
    assert.ok(ttl > 0 && ttl <= 300, `ttl ${ttl}`);
    await probe.del(key);
    assert.deepEqual(await refusal(next(second.id, {}, a)), { status: 404, code: 'thread_not_found', type: 'not_found_error' });
  });

  // Found by an independent check: `<id>:next` (where the gateway kept who continues a response) was read
  // as a thread (500), a long id was echoed whole, and a paused turn (pause_turn) could not be resumed:
  // the SDK resumes it with a continue that sends no message, which the schema refused without a code.
  it('an id the gateway never gave is not found (no 500, not echoed whole); a continue may send no message', async () => {
    const model = 'gpt-echo';
    const first = await turn(a, { model, system: SYSTEM, messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
    const next = (id: string, messages: Body[] = [{ role: 'user', content: 'thread turn 2' }]) =>
      turn(b, { model, messages }, { type: 'continue', previous_message_id: id });
    const second = await next(first.id);
    for (const id of [`${first.id}:next`, `next:${first.id}`, `${second.id}:next`]) {
      assert.deepEqual(await refusal(next(id)), { status: 404, code: 'thread_not_found', type: 'not_found_error' }, id);
    }
    const long = await next(`msg_${'x'.repeat(200)}`).catch((err: InstanceType<typeof Anthropic.APIError>) => err);
    assert.equal(long.status, 404);
    assert.ok(!JSON.stringify(long.error).includes('x'.repeat(100)), 'the id is not echoed whole');

    // Resumed, its conversation ends with the model's answer, for the model to continue (a prefill, as a paused turn
    // is): an OpenAI-format model would answer it afresh, so only an Anthropic deployment serves it.
    const sent = openai.received.length;
    assert.deepEqual(await refusal(next(second.id, [])), { status: 400, code: '', type: 'invalid_request_error' });
    assert.equal(openai.received.length, sent, 'nothing was sent');
    const created = await turn(a, { model: 'claude-echo', messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
    const resumed = await turn(b, { model: 'claude-echo', messages: [] }, { type: 'continue', previous_message_id: created.id });
    assert.match(JSON.stringify(resumed.content), /thread turn 1/);
    assert.equal((anthropic.last().body.messages as Body[]).at(-1)?.role, 'assistant', 'the conversation as it was, its answer last');
  });

  // Found by an independent check: a continue's claim on its response lapsed after 30 s while the
  // continue still ran, and a second continue of the same response went through (two branches). The
  // claim is renewed while its request runs; here a continue is held upstream for two claim TTLs.
  it('a continue slower than the claim TTL keeps its response: another is thread_continue_in_flight meanwhile', async () => {
    const model = 'gpt-held';
    openai.release('claim'); // the create is answered at once, the continue held until released
    const first = await turn(a, { model, messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
    openai.holdAgain('claim');
    const next = (gw: GatewayProcess) =>
      turn(gw, { model, messages: [{ role: 'user', content: 'thread turn 2' }] }, { type: 'continue', previous_message_id: first.id });
    const upstreamBefore = openai.received.length;
    const slow = next(a);
    assert.ok(await eventually(async () => openai.received.length > upstreamBefore), 'the continue reached the upstream');
    await sleep(2 * CLAIM_TTL_SECONDS * 1000);
    assert.ok((await probe.pttl(`gw:thread:{team-a}:next:${first.id}`)) > 0, 'the claim is still held');

    const second = await refusedWhileHeld(next(b), openai.received.length - upstreamBefore, 'claim');
    assert.equal(second.upstreamCalls, 1, 'one continue of the response went upstream, not two');
    assert.deepEqual(second.refused, { status: 400, code: 'thread_continue_in_flight', type: 'invalid_request_error' });
    assert.match(JSON.stringify((await slow).content), /thread turn 2/);
    assert.deepEqual(await refusal(next(b)), { status: 400, code: 'thread_already_continued', type: 'invalid_request_error' });
  });

  // Found by a review: a claim was renewed and settled whoever held it by then. A continue whose claim
  // lapsed (its replica paused past the claim TTL, forced here by deleting the claim) and was taken
  // by a second continue let go of the second's claim when it failed, and a third went upstream too.
  it('a continue whose claim lapsed and was taken does not let go of the other`s claim', async () => {
    const model = 'gpt-lapse';
    openai.release('lapse');
    const first = await turn(a, { model, messages: [{ role: 'user', content: 'thread turn 1' }] }, { type: 'create' });
    openai.holdAgain('lapse');
    const claimKey = `gw:thread:{team-a}:next:${first.id}`;
    const next = (gw: GatewayProcess, signal?: AbortSignal) =>
      client(gw).beta.messages.create(
        {
          model,
          max_tokens: 200,
          messages: [{ role: 'user', content: 'thread turn 2' }],
          thread: { type: 'continue', previous_message_id: first.id },
          betas: [THREADS_BETA],
        } as any,
        { signal },
      ) as Promise<Body>;
    const upstreamBefore = openai.received.length;
    const stopped = new AbortController();
    const firstContinue = next(a, stopped.signal).catch(() => 'aborted');
    assert.ok(await eventually(async () => openai.received.length > upstreamBefore), 'the first continue is upstream');
    await probe.del(claimKey); // its claim lapsed
    const secondContinue = next(b);
    assert.ok(await eventually(async () => openai.received.length > upstreamBefore + 1), 'the second claimed the response and is upstream');
    stopped.abort(); // the first fails: it lets go of its claim, which is no longer its
    assert.equal(await firstContinue, 'aborted');
    // Its settle has run once it logged that its claim lapsed (before the fix: nothing logged, the wait runs out).
    await eventually(async () => a.logs.some((l) => /the claim lapsed/.test(String(l.msg))));

    const third = await refusedWhileHeld(next(b), openai.received.length - upstreamBefore, 'lapse');
    assert.equal(third.upstreamCalls, 2, 'the third continue did not go upstream while the second ran');
    assert.deepEqual(third.refused, { status: 400, code: 'thread_continue_in_flight', type: 'invalid_request_error' });
    assert.match(JSON.stringify((await secondContinue).content), /thread turn 2/);
    // Kept once the answer is through: the settle may land just after the client has it.
    assert.ok(await eventually(async () => (await probe.get(claimKey)) === '"continued"'), 'settled by its holder, the second');
  });

  // Found by an independent re-check: a continue that lost the race for its response (its claim lapsed,
  // here deleted, and another continue of the response was kept first) got a plain 200 whose id then
  // answered 404 thread_not_found, with only a warning logged. Its answer now says it was not kept
  // (x-gateway-thread-kept: false; streamed, on message_stop), and it is counted.
  it('a continue whose answer was not kept, another continue of its response kept first, says so and is counted', async () => {
    const model = 'gpt-race';
    const body = (previous: string) => ({
      model,
      max_tokens: 200,
      messages: [{ role: 'user', content: 'thread turn 2' }],
      thread: { type: 'continue', previous_message_id: previous },
      betas: [THREADS_BETA],
    });
    const continued = (gw: GatewayProcess, previous: string) =>
      client(gw)
        .beta.messages.create(body(previous) as any)
        .withResponse();
    const streamed = async (gw: GatewayProcess, previous: string) => {
      const events: Body[] = [];
      for await (const event of (await client(gw).beta.messages.create({ ...body(previous), stream: true } as any)) as any)
        events.push(event);
      return events;
    };
    /** `loser` continues `previous` on replica a, held upstream; its claim lapses, and a continue on b is kept first. */
    async function raced<T>(previous: string, loser: (previous: string) => Promise<T>) {
      openai.holdAgain('race');
      const upstreamBefore = openai.received.length;
      const lost = loser(previous);
      lost.catch(() => {}); // read below
      assert.ok(await eventually(async () => openai.received.length > upstreamBefore), 'the loser is upstream');
      await probe.del(`gw:thread:{team-a}:next:${previous}`); // its claim lapsed
      const answerLoser = openai.holdAgain('race');
      const winning = continued(b, previous);
      assert.ok(await eventually(async () => openai.received.length > upstreamBefore + 1), 'the winner is upstream');
      openai.release('race');
      const winner = await winning;
      assert.equal(winner.response.headers.get('x-gateway-thread-kept'), 'true', 'the winner was kept');
      answerLoser();
      return { winner: winner.data as unknown as Body, lost: await lost };
    }

    openai.release('race');
    const created = await client(a)
      .beta.messages.create({
        model,
        max_tokens: 200,
        messages: [{ role: 'user', content: 'thread turn 1' }],
        thread: { type: 'create' },
        betas: [THREADS_BETA],
      } as any)
      .withResponse();
    assert.equal(created.response.headers.get('x-gateway-thread-kept'), 'true');

    const first = await raced(created.data.id, (previous) => continued(a, previous));
    assert.equal(first.lost.response.status, 200, 'the answer is served: the model ran');
    assert.equal(first.lost.response.headers.get('x-gateway-thread-kept'), 'false');
    assert.deepEqual(
      await refusal(continued(a, first.lost.data.id)),
      { status: 404, code: 'thread_not_found', type: 'not_found_error' },
      'what the mark warned of',
    );

    const second = await raced(first.winner.id, (previous) => streamed(a, previous));
    assert.deepEqual(
      second.lost.find((event) => event.type === 'message_stop'),
      { type: 'message_stop', gateway_thread_kept: false },
    );
    const winnerStream = await streamed(b, second.winner.id);
    assert.deepEqual(
      winnerStream.find((event) => event.type === 'message_stop'),
      { type: 'message_stop', gateway_thread_kept: true },
    );
    assert.match(await (await fetch(`${a.opsUrl}/metrics`)).text(), /gateway_message_threads_not_kept_total\{reason="raced"\} 2/);
  });

  // The threads beta is what makes `thread` a parameter on Anthropic's API, which refuses a beta field
  // sent without its beta (a 400 invalid_request_error); the gateway served it anyway.
  it('`thread` without the threads beta is a 400 naming the beta; with it (as the SDK helpers send it) it is served', async () => {
    const model = 'gpt-echo';
    const plain = { model, max_tokens: 200, messages: [{ role: 'user', content: 'thread turn 1' }], thread: { type: 'create' } };
    for (const call of [() => client(a).messages.create(plain as any), () => client(a).messages.countTokens(plain as any)]) {
      const err = await call().then(
        () => assert.fail('expected a 400'),
        (e: InstanceType<typeof Anthropic.APIError>) => e,
      );
      assert.equal(err.status, 400);
      const body = err.error as { error: { type: string; message: string } };
      assert.equal(body.error.type, 'invalid_request_error');
      assert.match(body.error.message, /anthropic-beta: message-threads-2026-08-12/);
    }
    const other = await client(a).messages.create({ ...plain, thread: null } as any);
    assert.match(JSON.stringify(other.content), /thread turn 1/, 'no thread, no beta needed');
    const helper = client(a).beta.messages.thread({ model, max_tokens: 200 });
    await helper.send({ role: 'user', content: 'thread turn 1' });
    assert.match(JSON.stringify((await helper.send({ role: 'user', content: 'thread turn 2' })).content), /thread turn 2/);
  });

  // Found by an independent check: every response id kept the whole conversation through it, so Redis
  // held the square of a thread's length (a 6 MB conversation took 16 MB). The thread is kept once.
  it('a 20-turn thread is kept once, on either replica, and continues from its latest response only', async () => {
    const model = 'gpt-echo';
    const replicas = [a, b];
    let last: Body | undefined;
    const ids: string[] = [];
    // What each turn sends Redis for the thread (MONITOR: the bytes of every command on its keys).
    const monitor = await RedisMonitor.start(probe);
    let written = 0;
    const seen = new Set<string>();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') return; // run inside a script: nothing sent
      if (args[0]?.toLowerCase() === 'echo') seen.add(args[1]!);
      if (args.some((arg) => arg.startsWith('gw:thread:{team-c}'))) written += args.reduce((sum, arg) => sum + Buffer.byteLength(arg), 0);
    });
    const perTurn: number[] = [];
    try {
      for (let i = 1; i <= 20; i++) {
        const content = `thread turn ${i % 10} ${'lorem ipsum '.repeat(100)}`;
        const thread: Thread = last ? { type: 'continue', previous_message_id: last.id } : { type: 'create' };
        const before = written;
        last = await turn(replicas[i % 2]!, { model, messages: [{ role: 'user', content }] }, thread, KEYS.TEAM_C_KEY);
        await probe.echo(`gw:thread:{team-c}:turn ${i}`);
        assert.ok(await eventually(async () => seen.has(`gw:thread:{team-c}:turn ${i}`)), 'MONITOR has shown every command of the turn');
        perTurn.push(written - before - Buffer.byteLength(`echo gw:thread:{team-c}:turn ${i}`));
        ids.push(last.id);
      }
    } finally {
      monitor.disconnect();
    }
    console.log(`thread bytes written to Redis per turn: ${perTurn.join(' ')}; total ${written}`);
    const turnBytes = 2 * Buffer.byteLength(JSON.stringify('lorem ipsum '.repeat(100))); // a turn's message and its echo
    assert.ok(
      perTurn[19]! < 3 * turnBytes,
      `the 20th turn wrote ${perTurn[19]} bytes for a turn of ~${turnBytes}: the turn, not the thread`,
    );
    const keys = await probe.keys('gw:thread:{team-c}:*');
    const bytes = (await Promise.all(keys.map((key) => probe.memory('USAGE', key)))).reduce<number>((sum, n) => sum + Number(n), 0);
    const conversation = JSON.stringify(openai.last().body.messages).length; // the 20th request: 39 messages
    assert.ok(bytes < 1.5 * conversation, `${bytes} bytes kept for a ${conversation}-byte conversation (${keys.length} keys)`);

    for (const key of keys) {
      const ttl = await probe.ttl(key);
      assert.ok(ttl > 0 && ttl <= 300, `every key of the thread expires 5 minutes after its last response: ${key} ttl ${ttl}`);
    }
    const next = (id: string) =>
      turn(
        b,
        { model, messages: [{ role: 'user', content: 'thread turn 9' }] },
        { type: 'continue', previous_message_id: id },
        KEYS.TEAM_C_KEY,
      );
    assert.deepEqual(await refusal(next(ids[10]!)), { status: 400, code: 'thread_already_continued', type: 'invalid_request_error' });
    await next(ids[19]!);
    assert.equal((openai.last().body.messages as unknown[]).length, 41, 'the 20 turns, their answers and the new message');
  });

  // Found by an independent check: the fingerprint compared JSON text, so the thread's own system prompt
  // sent as the one text block it stands for, or its tools with their keys in another order, were a change.
  it('a continue may send the thread`s system and tools in another form of the same value; another value is still refused', async () => {
    const model = 'gpt-echo';
    const tool = {
      name: 'lookup',
      description: 'Looks a word up.',
      input_schema: { type: 'object', properties: { word: { type: 'string' } } },
    };
    const first = await turn(
      a,
      { model, system: SYSTEM, tools: [tool], messages: [{ role: 'user', content: 'thread turn 1' }] },
      { type: 'create' },
    );
    const sameSystem = [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }];
    const sameTools = [
      { input_schema: { properties: { word: { type: 'string' } }, type: 'object' }, description: tool.description, name: tool.name },
    ];
    const next = (id: string, extra: Body) =>
      turn(b, { model, messages: [{ role: 'user', content: 'thread turn 2' }], ...extra }, { type: 'continue', previous_message_id: id });
    for (const changed of [{ system: [{ type: 'text', text: 'Another prompt.' }] }, { tools: [{ ...tool, name: 'other' }] }]) {
      assert.deepEqual(
        await refusal(next(first.id, changed)),
        { status: 400, code: 'thread_fingerprint_mismatch', type: 'invalid_request_error' },
        JSON.stringify(changed),
      );
    }
    const second = await next(first.id, { system: sameSystem, tools: sameTools });
    assert.match(JSON.stringify(second.content), /thread turn 2/);
  });

  // Found by an independent check: each request of a thread was within the body limit while the
  // conversation grew past it, and once the thread expired its replay (the helpers' recovery) was a 413.
  it('a continue that would make the conversation larger than the body limit is a 413, as its replay would be', async () => {
    const model = 'gpt-echo';
    const big = (n: number) => `thread turn ${n} ${'x'.repeat(BODY_LIMIT_BYTES * 0.4)}`;
    const first = await turn(a, { model, messages: [{ role: 'user', content: big(1) }] }, { type: 'create' }); // kept: twice that, with its echo
    const next = (content: string) =>
      turn(b, { model, messages: [{ role: 'user', content }] }, { type: 'continue', previous_message_id: first.id });
    assert.deepEqual(await refusal(next(big(2))), { status: 413, code: 'thread_too_large', type: 'request_too_large' });
    // Found by an independent check: its count was a 200, where the README says a count is refused as its continue would be.
    const countTooLarge = client(b).beta.messages.countTokens({
      model,
      messages: [{ role: 'user', content: big(2) }],
      thread: { type: 'continue', previous_message_id: first.id },
      betas: [THREADS_BETA],
    } as any);
    assert.deepEqual(await refusal(countTooLarge), { status: 413, code: 'thread_too_large', type: 'request_too_large' });

    // The replay the continue stands for is refused alike: the client learns it while it still has the thread.
    const replay = [
      { role: 'user', content: big(1) },
      { role: 'assistant', content: first.content },
      { role: 'user', content: big(2) },
    ];
    assert.deepEqual(await refusal(turn(a, { model, messages: replay }, { type: 'create' })), {
      status: 413,
      code: '',
      type: 'request_too_large',
    });
    const second = await next('thread turn 3'); // the thread is as it was, and goes on within the limit
    assert.match(JSON.stringify(second.content), /thread turn 3/);
  });

  // Found by an independent check: count_tokens ignored `thread`, counting a continue's new messages
  // alone (and sent `thread` and the threads beta to Anthropic, which refuses them).
  for (const { model, upstream } of VENDORS.slice(0, 2)) {
    it(`${model}: count_tokens on a continue counts the whole request the continue would send`, async () => {
      const first = await turn(
        a,
        { model, system: SYSTEM, messages: [{ role: 'user', content: `thread turn 1 ${'word '.repeat(2000)}` }] },
        {
          type: 'create',
        },
      );
      const count = async (body: Body, thread?: Thread) => {
        const { data, response } = await client(b)
          .beta.messages.countTokens({ model, ...body, ...(thread && { thread, betas: [THREADS_BETA] }) } as any)
          .withResponse();
        return { tokens: data.input_tokens, by: response.headers.get('x-gateway-token-count')!.split(';')[0] };
      };
      const turn2 = { role: 'user', content: 'thread turn 2' };
      const counted = await count({ messages: [turn2] }, { type: 'continue', previous_message_id: first.id });
      const replay = await count({
        system: SYSTEM,
        messages: [
          { role: 'user', content: `thread turn 1 ${'word '.repeat(2000)}` },
          { role: 'assistant', content: first.content },
          turn2,
        ],
      });
      assert.deepEqual(counted, replay);
      assert.equal(counted.by, upstream === anthropic ? 'upstream' : 'estimate');
      assert.ok(counted.tokens > (await count({ messages: [turn2] })).tokens + 1000, 'more than the new message');
      if (upstream === anthropic) assert.doesNotMatch(String(anthropic.last().headers['anthropic-beta'] ?? ''), /message-threads/);
      // Nothing was continued: the thread goes on from the same response.
      await turn(b, { model, messages: [turn2] }, { type: 'continue', previous_message_id: first.id });
    });
  }

  it('with the cache on, a continue is keyed on the whole conversation, not on its new messages', async () => {
    const model = 'gpt-echo';
    // The lone new message, answered once without a thread: an exact-cache entry of its own.
    await client(a).messages.create({ model, max_tokens: 200, messages: [{ role: 'user', content: 'thread turn 9' }] });
    const first = await turn(a, { model, messages: [{ role: 'user', content: 'thread turn 8' }] }, { type: 'create' });
    const res = await client(b)
      .beta.messages.create({
        model,
        max_tokens: 200,
        messages: [{ role: 'user', content: 'thread turn 9' }],
        thread: { type: 'continue', previous_message_id: first.id },
        betas: [THREADS_BETA],
      } as any)
      .withResponse();
    assert.equal(res.response.headers.get('x-gateway-cache'), 'miss');
    assert.deepEqual(userTexts(openai), ['thread turn 8', 'thread turn 8', 'thread turn 9']);
  });
});

/**
 * Found by a review: without Redis, a thread larger than `messages.threads.maxMemoryMb` was silently
 * not kept, its client getting a bare thread_not_found at its next continue. A turn that cannot be
 * kept is now refused before it runs, one whose answer made the thread too large says so at the next
 * continue, and threads evicted for room are logged and counted.
 */
describe('Anthropic message threads in process (no Redis), within maxMemoryMb', () => {
  const fake = new FakeOpenAI();
  let gw: GatewayProcess;
  const MB = 1024 * 1024;

  before(async () => {
    const config = configWith({
      providers: [{ name: 'oa', type: 'openai-compatible', baseUrl: await fake.start() }],
      models: [{ name: 'gpt-echo', deployments: [{ provider: 'oa', model: 'ok', maxOutputTokens: 1000 }] }],
      messages: { threads: { maxMemoryMb: 1 } },
    });
    gw = await GatewayProcess.start(config);
  });

  after(async () => {
    await gw?.stop();
    await fake.stop();
  });

  const turn = (content: string, thread: Thread) =>
    new Anthropic({ baseURL: gw.url, apiKey: 'x', maxRetries: 0 }).beta.messages.create({
      model: 'gpt-echo',
      max_tokens: 200,
      messages: [{ role: 'user', content }],
      thread,
      betas: [THREADS_BETA],
    } as any) as Promise<Body>;
  const refused = (call: Promise<unknown>) =>
    call.then(
      () => assert.fail('expected an error'),
      (err: InstanceType<typeof Anthropic.APIError>) => ({
        status: err.status,
        code: (err.error as { error: { details?: { error_code: string } } }).error.details?.error_code,
        message: (err.error as { error: { message: string } }).error.message,
      }),
    );

  it('a turn the store cannot hold is refused; one whose answer outgrew it says so; evictions are logged and counted', async () => {
    // Each answer echoes its message: a thread holds twice what its turns send.
    const first = await turn(`thread turn 1 ${'x'.repeat(0.3 * MB)}`, { type: 'create' });
    const tooBig = await refused(turn(`thread turn 2 ${'x'.repeat(0.5 * MB)}`, { type: 'continue', previous_message_id: first.id }));
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.code, 'thread_too_large');
    assert.match(tooBig.message, /maxMemoryMb/);

    const outgrown = await turn(`thread turn 2 ${'x'.repeat(0.22 * MB)}`, { type: 'continue', previous_message_id: first.id });
    const lost = await refused(turn('thread turn 3', { type: 'continue', previous_message_id: outgrown.id }));
    assert.equal(lost.status, 413, 'not a bare thread_not_found');
    assert.equal(lost.code, 'thread_too_large');
    assert.match(lost.message, /was not kept.*maxMemoryMb/);

    const older = await turn(`thread turn 4 ${'x'.repeat(0.3 * MB)}`, { type: 'create' });
    await turn(`thread turn 5 ${'x'.repeat(0.3 * MB)}`, { type: 'create' }); // room for it: the older thread goes
    assert.deepEqual(
      { ...(await refused(turn('thread turn 6', { type: 'continue', previous_message_id: older.id }))), message: '' },
      { status: 404, code: 'thread_not_found', message: '' },
    );
    assert.ok(await eventually(async () => gw.logs.some((l) => /evicted for room/.test(String(l.msg)))), 'the eviction is logged');
    assert.match(await (await fetch(`${gw.opsUrl}/metrics`)).text(), /gateway_message_threads_evicted_total 1/);
  });

  // Found by independent checks: the store's bound counted JSON characters, so a thread of 400,000 '’' and their
  // echo (1.6 MB as V8 keeps them) was kept by a 1 MB store.
  it('a thread is measured as V8 keeps it against maxMemoryMb: one too large is not kept, and its continue says so', async () => {
    const created = await turn('\u2019'.repeat(400_000), { type: 'create' });
    const refusal = await refused(turn('and then?', { type: 'continue', previous_message_id: created.id }));
    assert.equal(refusal.status, 413);
    assert.equal(refusal.code, 'thread_too_large');
    assert.match(refusal.message, /was not kept.*maxMemoryMb/);
  });

  // Found by an independent re-check: an empty `anthropic-beta:` was a 400 ("must be a comma-separated
  // list of beta names"); Anthropic reads it as no beta.
  it('an empty or blank anthropic-beta header is no header', async () => {
    const send = (beta: string, body: Body) =>
      fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': beta },
        body: JSON.stringify({ model: 'gpt-echo', max_tokens: 200, messages: [{ role: 'user', content: 'hi' }], ...body }),
      });
    for (const beta of ['', '  ']) {
      assert.equal((await send(beta, {})).status, 200, JSON.stringify(beta));
      const threaded = await send(beta, { thread: { type: 'create' } });
      assert.equal(threaded.status, 400);
      assert.match(
        ((await threaded.json()) as Body).error.message,
        /send the header 'anthropic-beta: message-threads/,
        'as without the header',
      );
    }
  });
});
