import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { BreakerConfig, DeploymentConfig, GatewayConfig, parseConfig, VirtualModelConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import type { ChatCompletionMessageParam, GatewayError, Provider } from '@gateway/providers';
import type { RedisService } from '@gateway/redis';
import {
  Clock,
  type Deployment,
  DeploymentHealth,
  preferDeclaring,
  profileChat,
  SHARES_STALE_MS,
  CACHE_COLD_MS,
  STRATEGY_ORDER,
  type StrategyContext,
  TaskRouter,
  UsageShares,
} from '@gateway/router';
import { profileEmbeddings } from '../../libs/router/src/request-profile';
import { BreakerRegistry } from '../../libs/router/src/breaker-registry';
import { eligibleDeployments } from '../../libs/router/src/eligibility';
import { LatencyTracker } from '../../libs/router/src/latency-tracker';
import type { ModelCatalog } from '../../libs/router/src/model-catalog';
import { RouterService } from '../../libs/router/src/router.service';
import { toChatRequest } from '../../apps/gateway/src/messages/request';
import { toChatParams } from '../../apps/gateway/src/responses/request';
import { random as seeded } from '../support/vectors';
import { FakeClock } from '../support/fake-clock';

function deployment(id: string, config: Partial<DeploymentConfig> = {}): Deployment {
  return {
    id,
    provider: { name: id } as Provider,
    upstreamModel: id,
    config: Object.assign(new DeploymentConfig(), { provider: id, model: id }, config),
  };
}

const config = (): GatewayConfig => parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, {});
const chat = (content: string, extra: object = {}) => profileChat({ model: 'x', messages: [{ role: 'user', content }], ...extra });

function context(overrides: Partial<StrategyContext> = {}): StrategyContext {
  return {
    profile: chat('hello'),
    latency: new LatencyTracker(config(), new Clock()),
    shares: new UsageShares(new Clock()),
    exploreRate: 0,
    random: seeded(42),
    ...overrides,
  };
}

describe('routing strategies', () => {
  it('priority keeps the configured order', () => {
    const ds = [deployment('a'), deployment('b'), deployment('c')];
    assert.deepEqual(
      STRATEGY_ORDER.priority(ds, context()).map((d) => d.id),
      ['a', 'b', 'c'],
    );
  });

  it('weighted splits first picks by weight within ±3% over 10,000 seeded decisions', () => {
    const ds = [deployment('a', { weight: 1 }), deployment('b', { weight: 3 }), deployment('c', { weight: 6 })];
    const ctx = context({ random: seeded(7) });
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 10_000; i++) counts[STRATEGY_ORDER.weighted(ds, ctx)[0].id]++;
    assert.ok(Math.abs(counts.a / 10_000 - 0.1) <= 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.b / 10_000 - 0.3) <= 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.c / 10_000 - 0.6) <= 0.03, JSON.stringify(counts));
  });

  it('weighted plans still contain every deployment once, as fallbacks', () => {
    const ds = [deployment('a', { weight: 1 }), deployment('b', { weight: 1 })];
    const plan = STRATEGY_ORDER.weighted(ds, context());
    assert.deepEqual(plan.map((d) => d.id).sort(), ['a', 'b']);
  });

  it('latency picks the fastest, measures the unmeasured first, and comes back after recovery', () => {
    const ctx = context();
    const ds = [deployment('slow'), deployment('fast')];
    ctx.latency.observe('slow', 'total', 900);
    assert.equal(STRATEGY_ORDER.latency(ds, ctx)[0].id, 'fast', 'unmeasured first');
    ctx.latency.observe('fast', 'total', 100);
    assert.equal(STRATEGY_ORDER.latency(ds, ctx)[0].id, 'fast');
    for (let i = 0; i < 10; i++) ctx.latency.observe('fast', 'total', 2_000); // fast degrades
    assert.equal(STRATEGY_ORDER.latency(ds, ctx)[0].id, 'slow');
    for (let i = 0; i < 10; i++) ctx.latency.observe('fast', 'total', 50); // and recovers
    assert.equal(STRATEGY_ORDER.latency(ds, ctx)[0].id, 'fast');
  });

  it('latency uses time to first token for streams', () => {
    const ctx = context({ profile: chat('x', { stream: true }) });
    ctx.latency.observe('a', 'total', 100);
    ctx.latency.observe('b', 'total', 5_000);
    ctx.latency.observe('a', 'ttft', 800);
    ctx.latency.observe('b', 'ttft', 50);
    assert.equal(STRATEGY_ORDER.latency([deployment('a'), deployment('b')], ctx)[0].id, 'b');
  });

  it('latency explores: a share of requests go to another deployment first', () => {
    const ctx = context({ exploreRate: 0.1, random: seeded(3) });
    ctx.latency.observe('a', 'total', 10);
    ctx.latency.observe('b', 'total', 500);
    let explored = 0;
    for (let i = 0; i < 10_000; i++) if (STRATEGY_ORDER.latency([deployment('a'), deployment('b')], ctx)[0].id === 'b') explored++;
    assert.ok(explored > 800 && explored < 1_200, `explored ${explored}`);
  });

  it('cost orders by estimated price, unpriced last', () => {
    const ds = [
      deployment('pricey', { price: { input: 5, output: 15 } }),
      deployment('unpriced'),
      deployment('cheap', { price: { input: 0.1, output: 0.4 } }),
    ];
    assert.deepEqual(
      STRATEGY_ORDER.cost(ds, context()).map((d) => d.id),
      ['cheap', 'pricey', 'unpriced'],
    );
  });
});

