import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ask, askStream, embedderLoaded, FALLBACK_PRICED, metric, savedOnFallback, settle } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess, gatewayWithFakeUpstream } from '../support/gateway';
import { FakeVendors } from '../support/fake-vendors';

const MASTER = 'cache-master-key-0123456789';
const KEYS = { ALICE_KEY: 'alice-key-0123456789', BOB_KEY: 'bob-key-0123456789' };

/** The quick-start set-up (no Redis, the in-process backend and the offline embedder), with keys on. */
describe('response cache, in process, with the offline embedder', () => {
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    gateway = await GatewayProcess.start(
      {
        ...configWith({
          providers: [{ name: 'flaky', type: 'mock', mock: { failRate: 1, failStatus: 503 } }, FALLBACK_PRICED.provider],
          models: [
            { name: 'mock-flaky', deployments: [{ provider: 'flaky', model: 'm' }] },
            { name: 'priced', deployments: [{ provider: 'mock', model: 'p', price: { input: 1, output: 2 } }] },
            FALLBACK_PRICED.model,
          ],
        }),
        // Up to 10 s to embed: under a loaded machine's 250 ms default a prompt skips the semantic layer,
        // and these cases are about what the layer serves, not its time budget.
        cache: { enabled: true, semantic: { threshold: 0.8, embeddingTimeoutMs: 10_000 } },
        security: {
          keys: [
            { id: 'alice', keyEnv: 'ALICE_KEY' },
            { id: 'bob', keyEnv: 'BOB_KEY' },
          ],
        },
      },
      { env: { GATEWAY_MASTER_KEY: MASTER, ...KEYS } },
    );
    client = gateway.client({ apiKey: MASTER });
    await embedderLoaded(gateway);
  });
  after(() => gateway?.stop());

  it('misses, then serves the stored answer exactly', async () => {
    const first = await ask(client, 'What is the boiling point of water at sea level?');
    assert.equal(first.cache, 'miss');
    assert.equal(first.provider, 'mock');
    await settle();
    const second = await ask(client, 'What is the boiling point of water at sea level?');
    assert.equal(second.cache, 'hit-exact');
    assert.equal(second.provider, null, 'no upstream was called');
    // Found by an independent check: a hit replayed the original's id, so clients that log or deduplicate
    // by id merged the two responses. A hit has a fresh one, as on the Responses and Messages APIs.
    const { id: firstId, ...original } = first.completion;
    const { id, ...replayed } = second.completion;
    assert.match(id, /^chatcmpl-/);
    assert.notEqual(id, firstId);
    assert.deepEqual(replayed, original);
    const streamed = await askStream(client, 'What is the boiling point of water at sea level?');
    assert.equal(streamed.cache, 'hit-exact');
    assert.equal(new Set(streamed.chunks.map((c) => c.id)).size, 1, 'one id for every chunk');
    assert.ok(![firstId, id].includes(streamed.chunks[0].id), 'a fresh one');
    assert.equal(streamed.text, first.completion.choices[0].message.content);
  });

  it('serves a paraphrase semantically, with its similarity', async () => {
    const first = await ask(client, 'How do I reverse a list in Python?');
    assert.equal(first.cache, 'miss');
    await settle();
    const second = await ask(client, 'How can I reverse a list in Python?');
    assert.match(second.cache ?? '', /^hit-semantic; similarity=0\.\d+$/);
    assert.ok(Number(second.cache!.split('=')[1]) >= 0.8);
    assert.equal(second.completion.choices[0].message.content, first.completion.choices[0].message.content);
  });

  it('the guard refuses close prompts that differ in numbers, entities or negation', async () => {
    await ask(client, 'What is 2+2?');
    await ask(client, 'What is the capital of France?');
    await ask(client, 'Can I return shoes without a receipt?');
    await settle();
    const rejectedBefore = await metric(gateway, 'gateway_cache_guard_rejections_total{reason="numbers"}');
    for (const prompt of ['What is 2+3?', 'What is the capital of Germany?', "Can't I return shoes without a receipt?"]) {
      const answer = await ask(client, prompt);
      assert.equal(answer.cache, 'miss', prompt);
      assert.match(answer.completion.choices[0].message.content ?? '', new RegExp(prompt.replace(/[?+]/g, '\\$&')));
    }
    assert.ok((await metric(gateway, 'gateway_cache_guard_rejections_total{reason="numbers"}')) > rejectedBefore);
  });

  // Found by an independent check: USE lite reads these symbols as its unknown token, so each pair
  // embedded identically and the second prompt was served the first one's answer (similarity=1).
  it('serves no prompt the answer of one that differs only in a symbol; the same symbols still hit', async () => {
    const refused = 'gateway_cache_guard_rejections_total{reason="symbols"}';
    const before = await metric(gateway, refused);
    const pairs = [
      ['Is x ≤ y in this proof?', 'Is x ≥ y in this proof?'],
      ['Explain the ∑ symbol in math', 'Explain the ∏ symbol in math'],
      ['Translate 🐶 into French', 'Translate 🐱 into French'],
      ['What does the emoji 😀 mean?', 'What does the emoji 😡 mean?'],
    ];
    for (const [cached] of pairs) assert.equal((await ask(client, cached)).cache, 'miss', cached);
    await settle();
    for (const [cached, asked] of pairs) {
      const answer = await ask(client, asked);
      assert.equal(answer.cache, 'miss', asked);
      assert.match(answer.completion.choices[0].message.content ?? '', new RegExp(asked.replace(/[?]/g, '\\$&')));
      assert.equal((await ask(client, cached)).cache, 'hit-exact', cached);
    }
    assert.equal((await metric(gateway, refused)) - before, 4);
    assert.match((await ask(client, 'Translate 🐶 to French')).cache ?? '', /^hit-semantic/);
  });

  // Found by independent checks (heldout5, newest2): each pair embeds at 0.9 or more and its second
  // prompt was served the first one's answer.
  it('serves no prompt the answer of one with another scope, ordinal, time of day, tense, role, unit or bracket', async () => {
    const reasons = ['numbers', 'symbols', 'units', 'entities', 'direction', 'tense', 'scope', 'qualifier', 'substitution'];
    const refusals = async () => {
      let sum = 0;
      for (const reason of reasons) sum += await metric(gateway, `gateway_cache_guard_rejections_total{reason="${reason}"}`);
      return sum;
    };
    const pairs = [
      ['How do I stash my changes in git?', 'How do I apply my stashed changes in git?'],
      ['Are all mushrooms poisonous?', 'Are any mushrooms poisonous?'],
      ['SQL query to get the second highest salary', 'SQL query to get the highest salary'],
      ["What time is it in Sydney when it's 9am in New York?", "What time is it in Sydney when it's 9pm in New York?"],
      ["What time is it in Tokyo when it's 9am in London?", "What time is it in London when it's 9am in Tokyo?"],
      ['Convertir 10 miles en kilomètres', 'Convertir 10 kilomètres en miles'],
      ['In JavaScript, what is [] + []?', 'In JavaScript, what is [] + {}?'],
      ['Is Pluto a planet?', 'Was Pluto a planet?'],
      ['Do you love me?', 'Do I love you?'],
      ['Find the GCD of 12,18', 'Find the GCD of 12.18'],
    ];
    // A namespace (system prompt) per pair: the asked prompt's one neighbour is its pair's.
    const turn = (i: number, content: string): OpenAI.ChatCompletionMessageParam[] => [
      { role: 'system', content: `guard pair ${i}` },
      { role: 'user', content },
    ];
    for (const [i, [cached]] of pairs.entries()) assert.equal((await ask(client, turn(i, cached))).cache, 'miss', cached);
    await settle();
    for (const [i, [, asked]] of pairs.entries()) {
      const before = await refusals();
      assert.equal((await ask(client, turn(i, asked))).cache, 'miss', asked);
      assert.equal((await refusals()) - before, 1, `${asked}: refused by the guard, not by the threshold`);
    }
  });

  // Found by an independent check: USE lite has no Chinese, Japanese or Korean in its vocabulary, so
  // every such prompt embedded alike (similarity 1) and got any other's answer; Cyrillic nearly so.
  it('serves no prompt the embedder cannot represent from another, and counts the skip', async () => {
    const skipped = 'gateway_cache_backend_errors_total{backend="embedder",operation="embed",reason="unrepresented"}';
    const before = await metric(gateway, skipped);
    for (const [cached, asked] of [
      ['日本の首都はどこですか？', '猫にチョコレートをあげてもいいですか？'],
      ['Как сварить борщ?', 'Сколько стоит билет в Москву?'],
    ]) {
      await ask(client, cached);
      await settle();
      const answer = await ask(client, asked);
      assert.equal(answer.cache, 'miss', asked);
    }
    assert.equal((await metric(gateway, skipped)) - before, 4);
    assert.equal((await ask(client, '日本の首都はどこですか？')).cache, 'hit-exact', 'the exact layer still serves it');
  });

  it('one tenant (API key) never receives another tenant’s answer', async () => {
    const alice = gateway.client({ apiKey: KEYS.ALICE_KEY });
    const bob = gateway.client({ apiKey: KEYS.BOB_KEY });
    assert.equal((await ask(alice, 'Tenant isolation check question')).cache, 'miss');
    await settle();
    assert.equal((await ask(alice, 'Tenant isolation check question')).cache, 'hit-exact');
    assert.equal((await ask(bob, 'Tenant isolation check question')).cache, 'miss');
    assert.equal((await ask(bob, 'tenant isolation check question?')).cache, 'miss');
  });

  it('system prompts and earlier turns are separate namespaces', async () => {
    const system = (content: string): OpenAI.ChatCompletionMessageParam[] => [
      { role: 'system', content },
      { role: 'user', content: 'Describe the weather on Mars.' },
    ];
    assert.equal((await ask(client, system('Answer like a pirate.'))).cache, 'miss');
    await settle();
    assert.equal((await ask(client, system('Answer like a pirate.'))).cache, 'hit-exact');
    assert.equal((await ask(client, system('Answer like a poet.'))).cache, 'miss');

    const conversation = (earlier: string): OpenAI.ChatCompletionMessageParam[] => [
      { role: 'user', content: earlier },
      { role: 'assistant', content: 'Noted.' },
      { role: 'user', content: 'What should I pack?' },
    ];
    assert.equal((await ask(client, conversation('I am going skiing.'))).cache, 'miss');
    await settle();
    assert.equal((await ask(client, conversation('I am going skiing.'))).cache, 'hit-exact');
    assert.equal((await ask(client, conversation('I am going to the beach.'))).cache, 'miss');
  });

  it('stores a streamed miss once complete and replays hits as streams', async () => {
    const first = await askStream(client, 'Stream me a short fact about owls.');
    assert.equal(first.cache, 'miss');
    await settle();
    const replay = await askStream(client, 'Stream me a short fact about owls.');
    assert.equal(replay.cache, 'hit-exact');
    assert.equal(replay.text, first.text);
    assert.equal(replay.chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(replay.chunks.at(-2)!.choices[0].finish_reason, 'stop');
    assert.deepEqual(replay.chunks.at(-1)!.usage, first.chunks.at(-1)!.usage);
    // A streamed answer serves a non-streamed request too, and the reverse.
    const whole = await ask(client, 'Stream me a short fact about owls.');
    assert.equal(whole.cache, 'hit-exact');
    assert.equal(whole.completion.choices[0].message.content, first.text);
    await ask(client, 'A whole answer first, then a stream.');
    await settle();
    const streamed = await askStream(client, 'A whole answer first, then a stream.', false);
    assert.equal(streamed.cache, 'hit-exact');
    assert.ok(streamed.text.length > 0);
    assert.ok(streamed.chunks.every((c) => !c.usage));
  });

  it('honours skip-lookup, skip-store, refresh, TTL, threshold and Cache-Control', async () => {
    assert.equal((await ask(client, 'Controls: no-store', {}, { 'cache-control': 'no-store' })).cache, 'miss');
    await settle();
    assert.equal((await ask(client, 'Controls: no-store')).cache, 'miss', 'nothing was stored');
    await settle();
    assert.equal((await ask(client, 'Controls: no-store', {}, { 'x-gateway-cache-skip-lookup': 'true' })).cache, 'bypass');
    assert.equal((await ask(client, 'Controls: no-store', {}, { 'cache-control': 'no-cache' })).cache, 'bypass');
    assert.equal((await ask(client, 'Controls: no-store')).cache, 'hit-exact');

    assert.equal((await ask(client, 'Controls: skip store', {}, { 'x-gateway-cache-skip-store': 'true' })).cache, 'miss');
    await settle();
    assert.equal((await ask(client, 'Controls: skip store')).cache, 'miss');

    assert.equal((await ask(client, 'Controls: short TTL', {}, { 'x-gateway-cache-ttl': '1' })).cache, 'miss');
    await settle();
    assert.equal((await ask(client, 'Controls: short TTL', {}, { 'x-gateway-cache-skip-store': 'true' })).cache, 'hit-exact');
    await settle(1_100);
    assert.equal((await ask(client, 'Controls: short TTL', {}, { 'x-gateway-cache-skip-store': 'true' })).cache, 'miss');

    await ask(client, 'How do I center a div in CSS?');
    await settle();
    assert.equal(
      (await ask(client, 'How can I center a div in CSS?', {}, { 'x-gateway-cache-threshold': '1', 'x-gateway-cache-skip-store': 'true' }))
        .cache,
      'miss',
    );
    assert.match((await ask(client, 'How can I center a div in CSS?')).cache ?? '', /^hit-semantic/);

    await assert.rejects(ask(client, 'bad header', {}, { 'x-gateway-cache-ttl': 'soon' }), (err: unknown) => {
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      return e.status === 400 && (e.error as { param?: string }).param === 'x-gateway-cache-ttl';
    });
  });

  it('bypasses requests above the temperature ceiling and never stores failures', async () => {
    assert.equal((await ask(client, 'Be creative', { temperature: 1.5 })).cache, 'bypass');
    await settle();
    assert.equal((await ask(client, 'Be creative', { temperature: 1.5 })).cache, 'bypass');
    await assert.rejects(
      ask(client, 'This fails upstream', { model: 'mock-flaky' }),
      (err: unknown) => (err as { status?: number }).status === 503,
    );
    await settle();
    await assert.rejects(
      ask(client, 'This fails upstream', { model: 'mock-flaky' }),
      (err: unknown) => (err as { status?: number }).status === 503,
    );
  });

  it('does not cache tool-call answers by default', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    ];
    const first = await ask(client, 'find owls', { tools });
    assert.equal(first.completion.choices[0].finish_reason, 'tool_calls');
    await settle();
    assert.equal((await ask(client, 'find owls', { tools })).cache, 'miss');
  });

  it('counts lookups by result and the tokens and dollars saved', async () => {
    const usd = await metric(gateway, 'gateway_cache_saved_usd_total');
    const first = await ask(client, 'Priced question for savings', { model: 'priced' });
    await settle();
    const hit = await ask(client, 'Priced question for savings', { model: 'priced' });
    const usage = first.completion.usage!;
    const saved = (await metric(gateway, 'gateway_cache_saved_usd_total')) - usd;
    assert.ok(Math.abs(saved - (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6) < 1e-12, `saved ${saved}`);
    // One spelling of the outcome (obs31): the header's, the lookups' and the requests' labels alike.
    assert.equal(hit.cache, 'hit-exact');
    assert.ok((await metric(gateway, `gateway_cache_lookups_total{result="${hit.cache}"}`)) >= 1);
    const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    assert.match(text, /^gateway_requests_total\{[^}]*model="priced"[^}]*cache="hit-exact"\} [1-9]/m);
    assert.ok((await metric(gateway, 'gateway_cache_lookups_total{result="miss"}')) >= 1);
    assert.ok((await metric(gateway, 'gateway_cache_saved_tokens_total{kind="completion"}')) >= usage.completion_tokens);
    assert.ok((await metric(gateway, 'gateway_cache_semantic_similarity_count')) >= 1);
  });

  // Found by an independent check: a hit was priced at the group's first priced deployment, so in a fallback group
  // an answer billed at the cheap fallback counted as saved at the dear first deployment's prices.
  it('prices what a hit saved at the deployment that answered the stored request', async () => {
    const { cache, saved, billed } = await savedOnFallback(gateway, client, 'Savings priced where the answer came from');
    assert.deepEqual(cache, ['miss', 'hit-exact']);
    assert.ok(Math.abs(saved - billed) < 1e-12, `saved ${saved}, billed ${billed}`);
  });
});

