import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { FakeAnthropic } from '../support/fake-anthropic';
import { configWith, GatewayProcess } from '../support/gateway';

const KEY = 'sk-ant-upstream-omitted';
const ATTEMPT_MS = 1_000;
/** Thinks (pings only) for three attempt timeouts before its signature and text. */
const MODEL = `claude-think-omitted-${3 * ATTEMPT_MS}`;

/**
 * Found by an independent check: a thinking block with its thinking omitted (`display: "omitted"`, Claude Opus 4.7's
 * default) has one delta, its signature, after all the thinking. Chat and Responses translated from it sent their first
 * chunk with that delta, so until then the attempt's timeout ran (router.timeouts.attemptMs: until the first chunk) and
 * cut a healthy answer after thinking that long, retried it and billed the upstream twice. The block's start is the
 * answer begun: the first chunk goes with it, on every ingress.
 */
describe('a thinking block with its thinking omitted outlasts the attempt timeout on every ingress', () => {
  const upstream = new FakeAnthropic(KEY);
  let gateway: GatewayProcess;

  before(async () => {
    const baseUrl = await upstream.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'ant', type: 'anthropic', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
        models: [{ name: 'thinker', deployments: [{ provider: 'ant', model: MODEL }] }],
        router: { timeouts: { attemptMs: ATTEMPT_MS, deadlineMs: ATTEMPT_MS } },
      }),
      { env: { FAKE_KEY: KEY } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  /** The upstream calls since `mark`, for one request: no attempt was cut and tried again. */
  const assertOneCall = (mark: number) => assert.equal(upstream.received.length - mark, 1, 'upstream calls for the request');

  it('chat: the openai SDK streams the answer, in one upstream call', async () => {
    const mark = upstream.received.length;
    const stream = await gateway.client().chat.completions.create({
      model: 'thinker',
      stream: true,
      messages: [{ role: 'user', content: 'six times seven?' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, '42');
    assertOneCall(mark);
  });

  it('Responses: the openai SDK streams the answer, in one upstream call', async () => {
    const mark = upstream.received.length;
    const stream = gateway.client().responses.stream({ model: 'thinker', store: false, input: 'six times seven?' });
    const response = await stream.finalResponse();
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, '42');
    assertOneCall(mark);
  });

  it('Messages: the Anthropic SDK streams the answer, in one upstream call', async () => {
    const mark = upstream.received.length;
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
    const message = await claude.messages
      .stream({ model: 'thinker', max_tokens: 2_000, messages: [{ role: 'user', content: 'six times seven?' }] })
      .finalMessage();
    assert.deepEqual(
      message.content.map((block) => block.type),
      ['thinking', 'text'],
    );
    assert.equal(message.content[1].type === 'text' && message.content[1].text, '42');
    assertOneCall(mark);
  });
});