describe('routing strategies: the whole request', () => {
  // Found by an independent check: `cost` priced max_tokens once for a request asking for n
  // completions (the budget hold counts n), so it picked the deployment dear on output.
  it('cost prices the completion budget once per choice (n)', () => {
    const ds = [
      deployment('cheap-in', { price: { input: 0.1, output: 10 } }),
      deployment('cheap-out', { price: { input: 10, output: 0.1 } }),
    ];
    const order = (extra: object) =>
      STRATEGY_ORDER.cost(ds, context({ profile: chat('x'.repeat(4_000), { max_tokens: 500, ...extra }) })).map((d) => d.id);
    // ~1,000 prompt tokens: 100 + 500 × 10 (cheap-in) against 10,000 + 500 × 0.1; with n = 3, 100 + 15,000 against 10,150.
    assert.deepEqual(order({}), ['cheap-in', 'cheap-out']);
    assert.deepEqual(order({ n: 3 }), ['cheap-out', 'cheap-in']);
  });

  // Found by an independent check: `cost` ranked by input and output prices only, and sent a cached prompt to the
  // deployment without a cache discount (3.44x dearer), a reasoning request to the one whose reasoning is dear (2.4x).
  it('cost prices the cached share of prompts the deployments reported, as the bill would', () => {
    const ds = [
      deployment('cache-friendly', { price: { input: 1, cachedInput: 0.1, output: 2 } }),
      deployment('no-discount', { price: { input: 0.8, output: 2 } }),
    ];
    const shares = new UsageShares(new Clock());
    const profile = chat('x'.repeat(40_000), { max_tokens: 300 });
    const order = () => STRATEGY_ORDER.cost(ds, context({ profile, shares })).map((d) => d.id);
    assert.deepEqual(order(), ['no-discount', 'cache-friendly'], 'nothing known: nothing assumed cached');
    const cachedAnswer = { prompt_tokens: 10_000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 9000 } };
    shares.observe('no-discount', cachedAnswer);
    assert.deepEqual(order(), ['cache-friendly', 'no-discount'], "the traffic's cached share, for the deployment not yet seen");
    shares.observe('cache-friendly', cachedAnswer);
    assert.deepEqual(order(), ['cache-friendly', 'no-discount']);
    for (let i = 0; i < 30; i++) shares.observe('cache-friendly', { prompt_tokens: 10_000, completion_tokens: 300 });
    assert.deepEqual(order(), ['no-discount', 'cache-friendly'], 'its recent answers found nothing cached');
  });

  // Found by an independent check: shares never faded and `cost` sent nothing to a deployment they made dear, so one
  // cold answer (nothing cached yet) marked the cache-friendly deployment dear for good.
  it('cost forgets shares no answer renewed for SHARES_STALE_MS: the deployment is priced as the traffic is, and tried again', () => {
    const ds = [
      deployment('cache-friendly', { price: { input: 1, cachedInput: 0.1, output: 2 } }),
      deployment('no-discount', { price: { input: 0.8, output: 2 } }),
    ];
    let time = 0;
    const clock = Object.assign(new Clock(), { now: () => time });
    const shares = new UsageShares(clock);
    const order = () =>
      STRATEGY_ORDER.cost(ds, context({ profile: chat('x'.repeat(40_000), { max_tokens: 300 }), shares })).map((d) => d.id);
    shares.observe('cache-friendly', { prompt_tokens: 10_000, completion_tokens: 300 });
    for (let minute = 0; minute <= 10; minute++) {
      shares.observe('no-discount', { prompt_tokens: 10_000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 9000 } });
      assert.deepEqual(order(), ['no-discount', 'cache-friendly'], `minute ${minute}: its one cold answer stands`);
      time += 60_000;
    }
    shares.observe('no-discount', { prompt_tokens: 10_000, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 9000 } });
    assert.equal(time > SHARES_STALE_MS, true);
    assert.deepEqual(order(), ['cache-friendly', 'no-discount'], "forgotten: priced at the traffic's cached share");
  });

  // Found by an independent check (recheck31a D5): a deployment cheaper only once its vendor cache is warm was tried once
  // when its shares were forgotten (10 min), but vendors keep a prompt cache 5-10 min, so that one answer was cold again
  // and marked it dear for another 10 min: one cold request every ~12 min, its cache never warm. Seen failing before the
  // fix: the one request it got when forgotten was cold, and the warm deployment came first again.
  it('cost leaves out an answer cold after a pause past the cache life: the next request finds the cache warm', () => {
    const ds = [
      deployment('cheap-when-warm', { price: { input: 0.5, cachedInput: 0.05, output: 0.5 } }),
      deployment('warm', { price: { input: 0.6, cachedInput: 0.06, output: 0.6 } }),
    ];
    let time = 0;
    const clock = Object.assign(new Clock(), { now: () => time });
    const shares = new UsageShares(clock);
    const order = () => STRATEGY_ORDER.cost(ds, context({ profile: chat('x'.repeat(8_000), { max_tokens: 5 }), shares })).map((d) => d.id);
    const answer = (cached: number) => ({ prompt_tokens: 2_000, completion_tokens: 5, prompt_tokens_details: { cached_tokens: cached } });
    // The other deployment's vendor cache: cold on its first answer after 5 minutes without one, warm (90%) after.
    let lastAnswer = -Infinity;
    const vendor = (id: string) => {
      if (id === 'warm') return 1_800;
      const cold = time - lastAnswer > CACHE_COLD_MS;
      lastAnswer = time;
      return cold ? 0 : 1_800;
    };
    /** One request a minute for `minutes`, answered by the deployment `cost` ranks first; who answered, in order. */
    const traffic = (minutes: number, cachedOf: (id: string) => number) => {
      const served: string[] = [];
      for (let minute = 0; minute < minutes; minute++, time += 60_000) {
        const id = order()[0];
        shares.observe(id, answer(cachedOf(id)));
        served.push(id);
      }
      return served;
    };
    // The warm deployment's traffic: 90% of each prompt cached. The other's first answer ever was cold: dear.
    for (let i = 0; i < 20; i++) shares.observe('warm', answer(1_800));
    shares.observe('cheap-when-warm', answer(vendor('cheap-when-warm')));
    time += 60_000;
    const warming = traffic(20, vendor);
    assert.deepEqual(warming.slice(0, 10), Array(10).fill('warm'), 'its first cold answer stands until forgotten');
    assert.deepEqual(warming.slice(10), Array(10).fill('cheap-when-warm'), 'forgotten, tried: cold again, left out; then warm, kept');
    // A deployment whose cache never warms (its vendor caches nothing) is tried twice once forgotten, then priced as it is.
    time += SHARES_STALE_MS + 60_000;
    for (let i = 0; i < 20; i++) shares.observe('warm', answer(1_800));
    const served = traffic(12, (id) => (id === 'warm' ? 1_800 : 0));
    assert.deepEqual(served.slice(0, 2), ['cheap-when-warm', 'cheap-when-warm'], 'forgotten: tried again, twice');
    assert.deepEqual(served.slice(2), Array(10).fill('warm'), 'then dear while its shares stand (10 min)');
  });

  it("cost prices a request asking for a service tier at that tier's rates", () => {
    const ds = [
      deployment('dear-priority', { price: { input: 1, output: 2, tiers: { priority: { input: 4, output: 8 } } } }),
      deployment('flat-priority', { price: { input: 1.5, output: 3, tiers: { priority: { input: 2, output: 4 } } } }),
    ];
    const order = (extra: object) => STRATEGY_ORDER.cost(ds, context({ profile: chat('x'.repeat(4_000), extra) })).map((d) => d.id);
    assert.deepEqual(order({}), ['dear-priority', 'flat-priority']);
    assert.deepEqual(order({ service_tier: 'priority' }), ['flat-priority', 'dear-priority']);
  });

  // Found by an independent check: a Messages request asking for fast mode was priced at the standard rates, so cost
  // routing sent it to the Anthropic deployment whose standard rates were cheaper but whose fast mode was dearer.
  it("cost prices a Messages request asking for fast mode at an Anthropic deployment's fast rates", () => {
    const anthropic = (id: string, price: DeploymentConfig['price']) =>
      Object.assign(deployment(id, { price }), { provider: { name: id, type: 'anthropic' } as Provider });
    const ds = [
      anthropic('dear-fast', { input: 1, output: 2, tiers: { fast: { input: 6, output: 12 } } }),
      anthropic('flat-fast', { input: 1.5, output: 3, tiers: { fast: { input: 3, output: 6 } } }),
    ];
    const order = (fastMode: boolean) =>
      STRATEGY_ORDER.cost(ds, context({ profile: { ...chat('x'.repeat(4_000)), fastMode } })).map((d) => d.id);
    assert.deepEqual(order(false), ['dear-fast', 'flat-fast']);
    assert.deepEqual(order(true), ['flat-fast', 'dear-fast']);
    // Another vendor's deployment serves no fast mode for `speed: "fast"` (the field reaches Anthropic only): its standard rates.
    const openai = deployment('openai', { price: { input: 1.2, output: 2.4, tiers: { fast: { input: 100, output: 200 } } } });
    const mixed = STRATEGY_ORDER.cost([openai, ds[1]], context({ profile: { ...chat('x'.repeat(4_000)), fastMode: true } }));
    assert.deepEqual(
      mixed.map((d) => d.id),
      ['openai', 'flat-fast'],
    );
  });

  it('cost prices cache writes at their rate', () => {
    const ds = [
      deployment('dear-writes', { price: { input: 1, cacheWrite: 2, cacheWrite1h: 4, output: 2 } }),
      deployment('flat', { price: { input: 1.5, output: 2 } }),
    ];
    const shares = new UsageShares(new Clock());
    const profile = chat('x'.repeat(40_000));
    shares.observe('dear-writes', { prompt_tokens: 1000, completion_tokens: 10, prompt_tokens_details: { cache_write_tokens: 800 } });
    shares.observe('flat', { prompt_tokens: 1000, completion_tokens: 10 });
    assert.deepEqual(
      STRATEGY_ORDER.cost(ds, context({ profile, shares })).map((d) => d.id),
      ['flat', 'dear-writes'],
    );
  });

  it('cost prices the reasoning share at the reasoning rate: all of the completion before any answer said', () => {
    const ds = [
      deployment('cheap-out-dear-thinking', { price: { input: 1, output: 2, reasoning: 12 } }),
      deployment('flat', { price: { input: 1, output: 4 } }),
    ];
    const shares = new UsageShares(new Clock());
    const order = (extra: object) =>
      STRATEGY_ORDER.cost(ds, context({ profile: chat('x'.repeat(4_000), { max_tokens: 1000, ...extra }), shares })).map((d) => d.id);
    assert.deepEqual(order({ reasoning_effort: 'high' }), ['flat', 'cheap-out-dear-thinking']);
    assert.deepEqual(order({}), ['cheap-out-dear-thinking', 'flat'], 'no reasoning asked, none known');
    shares.observe('cheap-out-dear-thinking', {
      prompt_tokens: 1000,
      completion_tokens: 1000,
      completion_tokens_details: { reasoning_tokens: 900 },
    });
    assert.deepEqual(order({}), ['flat', 'cheap-out-dear-thinking'], 'its answers reason');
  });

  // Found by an independent check: `capabilities: [reasoning]` was accepted and declared on every
  // reasoning model of the shipped config, and routing ignored it.
  it('a request asking for reasoning, on any of the three APIs, puts the deployments that declare it first; the others stay as fallbacks', () => {
    const user = [{ role: 'user' as const, content: 'think' }];
    const viaMessages = (thinking: object) =>
      profileChat(toChatRequest({ model: 'x', max_tokens: 4_096, messages: user, thinking } as never).chat).wants;
    assert.deepEqual(chat('x', { reasoning_effort: 'high' }).wants, ['reasoning']);
    assert.deepEqual(viaMessages({ type: 'enabled', budget_tokens: 2_048 }), ['reasoning']);
    assert.deepEqual(viaMessages({ type: 'adaptive' }), ['reasoning']);
    assert.deepEqual(profileChat(toChatParams({ model: 'x', input: 'think', reasoning: { effort: 'high' } })).wants, ['reasoning']);
    for (const none of [chat('x'), chat('x', { reasoning_effort: 'none' }), { wants: viaMessages({ type: 'disabled' }) }])
      assert.deepEqual(none.wants, []);

    const ds = [
      deployment('plain', { capabilities: ['tools'] }),
      deployment('thinker', { capabilities: ['tools', 'reasoning'] }),
      deployment('bare'),
    ];
    assert.deepEqual(
      preferDeclaring(ds, ['reasoning']).map((d) => d.id),
      ['thinker', 'plain', 'bare'],
    );
    assert.deepEqual(
      preferDeclaring(ds, []).map((d) => d.id),
      ['plain', 'thinker', 'bare'],
    );
    // Not a needed capability: a group that declares no reasoning model serves such a request as before.
    const breakers = new BreakerRegistry(config(), { client: undefined } as RedisService, new MetricsService(), new Clock());
    const plainOnly = { name: 'g', config: {} as never, deployments: [ds[0], ds[2]] };
    assert.deepEqual(
      eligibleDeployments(plainOnly, chat('x', { reasoning_effort: 'high' }), breakers, Date.now()).deployments.map((d) => d.id),
      ['plain', 'bare'],
    );
  });
});

