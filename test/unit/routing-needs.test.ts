import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeploymentConfig, parseConfig, type ProviderType } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import type { ChatCompletionCreateParams, ParamTable, Provider } from '@gateway/providers';
import type { RedisService } from '@gateway/redis';
import { Clock, type Deployment, profileChat, UsageShares } from '@gateway/router';
import { ANTHROPIC_PARAMS } from '../../libs/providers/src/anthropic/request';
import { GEMINI_PARAMS } from '../../libs/providers/src/gemini/request';
import { BreakerRegistry } from '../../libs/router/src/breaker-registry';
import { eligibleDeployments } from '../../libs/router/src/eligibility';
import { LatencyTracker } from '../../libs/router/src/latency-tracker';
import type { ModelCatalog } from '../../libs/router/src/model-catalog';
import { refusingDeployments } from '../../libs/router/src/param-refusals';
import { RouterService } from '../../libs/router/src/router.service';
import { toChatRequest } from '../../apps/gateway/src/messages/request';
import { toChatParams } from '../../apps/gateway/src/responses/request';

const config = () => parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, {});
const registry = () => new BreakerRegistry(config(), { client: undefined } as RedisService, new MetricsService(), new Clock());
const group = (deployments: Deployment[], strategy = 'priority') => ({ name: 'g', config: { strategy } as never, deployments });

/** A deployment on a provider of `type`, whose adapter checks requests against `params` (as the Anthropic and Gemini adapters do). */
function deployment(id: string, type: ProviderType, config: Partial<DeploymentConfig> = {}, params?: ParamTable): Deployment {
  return {
    id,
    provider: { name: id, type, params } as Provider,
    upstreamModel: id,
    config: Object.assign(new DeploymentConfig(), { provider: id, model: id }, config),
  };
}

const PDF = Buffer.from('%PDF-1.4\n%%EOF').toString('base64');
const WAV = Buffer.alloc(320).toString('base64');
const ids = (ds: Deployment[]) => ds.map((d) => d.id);

describe('routing needs: documents and audio', () => {
  const withPart = (part: object) =>
    profileChat({ model: 'x', messages: [{ role: 'user', content: [{ type: 'text', text: 'this' }, part as never] }] });
  const responses = (part: object) =>
    profileChat(toChatParams({ model: 'x', input: [{ role: 'user', content: [{ type: 'input_text', text: 'this' }, part as never] }] }));
  const messages = (block: object) =>
    profileChat(
      toChatRequest({ model: 'x', max_tokens: 10, messages: [{ role: 'user', content: [block as never, { type: 'text', text: 'this' }] }] })
        .chat,
    );

  // Found by an independent check: a PDF or audio went to a deployment that declares no capabilities (README: text chat only).
  it('a document needs vision and audio needs audio, on all three APIs; a text document needs nothing', () => {
    const cases: [string, ReturnType<typeof profileChat>, string[]][] = [
      [
        'chat file part (PDF)',
        withPart({ type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' } }),
        ['vision'],
      ],
      ['chat file part (base64 and a .pdf name)', withPart({ type: 'file', file: { file_data: PDF, filename: 'a.pdf' } }), ['vision']],
      ['chat input_audio', withPart({ type: 'input_audio', input_audio: { data: WAV, format: 'wav' } }), ['audio']],
      [
        'chat file part (audio)',
        withPart({ type: 'file', file: { file_data: `data:audio/wav;base64,${WAV}`, filename: 'a.wav' } }),
        ['audio'],
      ],
      [
        'Responses input_file (PDF)',
        responses({ type: 'input_file', file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' }),
        ['vision'],
      ],
      [
        'Responses input_file (audio)',
        responses({ type: 'input_file', file_data: `data:audio/mpeg;base64,${WAV}`, filename: 'a.mp3' }),
        ['audio'],
      ],
      [
        'Messages document (PDF)',
        messages({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } }),
        ['vision'],
      ],
      [
        'Messages document (PDF, cited)',
        messages({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF }, citations: { enabled: true } }),
        ['vision'],
      ],
      [
        'Messages document (PDF by URL)',
        messages({ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }),
        ['vision'],
      ],
      ['Messages document (Files API)', messages({ type: 'document', source: { type: 'file', file_id: 'file_1' } }), ['vision']],
      [
        'Messages document (text)',
        messages({ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'The sky is blue.' } }),
        [],
      ],
      ['Messages image', messages({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PDF } }), ['vision']],
    ];
    for (const [name, profile, needs] of cases) assert.deepEqual(profile.needs, needs, name);
    // Task rules' `images` is what needs vision: images and documents (recheck28: a rule sending images to a vision
    // group sent a PDF to a text-only default).
    assert.deepEqual(
      cases.filter(([, profile]) => profile.hasImages).map(([name]) => name),
      cases.filter(([, , needs]) => needs.includes('vision')).map(([name]) => name),
    );
  });

  it('a document goes to a vision deployment, audio to an audio one; none there is the same 400 as for an image', () => {
    const ds = [
      deployment('text', 'openai'),
      deployment('sees', 'openai', { capabilities: ['vision'] }),
      deployment('hears', 'gemini', { capabilities: ['audio'] }),
    ];
    const pdf = withPart({ type: 'file', file: { file_data: `data:application/pdf;base64,${PDF}` } });
    const audio = withPart({ type: 'input_audio', input_audio: { data: WAV, format: 'mp3' } });
    assert.deepEqual(ids(eligibleDeployments(group(ds), pdf, registry(), Date.now()).deployments), ['sees']);
    assert.deepEqual(ids(eligibleDeployments(group(ds), audio, registry(), Date.now()).deployments), ['hears']);
    for (const [profile, need] of [
      [pdf, 'vision'],
      [audio, 'audio'],
    ] as const)
      assert.throws(
        () => eligibleDeployments(group([ds[0]]), profile, registry(), Date.now()),
        (e: { status: number; code: string; message: string }) =>
          e.status === 400 &&
          e.code === 'unsupported_capability' &&
          e.message === `No deployment of g supports ${need} (its config declares no such capability).`,
      );
  });
});