// Found by an independent check: the gateway asks an OpenAI upstream for usage and cuts that
// event out for a client that did not ask, so the stored answer had none and every hit on it
// reported no usage; a non-streamed hit carried no cost header.
describe('response cache shared by tenants', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await GatewayProcess.start(
      {
        ...configWith({}),
        cache: { enabled: true, scope: 'shared', semantic: { threshold: 0.85, embeddingTimeoutMs: 10_000 } },
        security: {
          keys: [
            { id: 'alice', keyEnv: 'ALICE_KEY' },
            { id: 'bob', keyEnv: 'BOB_KEY' },
          ],
        },
      },
      { env: { GATEWAY_MASTER_KEY: MASTER, ...KEYS } },
    );
    await embedderLoaded(gateway);
  });
  after(() => gateway?.stop());

  // Found by an independent check: bob sent x-gateway-cache-threshold: 0 and was served alice's private answer.
  it('a client threshold below the configured one is ignored; one above it still applies', async () => {
    const alice = gateway.client({ apiKey: KEYS.ALICE_KEY });
    const bob = gateway.client({ apiKey: KEYS.BOB_KEY });
    await ask(alice, 'Draft an apology email to Maria Lopez about her declined loan application and unpaid debts.');
    await ask(alice, 'How do I reverse a list in Python?');
    await settle();
    const loosened = await ask(bob, 'Draft an email.', {}, { 'x-gateway-cache-threshold': '0' });
    assert.equal(loosened.cache, 'miss');
    const stricter = await ask(
      bob,
      'How can I reverse a list in Python?',
      {},
      { 'x-gateway-cache-threshold': '0.999', 'x-gateway-cache-skip-store': 'true' },
    );
    assert.equal(stricter.cache, 'miss');
    assert.match((await ask(bob, 'How can I reverse a list in Python?')).cache ?? '', /^hit-semantic/, 'the cache is shared');
  });
});