describe('eligibility', () => {
  const registry = () => new BreakerRegistry(config(), { client: undefined } as RedisService, new MetricsService(), new Clock());
  const group = (deployments: Deployment[]) => ({ name: 'g', config: {} as never, deployments });

  it('skips a deployment whose context window cannot hold prompt plus max_tokens', () => {
    const ds = [deployment('small', { contextWindow: 1_000 }), deployment('large', { contextWindow: 200_000 })];
    const eligible = eligibleDeployments(group(ds), chat('x'.repeat(8_000), { max_tokens: 10 }), registry(), Date.now()).deployments;
    assert.deepEqual(
      eligible.map((d) => d.id),
      ['large'],
    );
    assert.throws(
      () => eligibleDeployments(group([ds[0]]), chat('x'.repeat(8_000)), registry(), Date.now()),
      (e: { status: number; code: string }) => e.status === 400 && e.code === 'context_length_exceeded',
    );
  });

  // Found by an independent check: the capability was checked among the deployments whose window
  // held the prompt, so a prompt too long for the only tools deployment was refused as "declares no such capability".
  it('a request too long for the only deployments with the capability it needs is context_length_exceeded, saying so', () => {
    const ds = [
      deployment('big-text', { contextWindow: 8_000 }),
      deployment('small-tools', { contextWindow: 2_000, capabilities: ['tools', 'json'] }),
    ];
    const tools = { tools: [{ type: 'function', function: { name: 'f' } }] };
    assert.throws(
      () => eligibleDeployments(group(ds), chat('x'.repeat(12_000), tools), registry(), Date.now()),
      (e: { status: number; code: string; param: string; message: string }) =>
        e.status === 400 &&
        e.code === 'context_length_exceeded' &&
        e.param === 'messages' &&
        e.message.endsWith('exceeds the context window of every deployment of g that supports tools (the largest holds 2000 tokens).'),
    );
    assert.throws(
      () => eligibleDeployments(group([ds[0]]), chat('x', tools), registry(), Date.now()),
      (e: { code: string }) => e.code === 'unsupported_capability',
    );
    assert.deepEqual(
      eligibleDeployments(group(ds), chat('x'.repeat(12_000)), registry(), Date.now()).deployments.map((d) => d.id),
      ['big-text'],
    );
  });

  // Found by an independent check: max_tokens 32000 went to the deployment whose maxOutputTokens is
  // 4096 (its upstream's 400 returns at once), while the next one in the group could give that many.
  // And (another check) when none could give that many, every upstream refused it in its own words, which Claude
  // Code does not act on: the gateway refuses it first, with the figures each ingress words as its vendor does.
  it('skips a deployment whose maxOutputTokens is below max_tokens when another can give that many; when none can, a 400 with the largest', () => {
    const ds = [
      deployment('small-out', { maxOutputTokens: 4_096 }),
      deployment('big-out', { maxOutputTokens: 64_000 }),
      deployment('unset'),
    ];
    const ids = (profile: ReturnType<typeof chat>, of = ds, breakers = registry()) =>
      eligibleDeployments(group(of), profile, breakers, Date.now()).deployments.map((d) => d.id);
    assert.deepEqual(ids(chat('x', { max_tokens: 32_000 })), ['big-out', 'unset']);
    assert.deepEqual(ids(chat('x', { max_completion_tokens: 4_096 })), ['small-out', 'big-out', 'unset']);
    assert.deepEqual(ids(chat('x')), ['small-out', 'big-out', 'unset']);
    assert.deepEqual(ids(chat('x', { max_tokens: 100_000 })), ['unset'], 'one that declares no bound may');
    assert.throws(
      () => ids(chat('x', { max_tokens: 100_000 }), ds.slice(0, 2)),
      (e: GatewayError) =>
        e.status === 400 &&
        e.code === 'invalid_value' &&
        e.param === 'max_tokens' &&
        isDeepStrictEqual(e.outputCap, { asked: 100_000, cap: 64_000 }),
    );
    // Whatever their health: none could serve it healthy.
    const breakers = registry();
    rateLimit(breakers.get('big-out'), Date.now(), 30_000);
    assert.throws(
      () => ids(chat('x', { max_tokens: 100_000 }), ds.slice(0, 2), breakers),
      (e: GatewayError) => e.status === 400,
    );
    // The one that could give that many out for its health: the others are asked, as before (the upstream decides).
    assert.deepEqual(ids(chat('x', { max_tokens: 32_000 }), ds.slice(0, 2), breakers), ['small-out']);
  });

  // Found by an independent check: tool-call arguments, file and audio parts counted nothing, so an
  // agent's long history went to the 1,000-token deployment (or was served where none fits).
  it('counts every part of the prompt: tool calls, tool results, refusals, files and audio', () => {
    const big = 'x'.repeat(40_000);
    const base64 = Buffer.from(big).toString('base64');
    const messages = (history: ChatCompletionMessageParam[]) => profileChat({ model: 'x', messages: history });
    const baseline = messages([{ role: 'user', content: 'write the file' }]).promptTokens;
    const grown: [string, ChatCompletionMessageParam, number][] = [
      [
        'tool call arguments',
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'write', arguments: big } }] },
        10_000,
      ],
      ['an older function_call', { role: 'assistant', content: null, function_call: { name: 'write', arguments: big } }, 10_000],
      ['a tool result', { role: 'tool', tool_call_id: 'c', content: [{ type: 'text', text: big }] }, 10_000],
      ['a refusal', { role: 'assistant', content: null, refusal: big }, 10_000],
      ['a refusal part', { role: 'assistant', content: [{ type: 'refusal', refusal: big }] }, 10_000],
      // 40,000 bytes of PDF at 16 bytes a token; the same whether a data URL or bare base64 with a filename.
      [
        'a file (data URL)',
        { role: 'user', content: [{ type: 'file', file: { file_data: `data:application/pdf;base64,${base64}` } }] },
        2_500,
      ],
      ['a file (base64)', { role: 'user', content: [{ type: 'file', file: { file_data: base64, filename: 'a.pdf' } }] }, 2_500],
      // 40,000 bytes: 1.25 s of 16 kHz wav, 2.5 s of 128 kbit/s mp3, at 32 tokens a second.
      ['wav audio', { role: 'user', content: [{ type: 'input_audio', input_audio: { data: base64, format: 'wav' } }] }, 40],
      ['mp3 audio', { role: 'user', content: [{ type: 'input_audio', input_audio: { data: base64, format: 'mp3' } }] }, 80],
      // Audio and images sent as a file, at their own rates, not a PDF's (media34 D1); audio other than wav at mp3's.
      ['a wav file', { role: 'user', content: [{ type: 'file', file: { file_data: `data:Audio/X-WAV;base64,${base64}` } }] }, 40],
      ['a flac file', { role: 'user', content: [{ type: 'file', file: { file_data: `data:audio/flac;base64,${base64}` } }] }, 80],
      ['an image file', { role: 'user', content: [{ type: 'file', file: { file_data: `data:image/png;base64,${base64}` } }] }, 765],
      // A format no vendor takes (the adapter refuses it) still gets a number, not NaN.
      [
        'audio of another format',
        { role: 'user', content: [{ type: 'input_audio', input_audio: { data: base64, format: 'toString' as 'mp3' } }] },
        80,
      ],
    ];
    for (const [what, message, tokens] of grown) {
      const profile = messages([{ role: 'user', content: 'write the file' }, message]);
      const added = profile.promptTokens - baseline - 4; // 4: the message's own overhead
      assert.ok(added >= tokens && added <= tokens + 5, `${what}: ${added} tokens, expected ~${tokens}`);
    }
    const agent = messages([{ role: 'user', content: 'write the file' }, grown[0][1], { role: 'user', content: 'thanks' }]);
    const ds = [deployment('small', { contextWindow: 1_000 }), deployment('large', { contextWindow: 200_000 })];
    assert.deepEqual(
      eligibleDeployments(group(ds), agent, registry(), Date.now()).deployments.map((d) => d.id),
      ['large'],
    );
    assert.throws(
      () => eligibleDeployments(group([ds[0]]), agent, registry(), Date.now()),
      (e: { status: number; code: string }) => e.status === 400 && e.code === 'context_length_exceeded',
    );
  });

  it('the Responses and Messages APIs, translated to chat params, get the same estimate', () => {
    const args = JSON.stringify({ text: 'x'.repeat(40_000) });
    const pdf = Buffer.from('x'.repeat(40_000)).toString('base64');
    const viaChat = profileChat({
      model: 'x',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'summarise' },
            { type: 'file', file: { file_data: `data:application/pdf;base64,${pdf}` } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'write', arguments: args } }] },
        { role: 'tool', tool_call_id: 'c', content: 'ok' },
      ],
    }).promptTokens;
    const viaResponses = profileChat(
      toChatParams({
        model: 'x',
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'summarise' },
              { type: 'input_file', file_data: `data:application/pdf;base64,${pdf}`, filename: 'a.pdf' },
            ],
          },
          { type: 'function_call', call_id: 'c', name: 'write', arguments: args },
          { type: 'function_call_output', call_id: 'c', output: 'ok' },
        ],
      }),
    ).promptTokens;
    const viaMessages = profileChat(
      toChatRequest({
        model: 'x',
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'summarise' },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'c', name: 'write', input: JSON.parse(args) }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c', content: 'ok' }] },
        ],
      }).chat,
    ).promptTokens;
    assert.ok(viaChat >= 12_500, `${viaChat}: 10,000 for the arguments, 2,500 for the PDF`);
    assert.deepEqual([viaResponses, viaMessages], [viaChat, viaChat]);
  });

  it('needs tools, vision and json capabilities when the request uses them; a deployment that declares none serves text chat only', () => {
    const ds = [
      deployment('text', { capabilities: ['json'] }),
      deployment('full', { capabilities: ['tools', 'vision', 'json'] }),
      deployment('undeclared'),
    ];
    const profile = profileChat({
      model: 'x',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
      tools: [{ type: 'function', function: { name: 'f' } }],
    });
    assert.deepEqual(
      eligibleDeployments(group(ds), profile, registry(), Date.now()).deployments.map((d) => d.id),
      ['full'],
    );
    assert.throws(() => eligibleDeployments(group([ds[0]]), profile, registry(), Date.now()), /supports tools, vision/);
    assert.throws(() => eligibleDeployments(group([ds[2]]), profile, registry(), Date.now()), /supports tools, vision/);
    assert.deepEqual(
      eligibleDeployments(group(ds), chat('plain text'), registry(), Date.now()).deployments.map((d) => d.id),
      ['text', 'full', 'undeclared'],
    );
  });

  it('a request only one provider type can serve (NativeRequest.only) goes to those deployments, in order; none is a 400 naming the param', () => {
    const on = (id: string, type: string) => ({ ...deployment(id, { capabilities: ['tools'] }), provider: { name: id, type } as Provider });
    const ds = [on('oa', 'openai-compatible'), on('ant-1', 'anthropic'), on('gem', 'gemini'), on('ant-2', 'anthropic')];
    const only = { reason: "tools[0].type 'web_search_20250305' is Anthropic's", param: 'tools[0].type' };
    const request = { model: 'x', messages: [{ role: 'user' as const, content: 'x' }] };
    const profile = profileChat(request, { protocol: 'anthropic', body: {}, only });
    assert.deepEqual(profile.onlyProvider, { type: 'anthropic', ...only });
    assert.deepEqual(
      eligibleDeployments(group(ds), profile, registry(), Date.now()).deployments.map((d) => d.id),
      ['ant-1', 'ant-2'],
    );
    // The same request without the mark, or in the vendor's protocol without it, may go anywhere.
    for (const plain of [profileChat(request), profileChat(request, { protocol: 'anthropic', body: {} })])
      assert.deepEqual(
        eligibleDeployments(group(ds), plain, registry(), Date.now()).deployments.map((d) => d.id),
        ['oa', 'ant-1', 'gem', 'ant-2'],
      );
    assert.throws(
      () => eligibleDeployments(group([ds[0], ds[2]]), profile, registry(), Date.now()),
      (e: { status: number; param: string; message: string }) =>
        e.status === 400 && e.param === 'tools[0].type' && e.message === `${only.reason}; model g routes to no 'anthropic' deployment.`,
    );
  });

  it('chat and embeddings are different kinds: a request of the other kind is 400 model_not_supported', () => {
    const chatModel = group([deployment('chat', { capabilities: ['tools'] }), deployment('plain')]);
    const embeddingModel = group([deployment('embed', { capabilities: ['embeddings'] })]);
    const notSupported = (e: { status: number; code: string; param: string }) =>
      e.status === 400 && e.code === 'model_not_supported' && e.param === 'model';
    assert.throws(() => eligibleDeployments(chatModel, profileEmbeddings('x'), registry(), Date.now()), notSupported);
    assert.throws(() => eligibleDeployments(embeddingModel, chat('x'), registry(), Date.now()), notSupported);
    assert.deepEqual(
      eligibleDeployments(embeddingModel, profileEmbeddings(['a', 'b']), registry(), Date.now()).deployments.map((d) => d.id),
      ['embed'],
    );
  });

  it('skips deployments whose breaker is open; all open is a 503 (or 429 when rate limited)', () => {
    const breakers = registry();
    const ds = [deployment('a'), deployment('b')];
    rateLimit(breakers.get('a'), Date.now(), 30_000);
    assert.deepEqual(
      eligibleDeployments(group(ds), chat('x'), breakers, Date.now()).deployments.map((d) => d.id),
      ['b'],
    );
    rateLimit(breakers.get('b'), Date.now(), 20_000);
    assert.throws(
      () => eligibleDeployments(group(ds), chat('x'), breakers, Date.now()),
      (e: { status: number; headers: Record<string, string> }) => e.status === 429 && e.headers['retry-after'] === '20',
    );
    for (let i = 0; i < 5; i++) fail(breakers.get('c'), Date.now());
    assert.throws(
      () => eligibleDeployments(group([deployment('c')]), chat('x'), breakers, Date.now()),
      (e: { status: number }) => e.status === 503,
    );
  });

  // Found by an independent check: a 503's Retry-After (maintenance) made the group answer 429
  // "rate limited upstream", as a 429's does.
  it("a 503's or 529's Retry-After is an outage: the group answers 503, not 429; a later 429 makes it 429", () => {
    const breakers = registry();
    const now = Date.now();
    fail(breakers.get('a'), now, 20_000);
    const refusal = (at: number) => {
      try {
        eligibleDeployments(group([deployment('a')]), chat('x'), breakers, at);
      } catch (e) {
        return e as { status: number; code: string; headers: Record<string, string> };
      }
      assert.fail('no refusal');
    };
    const outage = refusal(now);
    assert.equal(outage.status, 503);
    assert.equal(outage.code, 'no_healthy_deployment');
    assert.equal(outage.headers['retry-after'], '20');
    const other = registry();
    rateLimit(other.get('a'), now, 20_000);
    fail(other.get('a'), now, 10_000); // a shorter 503 wait inside the 429's does not change what the wait is
    assert.throws(
      () => eligibleDeployments(group([deployment('a')]), chat('x'), other, now),
      (e: { status: number }) => e.status === 429,
    );
  });

  it('keeps a deployment that is back within the wait cap, so the executor can wait for it', () => {
    const breakers = registry();
    rateLimit(breakers.get('a'), Date.now(), 2_000);
    assert.deepEqual(
      eligibleDeployments(group([deployment('a')]), chat('x'), breakers, Date.now()).deployments.map((d) => d.id),
      ['a'],
    );
  });
});

