import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type OpenAI from 'openai';
import { assertUsageFields, collect } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';

/**
 * OpenAI's `stream_options.include_usage`: asked, every chunk but the usage chunk has `"usage": null`; not
 * asked, no chunk has a usage field. Found by an independent check: from an OpenAI-format upstream, which the
 * gateway asks for usage whether the client did or not, the chunks went out with the `"usage":null` of that
 * request. Each provider type through the chat route, read by the official SDK and as the bytes sent.
 */
const vendors = new FakeVendors();
const served = vendors.serve([
  ['oa', 'ok', 'oa-x'],
  ['ant', 'claude-echo', 'ant-x'],
  ['gem', 'gemini-echo', 'gem-x'],
]);
const MODELS = ['oa-x', 'ant-x', 'gem-x', 'mock'];

/** The JSON of each data event a raw stream sent, `[DONE]` aside. */
function dataEvents(text: string): Record<string, unknown>[] {
  return text
    .split(/\n\n/)
    .map((event) => /^data: (.*)$/m.exec(event)?.[1])
    .filter((data): data is string => data !== undefined && data !== '[DONE]')
    .map((data) => JSON.parse(data) as Record<string, unknown>);
}

describe('chunks carry a usage field only when the client asked for usage, as OpenAI sends them', () => {
  for (const model of MODELS)
    for (const includeUsage of [false, true])
      it(`${model}, include_usage ${includeUsage}: the SDK's chunks and the bytes sent`, async () => {
        const body = {
          model,
          messages: [{ role: 'user' as const, content: 'stream me please' }],
          stream: true as const,
          ...(includeUsage && { stream_options: { include_usage: true } }),
        };
        const got = await collect(await served.client.chat.completions.create(body));
        assert.ok(got.text.length > 0, 'an answer streamed');
        assertUsageFields(got.chunks, includeUsage);

        const res = await fetch(`${served.gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        assert.equal(res.status, 200, text);
        assert.match(text, /data: \[DONE\]\n\n$/);
        if (!includeUsage) assert.equal(text.includes('"usage"'), false, text);
        else assertUsageFields(dataEvents(text) as unknown as OpenAI.ChatCompletionChunk[], true);
      });
});
