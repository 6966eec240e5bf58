import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type OpenAI from 'openai';
import { FakeVendors } from '../support/fake-vendors';

const vendors = new FakeVendors();
const served = vendors.serve(
  [
    ['ant', 'claude-text-number', 'claude-x'],
    ['gem', 'gemini-text-object', 'gem-x'],
    ['oa', 'mid', 'oa-x'],
  ],
  // The cache stores streamed answers, as the shipped config does: its collector reads every chunk.
  { cache: { enabled: true, semantic: { enabled: false } } },
);

/** The contents a chat stream's chunks carried, and how it ended. */
async function streamed(model: string, prompt: string) {
  const contents: unknown[] = [];
  try {
    const stream = await served.client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }], stream: true });
    for await (const chunk of stream) contents.push(chunk.choices[0]?.delta.content);
    return { contents, error: undefined };
  } catch (err) {
    return { contents, error: err as InstanceType<typeof OpenAI.APIError> };
  }
}

// Found by an independent check: Anthropic's and Gemini's streams translated to chat chunks did not check what went into
// them: a text that is a number (an object) went out in the chunk, or, with the cache storing the answer, its collector
// threw on it and the stream ended as internal_error. The Messages and Responses codecs refused the same events.
describe('a chat stream whose upstream sends a value of the wrong type', () => {
  for (const model of ['claude-x', 'gem-x']) {
    it(`${model}: ends with the upstream's invalid answer naming the field, nothing of the wrong type sent`, async () => {
      const { contents, error } = await streamed(model, 'hello gateway, how are you today?');
      assert.ok(
        contents.every((content) => content === undefined || typeof content === 'string'),
        JSON.stringify(contents),
      );
      assert.ok(error, 'the stream failed');
      assert.equal(error.code, 'upstream_invalid_response', error.message);
      assert.match(error.message, /\(`choices\[0\]\.delta\.content` is of the wrong type\)/);
    });
  }

  // The OpenAI-format stream is forwarded unread (its events only checked to be JSON objects): the client gets it as the
  // upstream sent it; the cache, which reads each chunk, stores no answer it cannot read (it threw: internal_error).
  it('an OpenAI-format stream: forwarded as it came, not stored, and no internal error', async () => {
    vendors.openai.mid =
      '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":12345}}]}';
    for (const attempt of [1, 2]) {
      const { contents, error } = await streamed('oa-x', 'the same prompt twice');
      assert.equal(error, undefined, `attempt ${attempt}: ${error?.message}`);
      assert.ok(contents.includes(12345), `attempt ${attempt}: ${JSON.stringify(contents)}`);
    }
    assert.equal(vendors.openai.received.filter((r) => r.body.model === 'mid').length, 2, 'the second was no cache hit');
    assert.ok(!served.gateway.rawOutput.some((line) => line.includes('internal_error')), 'no internal error');
  });
});