function fail(h: DeploymentHealth, now: number, retryAfterMs?: number): void {
  h.admit(now)?.end({ kind: 'failed', retryAfterMs }, now);
}
/** 429s until the deployment cools down (one is not enough while it mostly answers); returns how many it took. */
function rateLimit(h: DeploymentHealth, now: number, retryAfterMs: number): number {
  let n = 0;
  for (let ticket = h.admit(now); ticket; ticket = h.admit(now), n++) ticket.end({ kind: 'rate-limited', retryAfterMs }, now);
  return n;
}

describe('deployment health', () => {
  const cfg = Object.assign(new BreakerConfig(), {
    consecutiveFailures: 3,
    cooldownMs: 1_000,
    minRequests: 10,
    failureRate: 0.5,
    windowMs: 10_000,
  });

  it('opens after N consecutive failures, half-opens after the cooldown, closes on a good probe', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    fail(h, 0);
    fail(h, 1);
    assert.ok(h.admit(2));
    fail(h, 2);
    assert.equal(h.state, 'open');
    assert.equal(h.admit(500), undefined);
    assert.equal(h.stateAt(999), 'open');
    assert.equal(h.stateAt(1_002), 'half-open', 'the cool-down over, the next request may probe');
    const probe = h.admit(1_002);
    assert.ok(probe?.probe, 'one probe after the cooldown');
    assert.equal(h.state, 'half-open');
    assert.equal(h.admit(1_003), undefined, 'only one probe at a time');
    assert.equal(h.readyAt(1_003), Infinity);
    probe.end({ kind: 'answered' }, 1_004);
    assert.equal(h.state, 'closed');
  });

  it('a failed probe opens it again', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 3; t++) fail(h, t);
    fail(h, 1_010);
    assert.equal(h.state, 'open');
    assert.equal(h.openUntil, 2_010);
  });

  it('a probe that ends without a verdict (client gone) frees the slot for the next request', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 3; t++) fail(h, t);
    const probe = h.admit(1_010)!;
    probe.end({ kind: 'no-verdict' }, 1_020);
    probe.end({ kind: 'failed' }, 1_021); // a second end changes nothing
    assert.equal(h.state, 'half-open');
    assert.equal(h.probing, false);
    assert.ok(h.admit(1_030)?.probe);
  });

  it('a probe answered with a rate limit closes the breaker and cools the deployment down', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 3; t++) fail(h, t);
    h.admit(1_010)!.end({ kind: 'rate-limited', retryAfterMs: 500 }, 1_020);
    assert.equal(h.state, 'closed');
    assert.equal(h.readyAt(1_100), 1_520);
    assert.equal(h.rateLimited(1_100), true);
  });

  it('opens on the failure rate over the window, even without a long streak', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 10; t++) h.admit(t)?.end(t % 2 ? { kind: 'failed' } : { kind: 'answered' }, t);
    assert.equal(h.state, 'open');
  });

  it('a stream counts once, when it ends: its start closes a probe; a late failure is a failure, a stream read to its end an answer', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 3; t++) fail(h, t);
    const probe = h.admit(1_010)!;
    probe.started();
    assert.equal(h.state, 'closed', 'the probe stream began: the deployment is up');
    assert.equal(h.probing, false);
    probe.end({ kind: 'failed' }, 1_012);
    assert.equal(h.state, 'closed', 'the late failure of a probe that closed the breaker is one failure');
    for (let t = 1_013; t < 1_015; t++) {
      const stream = h.admit(t)!;
      stream.started();
      stream.end({ kind: 'failed' }, t);
    }
    assert.equal(h.state, 'open', 'three streams failed after they began, as after three failures');
    // 5 streams read to their end and 5 that failed late: a failure rate of 1/2 (an answer counted
    // at the start and again at the end would make it 5/15, and the breaker would stay closed).
    const rated = new DeploymentHealth({ ...cfg, consecutiveFailures: 100 }, () => undefined);
    for (let t = 0; t < 10; t++) {
      const stream = rated.admit(t)!;
      stream.started();
      stream.end(t % 2 ? { kind: 'failed' } : { kind: 'answered' }, t);
    }
    assert.equal(rated.state, 'open');
  });

  it('a 429 cools the deployment down only while most answers are 429s', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    for (let t = 0; t < 100; t++) h.admit(t)!.end(t % 3 ? { kind: 'answered' } : { kind: 'rate-limited', retryAfterMs: 1_000 }, t);
    assert.equal(h.readyAt(100), 100, 'a third of requests rate limited: still in use');
    assert.ok(rateLimit(h, 100, 1_000) > 5, 'a run of 429s cools it down');
    assert.equal(h.readyAt(100), 1_100);
  });

  it('a Retry-After is a time: no attempt before it, one at it, capped at the cooldown', () => {
    const h = new DeploymentHealth(cfg, () => undefined);
    rateLimit(h, 0, 700);
    assert.equal(h.admit(699), undefined);
    assert.ok(h.admit(700));
    rateLimit(h, 1_000, 60_000);
    assert.equal(h.readyAt(1_000), 2_000, 'capped at cooldownMs');
    fail(h, 3_000, 300); // a 503 with Retry-After
    assert.equal(h.readyAt(3_000), 3_300);
  });
});

