import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { apiError } from '../support/chat';
import { FakeGemini } from '../support/fake-gemini';
import { doublingSchema } from '../support/json-schemas';
import { model, useVendorGateway } from '../support/vendor-contract';

/**
 * Found by an independent check (fair31): 200 tools whose schemas fan out through $refs, each under the 10,000 nodes
 * of one schema, made a 230 KB request that the gateway inlined into 36 MB on the event loop (/health waited 3-7 s) and
 * sent to Gemini. The request's schemas are now bounded together: a 400 in the caller's protocol, nothing sent upstream.
 */
const KEY = 'AIza-upstream-secret-31';
const TOOLS = 200;

describe('the JSON schemas of one Gemini-bound request are bounded together (fake Gemini API)', () => {
  const upstream = new FakeGemini(KEY);
  const client = useVendorGateway('gemini', upstream, KEY, 'gemini', [model('gemini-tools')]);
  const anthropic = () => new Anthropic({ baseURL: client().baseURL.replace(/\/v1$/, ''), apiKey: 'test-client-key', maxRetries: 0 });
  const bound = /more than 50000 schema nodes in all/;

  it('chat: 200 fan-out tools are a 400 naming the bound and a tool, not sent; the gateway answers after', async () => {
    const sent = upstream.received.length;
    const err = await apiError(
      client().chat.completions.create({
        model: 'gemini-tools',
        messages: [{ role: 'user', content: 'x' }],
        tools: Array.from({ length: TOOLS }, (_, i) => ({ type: 'function', function: { name: `t${i}`, parameters: doublingSchema(12) } })),
      }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, bound);
    assert.match(err.param ?? '', /^tools\[\d+\]\.function\.parameters$/);
    assert.equal(upstream.received.length, sent, 'nothing sent upstream');
    const res = await client().chat.completions.create({ model: 'gemini-tools', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.choices[0].finish_reason, 'stop');
  });

  it('Messages: the same tools are a 400 in Anthropic`s shape naming the bound', async () => {
    const sent = upstream.received.length;
    const err = await anthropic()
      .messages.create({
        model: 'gemini-tools',
        max_tokens: 16,
        messages: [{ role: 'user', content: 'x' }],
        tools: Array.from({ length: TOOLS }, (_, i) => ({
          name: `t${i}`,
          input_schema: { type: 'object' as const, ...doublingSchema(12) },
        })),
      })
      .then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof Anthropic.APIError, String(err));
    assert.equal(err.status, 400);
    const body = err.error as { type?: string; error?: { type?: string; message?: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error?.type, 'invalid_request_error');
    assert.match(body.error?.message ?? '', bound);
    assert.equal(upstream.received.length, sent, 'nothing sent upstream');
  });
});
