import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { settle } from '../support/cache';
import { DRAWN } from '../support/fake-openai';
import { FakeVendors } from '../support/fake-vendors';

// Found by an independent check (media34): audio and images sent as a file were estimated at a PDF's 16 bytes a token
// (D1: ~60x for audio, a 128k model refused context_length_exceeded without asking); Gemini's translation refused
// audio types Google lists (D2); an image in an answer was dropped silently, 200 with the text alone, and cached (D3);
// a cache hit lost an OpenAI-format answer's `images` whenever a stream stored or replayed it (D4); a request with an
// image by URL was answered from the cache after the picture behind the URL changed (D5).

const vendors = new FakeVendors();
// A 2,000-token window: 64,000 bytes at a PDF's rate are 4,000 tokens, as audio or an image well under.
const served = vendors.serveGroups(
  [
    ['gem', ['gem', 'gemini-echo']],
    ['gem-image', ['gem', 'gemini-image']],
    ['drawn', ['oa', 'drawn']],
    ['oa', ['oa', 'ok']],
  ],
  {
    deployment: { maxOutputTokens: 100, contextWindow: 2_000, capabilities: ['vision', 'audio'] },
    config: { cache: { enabled: true, semantic: { enabled: false } } },
    clientOptions: { maxRetries: 0 },
  },
);
const anthropic = () => new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
const BYTES = Buffer.alloc(64_000, 7).toString('base64');

/** The error a request ended with (thrown, or an error event of its stream), as text; '' when it ended well. */
async function failure(run: () => Promise<unknown>): Promise<string> {
  try {
    const answer = await run();
    if (answer && typeof answer === 'object' && Symbol.asyncIterator in answer) {
      const events = [];
      for await (const event of answer as AsyncIterable<unknown>) events.push(event);
      return JSON.stringify(events.filter((e) => /"type":"(error|response\.failed)"/.test(JSON.stringify(e))));
    }
    return '';
  } catch (err) {
    return `${(err as { status?: number }).status} ${(err as Error).message}`;
  }
}

