import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheConfig } from '../../libs/config/src/cache-config';
import { cacheableCompletion, cacheableRequest, keptSeconds, servableAnswer } from '../../libs/cache/src/policy';

function answer(message: object, finish_reason: string): string {
  const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
  return JSON.stringify({
    id: 'c',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message, finish_reason }],
    usage,
  });
}

const CALL = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };

// Found by an independent check: an answer was judged by its finish reason alone, so tool calls
// a server ended with `stop` were stored and replayed (stale call ids), and so were refusals.
describe('what the cache stores', () => {
  const config = new CacheConfig();
  const withTools = Object.assign(new CacheConfig(), { toolCallResponses: true });

  it('stores a complete text answer, and one cut at its length limit', () => {
    assert.deepEqual(cacheableCompletion(answer({ role: 'assistant', content: 'Hi' }, 'stop'), config), {
      promptTokens: 5,
      completionTokens: 3,
    });
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: 'Hi, I' }, 'length'), config));
  });

  it('never stores tool calls by default, whatever the finish reason; with toolCallResponses, only complete ones', () => {
    for (const finish of ['stop', 'tool_calls', 'length']) {
      assert.equal(
        cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [CALL] }, finish), config),
        undefined,
        finish,
      );
    }
    assert.equal(
      cacheableCompletion(answer({ role: 'assistant', content: null, function_call: CALL.function }, 'stop'), config),
      undefined,
    );
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [CALL] }, 'tool_calls'), withTools));
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [CALL] }, 'stop'), withTools));
    assert.equal(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [CALL] }, 'length'), withTools), undefined);
  });

  // Found by an independent check: a tool call whose arguments were no JSON ('{"city": "Par', a model's
  // glitch or a cut generation) was stored and replayed to every retry for the whole TTL.
  it('with toolCallResponses, stores tool calls only when the arguments of every function call are a JSON object (or none)', () => {
    const call = (args: string, id = 'call_1') => ({ ...CALL, id, function: { ...CALL.function, arguments: args } });
    for (const bad of ['{"city": "Par', '{}}', 'null', '[1]', '"Paris"']) {
      assert.equal(
        cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [call(bad)] }, 'tool_calls'), withTools),
        undefined,
        bad,
      );
      const legacy = { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: bad } };
      assert.equal(cacheableCompletion(answer(legacy, 'function_call'), withTools), undefined, bad);
    }
    // One broken call among good ones is enough.
    const mixed = { role: 'assistant', content: null, tool_calls: [call('{}'), call('{"city":', 'call_2')] };
    assert.equal(cacheableCompletion(answer(mixed, 'tool_calls'), withTools), undefined);
    assert.ok(
      cacheableCompletion(
        answer({ role: 'assistant', content: null, tool_calls: [call('{}'), call(' {"a": [1]} ', 'call_2')] }, 'tool_calls'),
        withTools,
      ),
    );
    // No arguments at all, as some servers send a call without any (the codecs read it as {}).
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [call('')] }, 'tool_calls'), withTools));
    // A custom tool's call carries free text, not JSON.
    const custom = { id: 'call_3', type: 'custom', custom: { name: 'shell', input: 'ls -la' } };
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [custom] }, 'tool_calls'), withTools));
  });

  // Found by an independent check: an empty answer (a model's glitch, or a reasoning model that spent its whole
  // max_tokens thinking: `length` with no text) was stored and replayed to every ask for the TTL.
  it('never stores an answer with nothing in it: no text (or only blanks), no call, no audio', () => {
    for (const [content, reason] of [
      [null, 'stop'],
      ['', 'stop'],
      [' \n', 'stop'],
      ['', 'length'],
      [null, 'length'],
    ] as const)
      assert.equal(
        cacheableCompletion(answer({ role: 'assistant', content }, reason), config),
        undefined,
        `${JSON.stringify(content)} ${reason}`,
      );
    const audio = { role: 'assistant', content: null, audio: { id: 'a', data: 'UklGR', transcript: 'Hi', expires_at: 4_000_000_000 } };
    assert.ok(cacheableCompletion(answer(audio, 'stop'), config), 'an audio answer has something in it');
    assert.ok(cacheableCompletion(answer({ role: 'assistant', content: null, tool_calls: [CALL] }, 'tool_calls'), withTools));
  });

  // Found while fixing cache29's audio replay: a later turn refers to an audio answer by its id, which OpenAI keeps
  // until the audio's expires_at; an entry kept longer handed out an id OpenAI no longer knew.
  it('keeps an audio answer no longer than its audio, and stores none already expired', () => {
    const now = 1_800_000_000;
    const spoken = (expires_at: number) =>
      answer({ role: 'assistant', content: null, audio: { id: 'a', data: 'UklGR', transcript: 'Hi', expires_at } }, 'stop');
    assert.equal(cacheableCompletion(spoken(now - 1), config, now), undefined);
    const stored = cacheableCompletion(spoken(now + 600), config, now);
    assert.deepEqual(stored, { promptTokens: 5, completionTokens: 3, expiresAt: now + 600 });
    assert.equal(keptSeconds(3_600, stored!.expiresAt, now), 600);
    assert.equal(keptSeconds(300, stored!.expiresAt, now), 300);
    assert.equal(keptSeconds(3_600, undefined, now), 3_600);
  });

  it('never stores a refusal', () => {
    assert.equal(
      cacheableCompletion(answer({ role: 'assistant', content: null, refusal: "I can't help with that" }, 'stop'), config),
      undefined,
    );
  });
});