describe('response cache over an OpenAI-format upstream', () => {
  const PRICE = { input: 0.15, output: 0.6 };
  const setup = gatewayWithFakeUpstream((baseUrl) =>
    configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
      models: [{ name: 'priced', deployments: [{ provider: 'fake', model: 'ok', price: PRICE }] }],
      cache: { enabled: true, semantic: { enabled: false } },
    }),
  );

  it('a stream stored without usage for its client still has it for later hits; a hit costs 0', async () => {
    const client = setup.gateway.client();
    const streamed = await askStream(client, 'Stream me, without usage.', false, {}, 'priced');
    assert.equal(streamed.cache, 'miss');
    assert.ok(
      streamed.chunks.every((c) => !c.usage),
      'the client did not ask for usage',
    );
    await settle();
    const whole = await client.chat.completions
      .create({ model: 'priced', messages: [{ role: 'user', content: 'Stream me, without usage.' }] })
      .withResponse();
    assert.equal(whole.response.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual(
      [whole.data.usage?.prompt_tokens, whole.data.usage?.completion_tokens],
      [11, 7],
      'the upstream`s usage (fake-openai: 11 prompt, 7 completion tokens)',
    );
    assert.equal(whole.response.headers.get('x-gateway-cost-usd'), '0');
    const again = await askStream(client, 'Stream me, without usage.', true, {}, 'priced');
    assert.equal(again.cache, 'hit-exact');
    assert.equal(again.chunks.at(-1)!.usage?.completion_tokens, 7);
  });
});