describe('media34: media in requests and answers', () => {
  const chatFile = (model: string, dataUrl: string) =>
    served.client.chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'file', file: { file_data: dataUrl } },
          ],
        },
      ],
    });
  const responsesFile = (dataUrl: string, filename: string) =>
    served.client.responses.create({
      model: 'gem',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is this?' },
            { type: 'input_file', file_data: dataUrl, filename },
          ],
        },
      ],
    });

  it('D1: audio and images sent as a file are estimated as audio and images, not at a PDF`s 16 bytes a token', async () => {
    const wav = await chatFile('gem', `data:audio/wav;base64,${BYTES}`);
    assert.match(wav.choices[0].message.content ?? '', /^echo/);
    assert.equal((await responsesFile(`data:audio/mp3;base64,${BYTES}`, 'a.mp3')).status, 'completed');
    assert.equal((await responsesFile(`data:image/png;base64,${BYTES}`, 'a.png')).status, 'completed');
    // A PDF of the same size is still counted at 16 bytes a token: over the window, refused without asking.
    const asked = vendors.gemini.received.length;
    const pdf = await chatFile('gem', `data:application/pdf;base64,${BYTES}`).catch((e: unknown) => e);
    assert.ok(pdf instanceof OpenAI.APIError, String(pdf));
    assert.deepEqual([pdf.status, pdf.code], [400, 'context_length_exceeded']);
    assert.equal(vendors.gemini.received.length, asked);
  });

  it('D2: Gemini takes the audio types Google lists, sent as named', async () => {
    for (const type of ['audio/mp3', 'audio/flac', 'audio/ogg', 'audio/aac', 'audio/aiff']) {
      const answer = await chatFile('gem', `data:${type};base64,UklGRg==`).catch((e: unknown) => e);
      assert.ok(!(answer instanceof Error), `${type}: ${String(answer)}`);
      const parts = (vendors.gemini.last().body.contents as { parts: { inlineData?: { mimeType: string } }[] }[])[0].parts;
      assert.equal(parts.find((p) => p.inlineData)?.inlineData?.mimeType, type);
    }
  });

  it('D3: an image in a Gemini answer is a 502 naming it on every route, streamed or not, and not cached', async () => {
    const asked = vendors.asked('gemini-image');
    const messages = [{ role: 'user' as const, content: 'draw a chart' }];
    const outcomes = {
      chat: await failure(() => served.client.chat.completions.create({ model: 'gem-image', messages })),
      'chat again': await failure(() => served.client.chat.completions.create({ model: 'gem-image', messages })),
      'chat stream': await failure(() => served.client.chat.completions.create({ model: 'gem-image', messages, stream: true })),
      messages: await failure(() => anthropic().messages.create({ model: 'gem-image', max_tokens: 50, messages })),
      'messages stream': await failure(() => anthropic().messages.create({ model: 'gem-image', max_tokens: 50, messages, stream: true })),
      responses: await failure(() => served.client.responses.create({ model: 'gem-image', input: 'draw a chart' })),
      'responses stream': await failure(() => served.client.responses.create({ model: 'gem-image', input: 'draw a chart', stream: true })),
    };
    for (const [route, outcome] of Object.entries(outcomes)) assert.match(outcome, /answered with an image \(image\/png\)/, route);
    assert.match(outcomes.chat, /^502 /);
    assert.equal(vendors.asked('gemini-image'), asked + 7, 'each asked upstream once: no retry, no hit');
  });

  it('D3: the Messages and Responses APIs refuse an OpenAI-format answer`s images; chat passes them on', async () => {
    const messages = [{ role: 'user' as const, content: 'draw a cat (D3)' }];
    const chat = await served.client.chat.completions.create({ model: 'drawn', messages });
    assert.deepEqual((chat.choices[0].message as { images?: unknown }).images, DRAWN);
    const outcomes = {
      messages: await failure(() => anthropic().messages.create({ model: 'drawn', max_tokens: 50, messages })),
      'messages stream': await failure(() => anthropic().messages.create({ model: 'drawn', max_tokens: 50, messages, stream: true })),
      responses: await failure(() => served.client.responses.create({ model: 'drawn', input: 'draw a cat (D3)' })),
      'responses stream': await failure(() => served.client.responses.create({ model: 'drawn', input: 'draw a cat (D3)', stream: true })),
    };
    for (const [route, outcome] of Object.entries(outcomes)) assert.match(outcome, /answered with an image \(`images`\)/, route);
  });

  it('D4: a cache hit keeps an OpenAI-format answer`s images, whole or streamed, however it was stored', async () => {
    const whole = (content: string) =>
      served.client.chat.completions.create({ model: 'drawn', messages: [{ role: 'user', content }] }).withResponse();
    const streamed = async (content: string) => {
      const { data, response } = await served.client.chat.completions
        .create({ model: 'drawn', stream: true, messages: [{ role: 'user', content }] })
        .withResponse();
      const images: unknown[] = [];
      for await (const chunk of data) images.push(...((chunk.choices[0]?.delta as { images?: unknown[] } | undefined)?.images ?? []));
      return { cache: response.headers.get('x-gateway-cache'), images };
    };
    const first = await whole('draw a dog, whole first');
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    await settle();
    assert.deepEqual(await streamed('draw a dog, whole first'), { cache: 'hit-exact', images: DRAWN });

    assert.deepEqual(await streamed('draw a dog, streamed first'), { cache: 'miss', images: DRAWN });
    await settle();
    const hit = await whole('draw a dog, streamed first');
    assert.equal(hit.response.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual((hit.data.choices[0].message as { images?: unknown }).images, DRAWN);
    assert.deepEqual(await streamed('draw a dog, streamed first'), { cache: 'hit-exact', images: DRAWN });
  });

  it('D5: a request with an image by URL bypasses the cache; one with the image inline is cached', async () => {
    const ask = async (url: string) => {
      const content: OpenAI.ChatCompletionContentPart[] = [
        { type: 'text', text: 'what changed?' },
        { type: 'image_url', image_url: { url } },
      ];
      const { response } = await served.client.chat.completions
        .create({ model: 'oa', messages: [{ role: 'user', content }] })
        .withResponse();
      await settle();
      return response.headers.get('x-gateway-cache');
    };
    const remote = 'https://grafana.example.com/render/latest.png';
    assert.deepEqual([await ask(remote), await ask(remote)], ['bypass', 'bypass']);
    const inline = `data:image/png;base64,${Buffer.from('a picture').toString('base64')}`;
    assert.deepEqual([await ask(inline), await ask(inline)], ['miss', 'hit-exact']);
  });
});
