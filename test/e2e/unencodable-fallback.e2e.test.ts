import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { apiError } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';
import { doublingSchema } from '../support/json-schemas';

/**
 * Found by an independent check (recheck31b D3, a regression of c5a0d4e): a tool set over Gemini's schema bounds (all of
 * one request's schemas past 50,000 nodes; one schema past 10,000) was a 400 for the whole model group, so the group's
 * OpenAI-format or Anthropic deployment, which takes the schemas as sent, was never asked. A deployment whose adapter
 * cannot encode the request is now passed over (no breaker verdict, no charge) for the next; the 400 comes only when
 * none takes the request.
 */
const TOOLS = Array.from({ length: 200 }, (_, i) => ({
  type: 'function' as const,
  function: { name: `t${i}`, parameters: doublingSchema(12) },
}));
const ANTHROPIC_TOOLS = TOOLS.map((t) => ({ name: t.function.name, input_schema: { type: 'object' as const, ...t.function.parameters } }));
const BOUND = /more than 50000 schema nodes in all/;

describe('a request one deployment cannot encode goes to the next deployment of its group (fake vendors)', () => {
  const vendors = new FakeVendors();
  const served = vendors.serveGroups(
    [
      ['gem-oa', ['gem', 'g-oa'], ['oa', 'o-gem']],
      ['gem-ant', ['gem', 'g-ant'], ['ant', 'a-gem']],
      ['gem-gem', ['gem', 'g-1'], ['gem', 'g-2']],
    ],
    { deployment: { maxOutputTokens: 1000, capabilities: ['tools', 'json'] }, clientOptions: { maxRetries: 0 } },
  );
  const skips = (model: string) => served.gateway.metric('gateway_deployment_skips_total', `model="${model}",reason="cannot_encode"`);

  it('chat, whole and streamed: the OpenAI-format deployment serves the tools Gemini cannot take; Gemini is not failed', async () => {
    for (const stream of [false, true]) {
      const before = { gem: vendors.asked('g-oa'), oa: vendors.asked('o-gem') };
      const { data, response } = await served.client.chat.completions
        .create({ model: 'gem-oa', stream, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS })
        .withResponse();
      if (stream) for await (const chunk of data as AsyncIterable<unknown>) assert.ok(chunk);
      assert.equal(response.status, 200, `stream=${stream}`);
      assert.equal(vendors.asked('g-oa'), before.gem, 'nothing sent to Gemini');
      assert.equal(vendors.asked('o-gem'), before.oa + 1, 'sent to the OpenAI-format deployment');
      assert.equal(response.headers.get('x-gateway-fallbacks'), 'gem-oa/0=invalid_value');
    }
    assert.equal(await skips('gem-oa'), 2);
    // No breaker verdict: Gemini is still closed and takes the next request that it can encode.
    assert.equal(await served.gateway.metric('gateway_circuit_breaker_state', 'deployment="gem-oa/0"'), 0);
    const res = await served.client.chat.completions
      .create({ model: 'gem-oa', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(res.response.headers.get('x-gateway-fallbacks'), null);
    assert.equal(res.response.headers.get('x-gateway-deployment'), 'gem-oa/0');
  });

  it('Messages: the Anthropic deployment serves them (Anthropic SDK)', async () => {
    const anthropic = new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    const before = vendors.asked('a-gem');
    const message = await anthropic.messages.create({
      model: 'gem-ant',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
      tools: ANTHROPIC_TOOLS,
    });
    assert.equal(message.type, 'message');
    assert.equal(vendors.asked('a-gem'), before + 1);
    assert.equal(vendors.asked('g-ant'), 0);
  });

  it('no deployment takes it: the 400 names the bound, in the caller`s shape, and nothing is sent', async () => {
    const err = await apiError(
      served.client.chat.completions.create({ model: 'gem-gem', messages: [{ role: 'user', content: 'x' }], tools: TOOLS }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, BOUND);
    assert.match(err.param ?? '', /^tools\[\d+\]\.function\.parameters$/);
    assert.equal(err.headers?.get('x-gateway-fallbacks'), 'gem-gem/0=invalid_value, gem-gem/1=invalid_value');
    assert.equal(vendors.asked('g-1') + vendors.asked('g-2'), 0);
    const anthropic = new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    const refused = await anthropic.messages
      .create({
        model: 'gem-gem',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'x' }],
        tools: ANTHROPIC_TOOLS,
      })
      .then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
    assert.ok(refused instanceof Anthropic.APIError, String(refused));
    assert.equal(refused.status, 400);
    const body = refused.error as { type?: string; error?: { type?: string; message?: string } };
    assert.equal(body.error?.type, 'invalid_request_error');
    assert.match(body.error?.message ?? '', BOUND);
  });
});