// Found by an independent check: with toolCallResponses on, a tool call whose arguments were no JSON
// (a model's glitch) was stored and replayed to every identical retry of the agent's loop for the TTL.
describe('response cache with toolCallResponses: a tool call is stored only when its arguments parse', () => {
  const setup = gatewayWithFakeUpstream((baseUrl) =>
    configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
      models: ['tool', 'tool-badargs'].map((model) => ({
        name: model,
        deployments: [{ provider: 'fake', model, capabilities: ['tools'] }],
      })),
      cache: { enabled: true, toolCallResponses: true, semantic: { enabled: false } },
    }),
  );
  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
  /** The call's arguments as the client read them, whole or streamed, and the cache's header. */
  async function call(model: string, content: string, stream: boolean) {
    const messages = [{ role: 'user' as const, content }];
    const client = setup.gateway.client();
    if (!stream) {
      const { data, response } = await client.chat.completions.create({ model, messages, tools }).withResponse();
      const fn = data.choices[0].message.tool_calls?.[0];
      return { cache: response.headers.get('x-gateway-cache'), args: fn?.type === 'function' ? fn.function.arguments : undefined };
    }
    const { data, response } = await client.chat.completions.create({ model, messages, tools, stream: true }).withResponse();
    let args = '';
    for await (const chunk of data) args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '';
    return { cache: response.headers.get('x-gateway-cache'), args };
  }

  it('whole or streamed: broken arguments are never replayed (not_cacheable), whole ones are', async () => {
    const notCacheable = () => metric(setup.gateway, 'gateway_cache_stores_total{result="not_cacheable"}');
    const before = await notCacheable();
    for (const stream of [false, true]) {
      const content = `What is the weather in Paris? (${stream ? 'streamed' : 'whole'})`;
      const broken = await call('tool-badargs', content, stream);
      assert.deepEqual(broken, { cache: 'miss', args: '{"city": "Par' });
      await settle();
      assert.equal((await call('tool-badargs', content, stream)).cache, 'miss', `stream: ${stream}`);
      assert.equal((await call('tool', content, stream)).cache, 'miss');
      await settle();
      assert.deepEqual(await call('tool', content, stream), { cache: 'hit-exact', args: '{"city":"Paris","unit":"celsius"}' });
    }
    assert.equal((await notCacheable()) - before, 4);
  });
});

