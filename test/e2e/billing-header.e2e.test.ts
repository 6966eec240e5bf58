import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { FakeVendors } from '../support/fake-vendors';

/** Claude Code's first system block: its version, with a suffix and a hash that change from session to session. */
const header = (session: string) => `x-anthropic-billing-header: cc_version=2.1.332.${session}; cc_entrypoint=cli; cch=${session}00;`;
const PROMPT = "You are Claude Code, Anthropic's official CLI for Claude.";
/** A system as Claude Code sends it: the header block, then its prompt (cache_control on it). */
const system = (first: string): Anthropic.TextBlockParam[] => [
  { type: 'text', text: first },
  { type: 'text', text: PROMPT, cache_control: { type: 'ephemeral' } },
];

/**
 * Claude Code's `x-anthropic-billing-header` block is meaningful to Anthropic only: translated for another vendor
 * it was sent as the first line of the system prompt, tokens that change every session (so the vendor's prefix
 * cache missed on every session's prompt), and it was part of the gateway's cache key, so no session could hit
 * another's answer.
 */
describe('Claude Code`s billing header block', () => {
  const vendors = new FakeVendors();
  const served = vendors.serve(
    [
      ['oa', 'ok', 'm-oai'],
      ['gem', 'gemini-echo', 'm-gem'],
      ['ant', 'claude-echo', 'm-ant'],
    ],
    { cache: { enabled: true, semantic: { enabled: false } } },
  );
  const ask = (model: string, blocks: Anthropic.TextBlockParam[], content: string) =>
    new Anthropic({ baseURL: served.gateway.url, apiKey: 'unused', maxRetries: 0 }).messages
      .create({ model, max_tokens: 100, system: blocks, messages: [{ role: 'user', content }] })
      .withResponse();
  /** The system prompt the fake OpenAI-format upstream got last. */
  const openAiSystem = () => (vendors.openai.received.at(-1)?.body.messages as { role: string; content: unknown }[])[0];

  it('is dropped when translated for an OpenAI-format or Gemini upstream, and sent to Anthropic as it came', async () => {
    await ask('m-oai', system(header('a1b')), 'to OpenAI?');
    assert.deepEqual(openAiSystem(), { role: 'system', content: PROMPT });

    await ask('m-gem', system(header('a1b')), 'to Gemini?');
    const instruction = vendors.gemini.received.at(-1)?.body.systemInstruction as { parts: { text: string }[] };
    assert.deepEqual(
      instruction.parts.map((part) => part.text),
      [PROMPT],
    );

    await ask('m-ant', system(header('a1b')), 'to Anthropic?');
    assert.deepEqual(vendors.anthropic.received.at(-1)?.body.system, system(header('a1b')));
  });

  it('only that block, whole: any other text, and the header after the first block, is sent as it came', async () => {
    for (const first of [
      `${header('c2d')}\nAnd a second line.`,
      `Note: ${header('c2d')}`,
      'x-anthropic-billing-header: something else',
      'x-anthropic-billing-header: cc_entrypoint=cli; cc_version=2.1.332.c2d;',
    ]) {
      await ask('m-oai', system(first), 'kept?');
      assert.deepEqual(openAiSystem(), { role: 'system', content: `${first}\n\n${PROMPT}` }, first);
    }
    await ask(
      'm-oai',
      [
        { type: 'text', text: PROMPT },
        { type: 'text', text: header('c2d') },
      ],
      'kept after the prompt?',
    );
    assert.deepEqual(openAiSystem(), { role: 'system', content: `${PROMPT}\n\n${header('c2d')}` });
  });

  it('is no part of the cache key: a later session (another header) is served the answer an earlier one stored', async () => {
    const first = await ask('m-oai', system(header('e3f')), 'Cache me across sessions.');
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    // The answer is stored after it is sent: asked again (each time as a new session) until it is, a bounded number of times.
    const results: (string | null)[] = [];
    for (let session = 0; session < 20 && results.at(-1) !== 'hit-exact'; session++) {
      const again = await ask('m-oai', system(header(`s${session}`)), 'Cache me across sessions.');
      assert.equal(again.data.type, 'message');
      results.push(again.response.headers.get('x-gateway-cache'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(results.at(-1), 'hit-exact', results.join(', '));
  });
});