describe('routing needs: parameters an adapter refuses', () => {
  const oa = deployment('oa', 'openai-compatible');
  const ant = deployment('ant', 'anthropic', {}, ANTHROPIC_PARAMS);
  const gem = deployment('gem', 'gemini', {}, GEMINI_PARAMS);
  const ask = (extra: Partial<ChatCompletionCreateParams>) =>
    profileChat({ model: 'x', messages: [{ role: 'user', content: 'hi' }], ...extra });
  const eligible = (ds: Deployment[], extra: Partial<ChatCompletionCreateParams>) =>
    ids(eligibleDeployments(group(ds), ask(extra), registry(), Date.now()).deployments);

  // Found by an independent check: a cost group whose cheapest deployment is Claude refused n: 2 every time.
  it('a deployment whose adapter would refuse a parameter is left out when another takes it', () => {
    const ds = [ant, gem, oa];
    assert.deepEqual(eligible(ds, { n: 2 }), ['gem', 'oa'], 'Claude refuses n > 1');
    assert.deepEqual(eligible(ds, { logprobs: true, top_logprobs: 2 }), ['oa'], 'Claude and Gemini refuse logprobs');
    assert.deepEqual(eligible(ds, { seed: 2 ** 40 }), ['ant', 'oa'], "Gemini's seed is 32 bits; Claude drops it");
    assert.deepEqual(eligible(ds, { stop: ['\n'] }), ['gem', 'oa'], 'Claude refuses a whitespace stop sequence');
    assert.deepEqual(eligible(ds, { n: 1, logprobs: false, stop: 'END', seed: 7 }), ['ant', 'gem', 'oa'], 'values every adapter takes');
  });

  it('when no deployment takes the request, all stay and the first one refuses it as before: a 400 naming the parameter', () => {
    assert.deepEqual(eligible([ant, gem], { logprobs: true }), ['ant', 'gem']);
    assert.deepEqual(eligible([ant, gem], { n: 2, seed: 2 ** 40 }), ['ant', 'gem']);
    // Those out of the window do not count as taking it.
    const small = deployment('small', 'openai-compatible', { contextWindow: 1_000 });
    const long = { messages: [{ role: 'user' as const, content: 'x'.repeat(8_000) }], n: 2 };
    assert.deepEqual(eligible([ant, small], long), ['ant']);
  });

  it('one that would refuse is no fallback for one cooling down: the request waits for it (503), not a 400', () => {
    const breakers = registry();
    breakers.applyRemote('oa', { state: 'open', until: Date.now() + 60_000 });
    assert.throws(
      () => eligibleDeployments(group([ant, oa]), ask({ n: 2 }), breakers, Date.now()),
      (e: { status: number; code: string }) => e.status === 503 && e.code === 'no_healthy_deployment',
    );
  });

  it('a request in a vendor`s own protocol is not checked against that vendor`s table (its body goes as written)', () => {
    const request = { model: 'x', messages: [{ role: 'user' as const, content: 'hi' }], stop: ['\n'] };
    assert.deepEqual(ids([...(refusingDeployments(group([ant, oa]), profileChat(request)) ?? [])]), ['ant']);
    assert.equal(refusingDeployments(group([ant, oa]), profileChat(request, { protocol: 'anthropic', body: {} })), undefined);
  });

  it('a group on one vendor, or a request with none of the parameters, is not looked at', () => {
    const ant2 = deployment('ant-2', 'anthropic', {}, ANTHROPIC_PARAMS);
    assert.equal(refusingDeployments(group([ant, ant2]), ask({ n: 2 })), undefined);
    assert.equal(refusingDeployments(group([ant, gem, oa]), ask({ max_tokens: 10, temperature: 0.2, user: 'u' })), undefined);
  });

  it('a priority group reuses its plan for a plain request, and leaves out the refusing deployment for one that is not', () => {
    const cfg = config();
    const breakers = new BreakerRegistry(cfg, { client: undefined } as RedisService, new MetricsService(), new Clock());
    const g = group([ant, gem, oa]);
    const router = new RouterService(
      cfg,
      { resolve: () => g } as unknown as ModelCatalog,
      breakers,
      new LatencyTracker(cfg, new Clock()),
      new UsageShares(new Clock()),
    );
    const plan = (extra: object) =>
      ids(router.planChat({ model: 'g', messages: [{ role: 'user', content: 'hi' }], ...extra }, undefined).deployments);
    assert.deepEqual(plan({}), ['ant', 'gem', 'oa']);
    assert.deepEqual(plan({ n: 3 }), ['gem', 'oa']);
    assert.deepEqual(plan({ logprobs: true }), ['oa']);
    assert.deepEqual(plan({}), ['ant', 'gem', 'oa']);
  });
});
