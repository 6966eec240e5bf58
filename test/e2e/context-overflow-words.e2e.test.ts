import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { ContextOverflowError } from '@langchain/core/errors';
import { ChatOpenAI } from '@langchain/openai';
import type OpenAI from 'openai';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

// Found by an independent check: clients recognise a prompt over the context window by its words, not
// only by the code: LangChain's ChatAnthropic (ContextOverflowError) and Claude Code (compaction) by
// Anthropic's "prompt is too long: N tokens > M maximum", LangChain's ChatOpenAI by OpenAI's "maximum
// context length". The Messages ingress passed the gateway's own refusal and other vendors' texts on
// as they were, and the OpenAI ingress Anthropic's and Gemini's.
describe('a prompt over the context window is worded as the caller`s vendor words it', () => {
  const vendors = new FakeVendors();
  // Started before the tests: the gateway, and an Anthropic and an OpenAI client of it.
  let gateway: GatewayProcess, anthropic: Anthropic, openai: OpenAI;
  before(async () => {
    const providers = await vendors.start();
    const model = (name: string, provider: string, upstream: string, contextWindow?: number) => ({
      name,
      deployments: [{ provider, model: upstream, maxOutputTokens: 1000, contextWindow }],
    });
    const models = [
      model('small', 'mock', 'mock-1', 1000),
      model('too-long-oa', 'oa', 'too-long'),
      model('too-long-ant', 'ant', 'claude-too-long'),
      model('too-long-gem', 'gem', 'gemini-too-long'),
    ];
    gateway = await GatewayProcess.start(configWith({ providers, models }), { env: vendors.env });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    openai = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  const messagesError = (model: string, content: string, max_tokens = 100) =>
    anthropic.messages.create({ model, max_tokens, messages: [{ role: 'user', content }] }).then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof Anthropic.APIError>) => e,
    );
  const chatError = (model: string) =>
    openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
  const anthropicMessage = (e: InstanceType<typeof Anthropic.APIError>) => (e.error as { error: { message: string } }).error.message;

  describe('/v1/messages: Anthropic`s words, with the figures', () => {
    it('the gateway`s own refusal, the prompt alone over the window: "prompt is too long", the estimate kept', async () => {
      const err = await messagesError('small', 'x '.repeat(4000));
      assert.equal(err.status, 400);
      const [, prompt] = /^prompt is too long: (\d+) tokens > 1000 maximum\. This request \(about (\d+) prompt tokens plus 100 for/.exec(
        anthropicMessage(err),
      )!;
      assert.ok(Number(prompt) > 1000, anthropicMessage(err));
    });

    it('the gateway`s own refusal, the completion budget putting it over: Anthropic`s "input length and `max_tokens`"', async () => {
      const err = await messagesError('small', 'x '.repeat(1400), 500);
      const match =
        /^input length and `max_tokens` exceed context limit: (\d+) \+ 500 > 1000, decrease input length or `max_tokens` and try again\. This request/.exec(
          anthropicMessage(err),
        );
      assert.ok(match && Number(match[1]) <= 1000, anthropicMessage(err));
    });

    it('an OpenAI-format upstream`s and Gemini`s too-long errors, their text after', async () => {
      assert.match(
        anthropicMessage(await messagesError('too-long-oa', 'hi')),
        /^prompt is too long: 130000 tokens > 128000 maximum\. This model's maximum context length is 128000 tokens\./,
      );
      assert.match(
        anthropicMessage(await messagesError('too-long-gem', 'hi')),
        /^prompt is too long: 1200293 tokens > 1048576 maximum\. The input token count \(1200293\) exceeds/,
      );
    });

    it('Anthropic`s own, as it was', async () => {
      assert.equal(anthropicMessage(await messagesError('too-long-ant', 'hi')), 'prompt is too long: 208310 tokens > 200000 maximum');
    });
  });

  describe('/v1/chat/completions: OpenAI`s words, the vendor`s text after them', () => {
    for (const [model, words] of [
      [
        'too-long-ant',
        "This model's maximum context length is 200000 tokens. However, your messages resulted in 208310 tokens. Please reduce the length of the messages. prompt is too long: 208310 tokens > 200000 maximum",
      ],
      [
        'too-long-gem',
        "This model's maximum context length is 1048576 tokens. However, your messages resulted in 1200293 tokens. Please reduce the length of the messages. The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
      ],
      [
        'too-long-oa',
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
      ],
    ]) {
      it(`${model}: code context_length_exceeded, and LangChain's ChatOpenAI raises ContextOverflowError`, async () => {
        const err = await chatError(model);
        assert.deepEqual([err.status, err.code, (err.error as { message: string }).message], [400, 'context_length_exceeded', words]);
        const chat = new ChatOpenAI({ model, apiKey: 'test-client-key', configuration: { baseURL: `${gateway.url}/v1` }, maxRetries: 0 });
        const raised = await chat.invoke('hi').then(
          () => assert.fail('answered'),
          (e: unknown) => e,
        );
        assert.ok(ContextOverflowError.isInstance(raised), String(raised));
      });
    }
  });
});