// Found by an independent check: a /v1/messages request to an Anthropic deployment with
// output_config.effort or an anthropic-beta header, which that deployment gets as sent, was served the
// answer a plain chat request had stored (and never reached Anthropic).
describe('response cache: /v1/messages to an Anthropic deployment keys what only Anthropic gets', () => {
  const vendors = new FakeVendors();
  const served = vendors.serve([['ant', 'claude-echo', 'claude-x']], { cache: { enabled: true, semantic: { enabled: false } } });

  it('effort, speed, context_management and betas miss the plain entry; neutral fields still share it', async () => {
    const content = 'Say hi to the cache.';
    const calls = () => vendors.anthropic.received.filter((r) => r.path === '/v1/messages').length;
    const messages = async (extra: object, headers: Record<string, string> = {}) => {
      const res = await fetch(`${served.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
        body: JSON.stringify({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content }], ...extra }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      await res.arrayBuffer();
      return res.headers.get('x-gateway-cache');
    };
    const stored = await ask(served.client, content, { model: 'claude-x', max_tokens: 50 });
    assert.equal(stored.cache, 'miss');
    await settle();
    assert.equal(await messages({}), 'hit-exact', 'a plain Messages request shares the chat request`s entry');
    assert.equal(await messages({ service_tier: 'auto', metadata: { user_id: 'u1' } }), 'hit-exact');
    const sent = calls();
    for (const [extra, headers] of [
      [{ output_config: { effort: 'low' } }, {}],
      [{ speed: 'fast' }, {}],
      [{ context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] } }, {}],
      [{}, { 'anthropic-beta': 'context-1m-2025-08-07' }],
    ] as const) {
      assert.equal(await messages(extra, headers), 'miss', JSON.stringify([extra, headers]));
    }
    assert.equal(calls() - sent, 4, 'each went to Anthropic');
  });
});

