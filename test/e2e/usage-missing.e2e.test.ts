import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { FakeUpstream, openSse, sendJson } from '../support/fake-upstream';

/** The answer every fake gives: 74 characters, about 19 tokens of output by the gateway's estimate. */
const TEXT = 'The answer, as the fake upstream computed it with care, is forty-two, yes.';
const PRICE = { input: 1, output: 10 };

/**
 * One vendor API per path (OpenAI chat, Anthropic Messages, Gemini), each answering with the usage
 * `usages[model]`, in the vendor's own shape: usage with a count missing, as some servers send it.
 */
class UsageFake extends FakeUpstream {
  constructor(private readonly usages: Record<string, object>) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const gemini = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)/.exec(req.url ?? '');
    if (gemini) return this.gemini(res, this.usages[gemini[1]!]!, gemini[2] === 'streamGenerateContent');
    const usage = this.usages[String(body.model)]!;
    if (req.url?.endsWith('/messages')) return this.anthropic(res, usage, body.stream === true);
    return this.openai(res, usage, body.stream === true);
  }

  private openai(res: ServerResponse, usage: object, stream: boolean): void {
    const base = { id: 'chatcmpl-fake', created: 1, model: 'fake' };
    if (!stream)
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
        usage,
      });
    openSse(res);
    const chunk = { ...base, object: 'chat.completion.chunk' };
    res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: { role: 'assistant', content: TEXT } }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    res.write(`data: ${JSON.stringify({ ...chunk, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  private anthropic(res: ServerResponse, usage: object, stream: boolean): void {
    const message = { id: 'msg_fake', type: 'message', role: 'assistant', model: 'fake', stop_sequence: null };
    if (!stream) return sendJson(res, 200, { ...message, content: [{ type: 'text', text: TEXT }], stop_reason: 'end_turn', usage });
    openSse(res);
    const event = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event('message_start', { message: { ...message, content: [], stop_reason: null, usage } });
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: TEXT } });
    event('content_block_stop', { index: 0 });
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} });
    event('message_stop', {});
    res.end();
  }

  private gemini(res: ServerResponse, usageMetadata: object, stream: boolean): void {
    const answer = {
      candidates: [{ content: { role: 'model', parts: [{ text: TEXT }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata,
      modelVersion: 'fake',
    };
    if (!stream) return sendJson(res, 200, answer);
    openSse(res);
    res.end(`data: ${JSON.stringify(answer)}\r\n\r\n`);
  }
}

/**
 * Found by an independent check of what requests cost: usage an upstream reported without a count
 * the bill needs was billed with that count as 0, not estimated. Gemini's `usageMetadata` without
 * `promptTokenCount` (or `{}`) billed the prompt at $0; an answer's usage without `completion_tokens`
 * (absent or null; Anthropic's without `output_tokens`) billed the output at $0. README: "Usage an
 * upstream omits is estimated and marked `estimated`, never zero".
 */
describe('usage with a count missing is estimated, never billed as zero', () => {
  const upstream = new UsageFake({
    'no-completion': { prompt_tokens: 100, total_tokens: 100 },
    'null-completion': { prompt_tokens: 100, completion_tokens: null, total_tokens: 100 },
    'no-output': { input_tokens: 500 },
    'gemini-empty': {},
    'gemini-no-prompt': { candidatesTokenCount: 12, totalTokenCount: 12 },
    'string-count': { prompt_tokens: '100', completion_tokens: 300, total_tokens: 400 },
    'string-reasoning': { prompt_tokens: 100, completion_tokens: 300, completion_tokens_details: { reasoning_tokens: '120' } },
  });
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const baseUrl = await upstream.start();
    const deploy = (provider: string, name: string) => ({ name, deployments: [{ provider, model: name, price: PRICE }] });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl },
          { name: 'ant', type: 'anthropic', baseUrl, apiKeyEnv: 'FAKE_ANT_KEY' },
          { name: 'gem', type: 'gemini', baseUrl, apiKeyEnv: 'FAKE_GEM_KEY' },
        ],
        models: [
          deploy('oa', 'no-completion'),
          deploy('oa', 'null-completion'),
          deploy('ant', 'no-output'),
          deploy('gem', 'gemini-empty'),
          deploy('gem', 'gemini-no-prompt'),
          deploy('oa', 'string-count'),
          deploy('oa', 'string-reasoning'),
        ],
      }),
      { env: { FAKE_ANT_KEY: 'ant-key', FAKE_GEM_KEY: 'gem-key' } },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const line = async (id: string | null) => (await gateway.logged('request', { where: (l) => l.reqId === id }))[0] ?? {};

  /** The access line of a chat request, streamed or not, after its answer was read whole. */
  const chat = async (model: string, stream: boolean) => {
    const messages = [{ role: 'user' as const, content: `what is the answer? (${model}, ${stream})` }];
    if (!stream) {
      const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
      assert.equal(data.choices[0]?.message.content, TEXT);
      assert.match(response.headers.get('x-gateway-cost-usd') ?? '', /; estimated$/, model);
      return line(response.headers.get('x-request-id'));
    }
    const { data, response } = await client.chat.completions
      .create({ model, messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, TEXT);
    return line(response.headers.get('x-request-id'));
  };

  /** Billed as estimated: output from the answer's 74 characters, never 0, and a prompt counted. */
  const assertEstimated = (logged: Record<string, unknown>, what: string) => {
    assert.equal(logged.usageEstimated, true, `${what}: ${JSON.stringify(logged)}`);
    assert.equal(logged.completionTokens, Math.ceil(TEXT.length / 4), what);
    assert.ok((logged.promptTokens as number) > 0, what);
    assert.ok((logged.costUsd as number) > 0, what);
  };

  for (const model of ['no-completion', 'null-completion', 'no-output', 'gemini-empty', 'gemini-no-prompt'])
    for (const stream of [false, true])
      it(`${model}, ${stream ? 'streamed' : 'not streamed'}: estimated and marked so`, async () => {
        const logged = await chat(model, stream);
        assertEstimated(logged, `${model} stream=${stream}`);
        // The prompt Anthropic's message_start reported is kept: only the output is estimated.
        if (model === 'no-output' && stream) assert.equal(logged.promptTokens, 500);
      });

  // Usage that is not counts: a non-streamed answer was refused (502) where a stream was served and estimated.
  for (const model of ['string-count', 'string-reasoning'])
    for (const stream of [false, true])
      it(`${model}, ${stream ? 'streamed' : 'not streamed'}: the answer served, its usage estimated`, async () => {
        const logged = await chat(model, stream);
        assert.equal(logged.status, 200);
        assertEstimated(logged, `${model} stream=${stream}`);
      });

  it('the same on the Messages API (Anthropic without output_tokens, Gemini without a prompt count, a string count)', async () => {
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    for (const model of ['no-output', 'gemini-empty', 'string-count']) {
      const { data, response } = await claude.messages
        .create({ model, max_tokens: 100, messages: [{ role: 'user', content: `messages ${model}` }] })
        .withResponse();
      const logged = await line(response.headers.get('x-request-id'));
      assertEstimated(logged, `messages ${model}`);
      // A translated answer shows the usage billed, counts as numbers (an Anthropic one goes out as it came).
      if (model !== 'no-output')
        assert.deepEqual([data.usage.output_tokens, typeof data.usage.input_tokens], [logged.completionTokens, 'number'], model);
    }
  });
});