describe('task rules', () => {
  const auto = Object.assign(new VirtualModelConfig(), {
    name: 'auto',
    default: 'cheap-chat',
    rules: [
      { name: 'explicit', match: { task: 'summarize' }, model: 'long-context' },
      { name: 'code', match: { pattern: '\\b(code|function|bug|typescript|python)\\b' }, model: 'strong-code' },
      { name: 'long', match: { minPromptTokens: 2_000 }, model: 'long-context' },
      { name: 'tools', match: { tools: true }, model: 'strong-code' },
      { name: 'vision', match: { images: true }, model: 'vision' },
      { name: 'json', match: { responseFormat: true, keywords: ['invoice', 'receipt'] }, model: 'extract' },
    ],
  });
  const router = new TaskRouter(auto);
  /** A virtual model of one rule on `match`. */
  const oneRule = (match: object) =>
    new TaskRouter(
      Object.assign(new VirtualModelConfig(), { name: 'auto', default: 'other', rules: [{ name: 'r', match, model: 'hit' }] }),
    );
  /** Whether `router`'s rule fires on a message of `text`. */
  const firesOn = (router: TaskRouter) => (text: string) => router.decide(chat(text), undefined).rule === 'r';
  const cases: [string, ReturnType<typeof chat>, string | undefined, string, string][] = [
    ['small talk', chat('hi, how are you?'), undefined, 'cheap-chat', 'default'],
    ['a coding question', chat('Why does this Python function raise?'), undefined, 'strong-code', 'code'],
    ['a long document', chat('word '.repeat(3_000)), undefined, 'long-context', 'long'],
    [
      'a tool call',
      chat('what is the weather', { tools: [{ type: 'function', function: { name: 'w' } }] }),
      undefined,
      'strong-code',
      'tools',
    ],
    [
      'an image',
      profileChat({ model: 'x', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }),
      undefined,
      'vision',
      'vision',
    ],
    ['JSON extraction', chat('read this invoice', { response_format: { type: 'json_object' } }), undefined, 'extract', 'json'],
    ['JSON without keyword', chat('list colours', { response_format: { type: 'json_object' } }), undefined, 'cheap-chat', 'default'],
    ['the x-gateway-task header', chat('hi'), 'summarize', 'long-context', 'explicit'],
    // Found by an independent check: the header was matched case-sensitively, unlike keywords and patterns.
    ['the x-gateway-task header in another case, spaced', chat('hi'), ' SUMMARIZE ', 'long-context', 'explicit'],
  ];
  for (const [name, profile, task, model, rule] of cases) {
    it(`routes ${name} to ${model} (rule ${rule})`, () => {
      assert.deepEqual(router.decide(profile, task), { model, rule });
    });
  }

  // Found by an independent check: `ai` fired on "said" and "email", `bug` on "debug".
  it('keywords match whole words or phrases, case-insensitive, in any script', () => {
    const keywords = ['ai', 'bug', 'stack trace', 'c++', 'café', '错误', 'ошибка'];
    const fires = firesOn(oneRule({ keywords }));
    for (const text of [
      'Tell me about AI.',
      "AI's future",
      'a bug.',
      'BUG-123',
      'a Stack\n  Trace here',
      'C++ templates',
      'Café au lait',
      '这个错误很严重',
      'Ошибка в коде',
    ])
      assert.ok(fires(text), `fires on ${JSON.stringify(text)}`);
    for (const text of ['She said the email was fine.', 'debug it', 'bugs', 'stack tracer', 'the stacktrace', 'cafés', 'ошибками'])
      assert.ok(!fires(text), `does not fire on ${JSON.stringify(text)}`);
  });

  // Found by an independent check (utf34 D7): `café` typed decomposed (`cafe` and U+0301) fell through to the default.
  it('a keyword matches its composed and decomposed forms alike, whichever form the rule wrote it in', () => {
    for (const keyword of ['café', 'cafe\u0301', 'résumé']) {
      const fires = firesOn(oneRule({ keywords: [keyword] }));
      const word = keyword.normalize('NFC');
      for (const text of [`un ${word}, s’il vous plaît`, `un ${word.normalize('NFD')}, s’il vous plaît`])
        assert.ok(fires(text), `${JSON.stringify(keyword)} fires on ${JSON.stringify(text)}`);
      for (const text of [`des ${word}s`, `des ${word.normalize('NFD')}s`])
        assert.ok(!fires(text), `${JSON.stringify(keyword)} does not fire on ${JSON.stringify(text)}`);
    }
  });

  // Found by an independent check: "这个bug怎么办" never matched `bug`: the Han letters beside it counted as part of the word.
  it('a Latin keyword in Chinese or Japanese text is a whole word there', () => {
    const fires = firesOn(oneRule({ keywords: ['bug', 'stack trace', 'python'] }));
    for (const text of ['这个bug怎么办', '我的代码有bug。', 'バグ: bugが出た', '用python写', '看这个stack trace吧'])
      assert.ok(fires(text), `fires on ${JSON.stringify(text)}`);
    for (const text of ['请debug一下', '这个bugs', 'bugfix的问题', '用pythonic写法'])
      assert.ok(!fires(text), `does not fire on ${JSON.stringify(text)}`);
  });

  // Found by an independent check: compiled without the `u` flag, `\p{Script=Han}` was the text "p{Script=Han}".
  it('a pattern is compiled with the u flag: Unicode property classes work', () => {
    const fires = firesOn(oneRule({ pattern: '\\p{Script=Han}' }));
    assert.ok(fires('请解释一下'));
    assert.ok(!fires('p{Script=Han}'));
  });
});

