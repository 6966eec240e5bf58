import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

/** Claude Code 2.1.332's test for an output-cap refusal: it lowers max_tokens to the figure and asks again only on a match. */
const CLAUDE_CODE = /^max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens for .+$/;

// Found by an independent check with Claude Code, which sends max_tokens 32000 (64000 for Opus names): a model
// group on an OpenAI (or Gemini) deployment with a smaller output cap answered the vendor's refusal in the
// vendor's words ("max_tokens is too large: 32000. This model supports at most 16384 completion tokens…"),
// which Claude Code does not act on: every request of its session failed. And a deployment whose config says
// its cap (`maxOutputTokens`) was asked anyway, to refuse it in those words.
describe('a max_tokens over the model`s output cap is worded as the caller`s vendor words it', () => {
  const vendors = new FakeVendors();
  // Started before the tests: the gateway, and an Anthropic and an OpenAI client of it.
  let gateway: GatewayProcess, anthropic: Anthropic, openai: OpenAI;
  before(async () => {
    const providers = await vendors.start();
    const models = [
      // Each upstream writes at most 1000 tokens and says so in its own words; the config does not say it.
      { name: 'cap-oa', deployments: [{ provider: 'oa', model: 'cap-1000' }] },
      { name: 'cap-gem', deployments: [{ provider: 'gem', model: 'gemini-cap-1000' }] },
      { name: 'cap-ant', deployments: [{ provider: 'ant', model: 'claude-cap-1000' }] },
      // The config says it: at most 1000 of either deployment.
      {
        name: 'capped',
        deployments: [
          { provider: 'oa', model: 'ok', maxOutputTokens: 500 },
          { provider: 'gem', model: 'gemini-echo', maxOutputTokens: 1000 },
        ],
      },
    ];
    gateway = await GatewayProcess.start(configWith({ providers, models }), { env: vendors.env });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    openai = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  const ask = (model: string, max_tokens: number) => ({ model, max_tokens, messages: [{ role: 'user' as const, content: 'hi' }] });
  const messagesError = (request: Promise<unknown>) =>
    request.then(
      () => assert.fail('answered'),
      (e: InstanceType<typeof Anthropic.APIError>) => e,
    );
  const anthropicError = (e: InstanceType<typeof Anthropic.APIError>) => (e.error as { error: { type: string; message: string } }).error;
  const asked = () => vendors.openai.received.length + vendors.gemini.received.length + vendors.anthropic.received.length;

  describe('/v1/messages: Anthropic`s words, naming the model the client asked for; Claude Code`s retry is served', () => {
    for (const model of ['cap-oa', 'cap-gem', 'capped']) {
      it(`${model}: created and streamed`, async () => {
        const before = asked();
        // One after the other: a stream's refusal arriving while the first is awaited was an unhandled rejection (a busy host).
        const requests = [
          () => anthropic.messages.create(ask(model, 4000)),
          () => anthropic.messages.stream(ask(model, 4000)).finalMessage(),
        ];
        for (const request of requests) {
          const err = await messagesError(request());
          assert.equal(err.status, 400);
          assert.deepEqual(anthropicError(err), {
            type: 'invalid_request_error',
            message: `max_tokens: 4000 > 1000, which is the maximum allowed number of output tokens for ${model}`,
          });
        }
        // The gateway's own refusal (the config's maxOutputTokens) asks no upstream.
        assert.equal(asked() - before, model === 'capped' ? 0 : 2);
        // What Claude Code does with it: the same request with the cap it read.
        const cap = Number(CLAUDE_CODE.exec(anthropicError(await messagesError(anthropic.messages.create(ask(model, 4000)))).message)![1]);
        const served = await anthropic.messages.create(ask(model, cap)).withResponse();
        assert.equal(served.data.type, 'message');
        if (model === 'capped')
          assert.equal(served.response.headers.get('x-gateway-deployment'), 'capped/1', 'the deployment that gives 1000');
      });
    }

    it('Anthropic`s own, as it was', async () => {
      const err = await messagesError(anthropic.messages.create(ask('cap-ant', 4000)));
      assert.equal(
        anthropicError(err).message,
        'max_tokens: 4000 > 1000, which is the maximum allowed number of output tokens for claude-cap-1000',
      );
    });
  });

  describe('/v1/chat/completions and /v1/responses: OpenAI`s words, the vendor`s text after them', () => {
    const chatError = (model: string, max_tokens: number) =>
      openai.chat.completions.create({ model, max_tokens, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => assert.fail('answered'),
        (e: InstanceType<typeof OpenAI.APIError>) => e,
      );
    const OPENAI_WORDS = 'max_tokens is too large: 4000. This model supports at most 1000 completion tokens, whereas you provided 4000.';
    for (const [model, message] of [
      ['cap-oa', OPENAI_WORDS],
      [
        'cap-gem',
        `${OPENAI_WORDS} Unable to submit request because it has a maxOutputTokens value of 4000 but the supported range is from 1 (inclusive) to 1001 (exclusive). Update the value and try again.`,
      ],
      ['cap-ant', `${OPENAI_WORDS} max_tokens: 4000 > 1000, which is the maximum allowed number of output tokens for claude-cap-1000`],
      [
        'capped',
        `${OPENAI_WORDS} A completion budget of 4000 tokens is more than any deployment of capped writes (at most 1000, its maxOutputTokens).`,
      ],
    ]) {
      it(`${model}`, async () => {
        const before = asked();
        const err = await chatError(model, 4000);
        assert.deepEqual([err.status, err.type, err.param, err.message], [400, 'invalid_request_error', 'max_tokens', `400 ${message}`]);
        assert.equal(asked() - before, model === 'capped' ? 0 : 1);
        assert.equal(
          (await openai.chat.completions.create({ model, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] })).object,
          'chat.completion',
        );
      });
    }

    // Found: the gateway's own refusal, and an upstream's, named max_tokens (param and words) to a client that sent
    // max_completion_tokens, and an upstream's OpenAI words named max_tokens to a Responses client.
    const budgets: [string, (model: string) => Promise<unknown>][] = [
      [
        'max_completion_tokens',
        (model) => openai.chat.completions.create({ model, max_completion_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] }),
      ],
      ['max_output_tokens', (model) => openai.responses.create({ model, input: 'hi', max_output_tokens: 4000 })],
    ];
    for (const [param, create] of budgets)
      it(`a client that sent ${param} sees it named, param included, whoever refused`, async () => {
        const words = `400 ${param} is too large: 4000. This model supports at most 1000 completion tokens, whereas you provided 4000. `;
        for (const model of ['capped', 'cap-oa', 'cap-gem', 'cap-ant']) {
          const err = await create(model).then(
            () => assert.fail('answered'),
            (e: InstanceType<typeof OpenAI.APIError>) => e,
          );
          assert.deepEqual([err.status, err.param, err.message.slice(0, words.length)], [400, param, words], model);
          // The gateway's own text after OpenAI's words names no parameter the client did not send.
          if (model === 'capped') assert.doesNotMatch(err.message.slice(words.length), /max_\w*tokens/);
        }
      });

    it('the Responses API names its own parameter', async () => {
      const err = await openai.responses.create({ model: 'capped', input: 'hi', max_output_tokens: 4000 }).then(
        () => assert.fail('answered'),
        (e: InstanceType<typeof OpenAI.APIError>) => e,
      );
      assert.equal(err.status, 400);
      assert.equal(err.param, 'max_output_tokens');
      assert.match(
        err.message,
        /^400 max_output_tokens is too large: 4000\. This model supports at most 1000 completion tokens, whereas you provided 4000\. /,
      );
    });
  });
});
