import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type OpenAI from 'openai';
import { ChatCompletionStream } from 'openai/lib/ChatCompletionStream';
import { ask, metric, settle } from '../support/cache';
import { audioAnswer, CITATIONS } from '../support/fake-openai';
import { configWith, gatewayWithFakeUpstream } from '../support/gateway';

type Params = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'messages'>;

/**
 * What a hit gives back beyond text, whole or streamed, read through the official SDK (its stream helper
 * joins a stream as OpenAI's own clients do), and the headers a hit has.
 */
describe('response cache: a hit gives back the whole answer, audio and citations included, whole or streamed', () => {
  const setup = gatewayWithFakeUpstream((baseUrl) =>
    configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
      models: [
        { name: 'voice', deployments: [{ provider: 'fake', model: 'audio' }] },
        { name: 'voice-expired', deployments: [{ provider: 'fake', model: 'audio-expired' }] },
        { name: 'search', deployments: [{ provider: 'fake', model: 'cited' }] },
        { name: 'search-every', deployments: [{ provider: 'fake', model: 'cited-every' }] },
        { name: 'short', deployments: [{ provider: 'fake', model: 'length' }] },
      ],
      virtualModels: [{ name: 'auto', default: 'short', rules: [{ name: 'news', match: { keywords: ['news'] }, model: 'search' }] }],
      cache: { enabled: true, semantic: { enabled: false } },
    }),
  );
  const SPOKEN: Params = { model: 'voice', modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'pcm16' } };

  /** An answer's audio with its data as a digest: a failure prints 40,000 characters of base64 otherwise. */
  const heard = (audio: OpenAI.ChatCompletionAudio | null | undefined) =>
    audio && { ...audio, data: `${audio.data.length} chars, sha256 ${createHash('sha256').update(audio.data).digest('hex')}` };

  /** A streamed answer as the SDK's stream helper assembles it, the chunks it came in, and the response headers. */
  async function askStreamed(content: string, params: Params) {
    const { data, response } = await setup.gateway
      .client()
      .chat.completions.create({ ...params, stream: true, messages: [{ role: 'user', content }] })
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const stream = ChatCompletionStream.fromReadableStream(data.toReadableStream());
    stream.on('chunk', (chunk) => chunks.push(chunk));
    return { headers: response.headers, completion: await stream.finalChatCompletion(), chunks };
  }

  // Found by an independent check (cache29): an audio answer stored from a whole request was replayed to a streamed
  // one as an empty answer (a role chunk, `stop`, [DONE]); one streamed was not stored (its audio was not read).
  it('an audio answer: stored whole, a streamed hit carries it as OpenAI streams it; stored from a stream, a whole hit has it', async () => {
    const client = setup.gateway.client();
    const whole = await ask(client, 'Say hello, whole first.', SPOKEN);
    assert.equal(whole.cache, 'miss');
    assert.deepEqual(heard(whole.completion.choices[0].message.audio), heard(audioAnswer('Say hello, whole first.')));
    await settle();
    const replayed = await askStreamed('Say hello, whole first.', SPOKEN);
    assert.equal(replayed.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual(heard(replayed.completion.choices[0].message.audio), heard(whole.completion.choices[0].message.audio));
    assert.equal(replayed.completion.choices[0].finish_reason, 'stop');
    const data = replayed.chunks.flatMap((c) => (c.choices[0]?.delta as { audio?: { data?: string } }).audio?.data ?? []);
    assert.ok(data.length > 1, 'the data in pieces');
    for (const piece of data) assert.equal(Buffer.from(piece, 'base64').toString('base64'), piece, 'each piece decodes on its own');

    const streamed = await askStreamed('Say hello, streamed first.', SPOKEN);
    assert.equal(streamed.headers.get('x-gateway-cache'), 'miss');
    assert.deepEqual(heard(streamed.completion.choices[0].message.audio), heard(audioAnswer('Say hello, streamed first.')));
    await settle();
    const hit = await ask(client, 'Say hello, streamed first.', SPOKEN);
    assert.equal(hit.cache, 'hit-exact');
    assert.deepEqual(heard(hit.completion.choices[0].message.audio), heard(streamed.completion.choices[0].message.audio));
  });

  // Found while fixing the above: a later turn refers to an audio answer by its id, which OpenAI keeps until the
  // audio's expires_at; an entry kept past it (a TTL longer than the audio's life) handed out an id OpenAI forgot.
  it('an audio answer whose audio has expired is not stored, whole or streamed', async () => {
    const client = setup.gateway.client();
    const expired: Params = { ...SPOKEN, model: 'voice-expired' };
    const notCacheable = () => metric(setup.gateway, 'gateway_cache_stores_total{result="not_cacheable"}');
    const before = await notCacheable();
    assert.equal((await ask(client, 'Say goodbye, whole.', expired)).cache, 'miss');
    assert.equal((await askStreamed('Say goodbye, streamed.', expired)).headers.get('x-gateway-cache'), 'miss');
    await settle();
    assert.equal((await ask(client, 'Say goodbye, whole.', expired)).cache, 'miss');
    assert.equal((await ask(client, 'Say goodbye, streamed.', expired)).cache, 'miss');
    assert.equal((await notCacheable()) - before, 4);
  });

  // Found by an independent check (cache29): a web search's url_citation annotations were dropped from an answer
  // stored from a stream, and from a whole answer replayed as a stream.
  it('url_citation annotations: kept from a stream for a whole hit, and replayed to a streamed hit', async () => {
    const client = setup.gateway.client();
    const params: Params = { model: 'search', web_search_options: {} };
    assert.equal((await askStreamed('Latest news, streamed first.', params)).headers.get('x-gateway-cache'), 'miss');
    await settle();
    const hit = await ask(client, 'Latest news, streamed first.', params);
    assert.equal(hit.cache, 'hit-exact');
    assert.deepEqual(hit.completion.choices[0].message.annotations, CITATIONS);

    assert.deepEqual((await ask(client, 'Latest news, whole first.', params)).completion.choices[0].message.annotations, CITATIONS);
    await settle();
    const replayed = await askStreamed('Latest news, whole first.', params);
    assert.equal(replayed.headers.get('x-gateway-cache'), 'hit-exact');
    assert.deepEqual(replayed.completion.choices[0].message.annotations, CITATIONS);
    assert.equal(replayed.completion.choices[0].message.content, 'fake answer to: Latest news, whole first.');
  });

  // Found by an independent check (recheck29b): with the citations so far in every chunk (Perplexity, OpenRouter),
  // the stored answer joined every chunk's list, each citation as many times as there were chunks.
  it('citations sent with every chunk are stored once each, as the SDK keeps them from the live stream', async () => {
    const params: Params = { model: 'search-every' };
    const live = await askStreamed('Latest news, cited in every chunk.', params);
    assert.equal(live.headers.get('x-gateway-cache'), 'miss');
    assert.ok(live.chunks.filter((c) => (c.choices[0]?.delta as { annotations?: unknown }).annotations).length > 2);
    assert.deepEqual(live.completion.choices[0].message.annotations, CITATIONS);
    await settle();
    const hit = await ask(setup.gateway.client(), 'Latest news, cited in every chunk.', params);
    assert.equal(hit.cache, 'hit-exact');
    assert.deepEqual(hit.completion.choices[0].message.annotations, CITATIONS);
    const replayed = await askStreamed('Latest news, cited in every chunk.', params);
    assert.deepEqual(replayed.completion.choices[0].message.annotations, CITATIONS);
  });

  // Found by an independent check (cache29): a hit had no x-gateway-model-group, so with a virtual model its client
  // could not tell which group answered; nor x-gateway-route, nor the rule in its access line.
  it('a hit names the model group and, for a virtual model, the task rule, in its headers and access line', async () => {
    const client = setup.gateway.client();
    const content = 'Any news about the weather?';
    const miss = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content }] }).withResponse();
    assert.equal(miss.response.headers.get('x-gateway-model-group'), 'search');
    await settle();
    const hit = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content }] }).withResponse();
    const streamed = await askStreamed(content, { model: 'auto' });
    for (const headers of [hit.response.headers, streamed.headers]) {
      assert.equal(headers.get('x-gateway-cache'), 'hit-exact');
      assert.equal(headers.get('x-gateway-model-group'), 'search');
      assert.equal(headers.get('x-gateway-route'), 'auto; rule=news');
      assert.equal(headers.get('x-gateway-deployment'), null, 'no deployment was asked');
    }
    const logged = await setup.gateway.logged('request', {
      where: (l) => l.cache === 'hit-exact' && l.taskRoute === 'auto:news',
      count: 2,
    });
    assert.equal(logged.length, 2);
    for (const line of logged) assert.equal(line.model, 'search');
  });

  // The README's choice (cache29 doubtful point): an answer cut at the output limit is stored; the limit is part of the
  // key, so the same request would be cut again. Its hit says so, whole or streamed.
  it('an answer cut at the output limit is stored and replayed with finish_reason length', async () => {
    const client = setup.gateway.client();
    const params: Params = { model: 'short', max_tokens: 5 };
    assert.equal((await ask(client, 'Tell me a long story.', params)).completion.choices[0].finish_reason, 'length');
    await settle();
    const hit = await ask(client, 'Tell me a long story.', params);
    assert.equal(hit.cache, 'hit-exact');
    assert.equal(hit.completion.choices[0].finish_reason, 'length');
    const streamed = await askStreamed('Tell me a long story.', params);
    assert.equal(streamed.headers.get('x-gateway-cache'), 'hit-exact');
    assert.equal(streamed.completion.choices[0].finish_reason, 'length');
    assert.equal((await ask(client, 'Tell me a long story.', { ...params, max_tokens: 500 })).cache, 'miss', 'another limit, another key');
  });
});