// Found by an independent check (time32): a replica whose clock ran an hour ahead announced a 5 s Retry-After's end by its clock,
// and every replica kept the deployment out for the hour (Retry-After: 3605), where one's own wait is capped at cooldownMs.
describe('a cool-down or breaker announced by a replica whose clock runs ahead', () => {
  it('keeps the deployment out for cooldownMs at most, by this replica`s clock', () => {
    const clock = new FakeClock();
    const cfg = config();
    const breakers = new BreakerRegistry(cfg, { client: undefined } as RedisService, new MetricsService(), clock);
    const hourAhead = clock.now() + 3_600_000;
    breakers.applyRemote('cooling', { state: 'cooling', until: hourAhead, limited: true });
    breakers.applyRemote('open', { state: 'open', until: hourAhead });
    breakers.applyRemote('soon', { state: 'open', until: clock.now() + 500 });
    assert.deepEqual(
      ['cooling', 'open', 'soon'].map((id) => breakers.get(id).readyAt(clock.now()) - clock.now()),
      [cfg.router.breaker.cooldownMs, cfg.router.breaker.cooldownMs, 500],
    );
  });
});

describe('plan reuse', () => {
  const setup = (deployments: Deployment[], strategy = 'priority') => {
    const cfg = config();
    const breakers = new BreakerRegistry(cfg, { client: undefined } as RedisService, new MetricsService(), new Clock());
    const group = { name: 'g', config: { strategy } as never, deployments };
    const catalog = { resolve: () => group } as unknown as ModelCatalog;
    const router = new RouterService(cfg, catalog, breakers, new LatencyTracker(cfg, new Clock()), new UsageShares(new Clock()));
    const plan = (extra: object = {}) => {
      const p = router.planChat({ model: 'g', messages: [{ role: 'user', content: 'hi' }], ...extra }, undefined);
      return { ids: p.deployments.map((d) => d.id), out: p.out?.map((d) => d.id) };
    };
    return { breakers, plan };
  };

  // A plain request's plan is reused while the group stays healthy: a breaker opening here, or one another replica announces, takes effect on the next request.
  it('a reused plan follows every health change at once: a breaker opened here, a cool-down or breaker announced by another replica, a recovery', () => {
    const { breakers, plan } = setup([deployment('a'), deployment('b')]);
    assert.deepEqual(plan(), { ids: ['a', 'b'], out: undefined });
    assert.deepEqual(plan(), { ids: ['a', 'b'], out: undefined }, 'reused');
    for (let i = 0; i < 5; i++) fail(breakers.get('a'), Date.now());
    assert.deepEqual(plan(), { ids: ['b'], out: ['a'] }, 'a breaker opened by this replica');
    breakers.applyRemote('a', { state: 'closed', until: 0 });
    assert.deepEqual(plan(), { ids: ['a', 'b'], out: undefined }, 'closed by another replica');
    assert.deepEqual(plan(), { ids: ['a', 'b'], out: undefined });
    breakers.applyRemote('b', { state: 'cooling', until: Date.now() + 60_000, limited: true });
    assert.deepEqual(plan(), { ids: ['a'], out: ['b'] }, 'a cool-down announced by another replica');
    breakers.applyRemote('b', { state: 'closed', until: 0 });
    breakers.applyRemote('b', { state: 'open', until: Date.now() + 60_000 });
    assert.deepEqual(plan(), { ids: ['a'], out: ['b'] }, 'a breaker opened by another replica');
    rateLimit(breakers.get('a'), Date.now(), 30_000);
    assert.throws(
      () => plan(),
      (e: { status: number }) => e.status === 429 || e.status === 503,
    );
  });

  it('a request that is not plain for the group, or a group not ordered by priority, is planned as before', () => {
    const small = setup([deployment('a', { maxOutputTokens: 100 }), deployment('b')]);
    assert.deepEqual(small.plan(), { ids: ['a', 'b'], out: undefined });
    assert.deepEqual(small.plan({ max_tokens: 500 }), { ids: ['b'], out: undefined }, 'more output than a gives');
    const narrow = setup([deployment('a', { contextWindow: 1_000 }), deployment('b')]);
    assert.deepEqual(narrow.plan({ messages: [{ role: 'user', content: 'x'.repeat(8_000) }] }).ids, ['b'], 'too long for a');
    const cost = setup([deployment('a', { price: { input: 5, output: 5 } }), deployment('b', { price: { input: 1, output: 1 } })], 'cost');
    assert.deepEqual(cost.plan().ids, ['b', 'a']);
  });
});
