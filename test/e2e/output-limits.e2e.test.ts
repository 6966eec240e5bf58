import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { FakeUpstream, sendJson } from '../support/fake-upstream';

/** USD per million tokens: output dear enough that hidden reasoning shows in the bill. */
const PRICE = { input: 1, output: 10 };
/** What a reasoning model thinks and writes when nothing stops it. */
const UNBOUNDED_OUTPUT = 20_000;
const KEY = 'output-limits-key-0123456789abcdef';

/**
 * A reasoning model behind an OpenAI-format API: it writes `UNBOUNDED_OUTPUT` tokens (all but ten of them
 * hidden reasoning) unless the request's limit stops it first, as OpenAI's models honour max_completion_tokens.
 * `ignores-limit` writes them whatever it is sent.
 */
class ThinkingUpstream extends FakeUpstream {
  protected async handle(_req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const limit = (body.max_completion_tokens ?? body.max_tokens ?? Infinity) as number;
    const completion = body.model === 'ignores-limit' ? UNBOUNDED_OUTPUT : Math.min(UNBOUNDED_OUTPUT, limit);
    sendJson(res, 200, {
      id: 'chatcmpl-think',
      object: 'chat.completion',
      created: 1,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'The answer is 42.' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 20,
        completion_tokens: completion,
        total_tokens: 20 + completion,
        completion_tokens_details: { reasoning_tokens: completion - 10 },
      },
    });
  }
}

const usd = (prompt: number, completion: number) => (prompt * PRICE.input + completion * PRICE.output) / 1e6;

/**
 * Found by an independent security check (sec30, defect 1): a chat or Responses request without an output
 * limit went to an OpenAI-format deployment with no limit, though the deployment's `maxOutputTokens` is
 * documented as the limit "when the client sends none" (the Anthropic and Gemini adapters sent it); the
 * gateway then judged the upstream's usage against the limit it never sent and billed the estimate of the
 * visible text: 20,000 completion tokens (19,990 reasoning, $0.20) billed $0.000062.
 */
describe('output limits an OpenAI-format deployment is sent, and the usage billed against them', () => {
  const upstream = new ThinkingUpstream();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const baseUrl = await upstream.start();
    const reasoner = (name: string, model: string) => ({
      name,
      deployments: [{ provider: 'oa', model, price: PRICE, maxOutputTokens: 4096, capabilities: ['reasoning'] }],
    });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'oa', type: 'openai', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
        models: [reasoner('reasoner', 'thinks'), reasoner('unruly', 'ignores-limit')],
        security: { keys: [{ id: 'tenant', keyEnv: 'TENANT_KEY', budget: { usd: 5, period: 'daily' } }] },
      }),
      { env: { FAKE_KEY: 'sk-fake', TENANT_KEY: KEY } },
    );
    client = gateway.client({ apiKey: KEY });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const question = [{ role: 'user' as const, content: 'Prove the Riemann hypothesis.' }];

  it('a chat request without max_tokens is sent the deployment`s maxOutputTokens, and billed the usage it reports', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'reasoner', reasoning_effort: 'high', messages: question })
      .withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(upstream.last().body.max_tokens, undefined);
    assert.equal(data.usage?.completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), String(usd(20, 4096)));
  });

  it('a Responses request without max_output_tokens is sent it too', async () => {
    const { response } = await client.responses
      .create({ model: 'reasoner', reasoning: { effort: 'high' }, input: 'Prove it.' })
      .withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), String(usd(20, 4096)));
  });

  it('the client`s own limit is sent as it asked', async () => {
    await client.chat.completions.create({ model: 'reasoner', max_tokens: 300, messages: question });
    assert.equal(upstream.last().body.max_completion_tokens, 300);
  });

  it('an output past what the request allows is billed at that allowance (estimated), not at the visible text', async () => {
    const { response } = await client.chat.completions.create({ model: 'unruly', messages: question }).withResponse();
    assert.equal(upstream.last().body.max_completion_tokens, 4096);
    assert.equal(response.headers.get('x-gateway-cost-usd'), `${usd(20, 4096)}; estimated`);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') });
    assert.deepEqual([line.completionTokens, line.usageEstimated], [4096, true]);
  });
});