// Found by an independent check: streamed answers were measured by their SSE text (a chunk of a few
// characters is ~200 bytes of JSON), so those over ~15 KB were never cached, and nothing counted it;
// and answers were measured in UTF-16 units, so a CJK answer three times the limit was stored.
describe('response cache: maxEntryBytes is the answer`s size in bytes', () => {
  const setup = gatewayWithFakeUpstream((baseUrl) =>
    configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
      models: [{ name: 'fake', deployments: [{ provider: 'fake', model: 'ok' }] }],
      cache: { enabled: true, maxEntryBytes: 4096, semantic: { enabled: false } },
    }),
  );
  const tooLarge = () => metric(setup.gateway, 'gateway_cache_stores_total{result="too_large"}');

  it('a streamed answer under the limit is stored, however many chunks carry it', async () => {
    // The fake upstream streams its answer ("fake answer to: " and the prompt) a word a chunk: ~1,200
    // chunks of ~150 bytes, 45 times the 4 KB limit, for 2.4 KB of answer.
    const prompt = 'ab '.repeat(800);
    const streamed = await askStream(setup.gateway.client(), prompt, true, {}, 'fake');
    assert.equal(streamed.cache, 'miss');
    assert.ok(streamed.chunks.length > 800);
    await settle();
    assert.equal((await ask(setup.gateway.client(), prompt, { model: 'fake' })).cache, 'hit-exact');
  });

  it('an answer over the limit in UTF-8 bytes is not stored and counts as too_large, whole or streamed', async () => {
    // 1,800 characters of Japanese: 5,400 bytes, under 4,096 UTF-16 units.
    const prompt = 'キャッシュ'.repeat(360);
    const counted = async (expected: number) => {
      await eventually(async () => (await tooLarge()) >= expected);
      assert.equal(await tooLarge(), expected);
    };
    const before = await tooLarge();
    assert.equal((await ask(setup.gateway.client(), prompt, { model: 'fake' })).cache, 'miss');
    await counted(before + 1);
    assert.equal((await ask(setup.gateway.client(), prompt, { model: 'fake' })).cache, 'miss');
    await counted(before + 2);
    const streamed = `${prompt} (streamed)`;
    assert.equal((await askStream(setup.gateway.client(), streamed, true, {}, 'fake')).cache, 'miss');
    await counted(before + 3);
    assert.equal((await ask(setup.gateway.client(), streamed, { model: 'fake' })).cache, 'miss');
  });
});

describe('response cache, off', () => {
  it('sends no cache header when the cache section is absent', async () => {
    const gateway = await GatewayProcess.start(configWith());
    try {
      const { cache } = await ask(gateway.client(), 'hello');
      assert.equal(cache, null);
    } finally {
      await gateway.stop();
    }
  });
});