// change30 D4: cache.toolCallResponses turned off (a rolling restart) still served the tool-call answers stored
// while it was on, for the rest of their TTL: the setting was checked only when storing.
describe('what the cache serves', () => {
  const config = new CacheConfig();
  const withTools = Object.assign(new CacheConfig(), { toolCallResponses: true });
  const text = answer({ role: 'assistant', content: 'Hi', tool_calls: null }, 'stop');
  const calling = answer({ role: 'assistant', content: null, tool_calls: [CALL] }, 'tool_calls');
  const legacy = answer({ role: 'assistant', content: null, function_call: CALL.function }, 'function_call');

  it('a stored tool call only while toolCallResponses is on; a text answer either way', () => {
    assert.deepEqual(
      [text, calling, legacy].map((body) => [servableAnswer(body, config), servableAnswer(body, withTools)]),
      [
        [true, true],
        [false, true],
        [false, true],
      ],
    );
  });
});

// Found by an independent check (media34 D5): the key holds an image's URL, not the picture the vendor fetches, so a
// picture changed behind the same URL was answered from the cache about the old one.
describe('what the cache looks up: an image by URL', () => {
  const ask = (url: string) =>
    ({
      model: 'm',
      messages: [
        { role: 'user', content: 'first turn' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'and this?' },
            { type: 'image_url', image_url: { url } },
          ],
        },
      ],
    }) as Parameters<typeof cacheableRequest>[0];
  const remote = 'https://example.com/latest.png';

  it('bypasses the cache by default, whatever turn the URL is in; an inline image does not', () => {
    assert.equal(cacheableRequest(ask(remote), new CacheConfig()), false);
    assert.equal(cacheableRequest(ask('http://example.com/a.png'), new CacheConfig()), false);
    assert.equal(cacheableRequest({ ...ask(remote), messages: [...ask(remote).messages].reverse() }, new CacheConfig()), false);
    assert.equal(cacheableRequest(ask('data:image/png;base64,iVBORw0KGgo='), new CacheConfig()), true);
  });

  // Found by the session's re-check (recheck34c D1): the bare-string form vLLM takes (`"image_url": "https://…"`), and
  // its video_url / audio_url parts, were cached keyed by the URL.
  it('bypasses it for an image, a video or an audio part by URL in the object or the bare-string form', () => {
    const withPart = (part: object) =>
      ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'this?' }, part] }] }) as Parameters<
        typeof cacheableRequest
      >[0];
    for (const type of ['image_url', 'video_url', 'audio_url']) {
      assert.equal(cacheableRequest(withPart({ type, [type]: remote }), new CacheConfig()), false, `${type} as a string`);
      assert.equal(cacheableRequest(withPart({ type, [type]: { url: remote } }), new CacheConfig()), false, `${type} as an object`);
      assert.equal(cacheableRequest(withPart({ type, [type]: 'DATA:image/png;base64,iVBORw0KGgo=' }), new CacheConfig()), true);
    }
  });

  it('is cached, keyed by the URL, with remoteMediaUrls', () => {
    assert.equal(cacheableRequest(ask(remote), Object.assign(new CacheConfig(), { remoteMediaUrls: true })), true);
  });
});
