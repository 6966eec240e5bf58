import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { readChatResult, readJsonResult, usageOf } from '../../libs/providers/src/openai/response';

const ROOT = join(__dirname, '../../..');
const BODY = readFileSync(join(ROOT, 'bench/upstream/bodies/chat_completion.json'));

describe('OpenAI JSON answers (readJsonResult)', () => {
  it('takes a whole answer, pretty or compact, with trailing whitespace, and reads its usage', () => {
    for (const body of [BODY, Buffer.from(JSON.stringify(JSON.parse(BODY.toString()))), Buffer.concat([BODY, Buffer.from(' \r\n\t\n')])]) {
      const result = readJsonResult('p', body, 'chat.completion');
      assert.equal(result.body, body);
      assert.equal(result.usage?.prompt_tokens, 9);
    }
  });

  // Found by an independent check: a 200 whose JSON the upstream cut short mid-string went to
  // the client as a 200 (its SDK failed to parse it) instead of falling back.
  it('refuses, as a retryable invalid response, every cut of an answer that no longer ends its object', () => {
    let refused = 0;
    for (let end = 1; end < BODY.length; end++) {
      const cut = BODY.subarray(0, end);
      if (cut.toString().trimEnd().endsWith('}')) continue; // cut right after an inner object: not detectable by its end
      assert.throws(
        () => readJsonResult('p', cut, 'chat.completion'),
        (err: Error & { code?: string; retryable?: boolean }) => err.code === 'upstream_invalid_response' && err.retryable === true,
        `cut at ${end}`,
      );
      refused++;
    }
    assert.ok(refused > BODY.length * 0.9, `${refused} of ${BODY.length} cuts refused`);
  });

  it('refuses an answer of another type', () => {
    assert.throws(
      () => readJsonResult('p', BODY, 'list'),
      (err: Error & { code?: string }) => err.code === 'upstream_invalid_response',
    );
  });

  // Found by an independent check: `"usage":null,"x_groq":{…}` read the server's own object as
  // the usage (NaN cost), and a space after the colon is JSON too.
  it('reads usage only where "usage" holds an object, whatever the JSON whitespace', () => {
    const answer = (tail: string) => Buffer.from(`{"object":"chat.completion","choices":[]${tail}}`);
    const cases: [string, number | undefined][] = [
      [',"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}', 3],
      [', "usage" : {"prompt_tokens": 5, "total_tokens": 5}', 5],
      [',\n  "usage":\n    {"prompt_tokens":7}', 7],
      [',"usage":null,"x_groq":{"id":"req_1","prompt_tokens":99}', undefined],
      [',"usage": null', undefined],
      ['', undefined],
      [',"usage":{"prompt_tokens":3},"x_extra":{"usage":{"prompt_tokens":1}}', 3],
      [',"usage":{"prompt_tokens":3},"note":"usage"', 3],
      [',"usage":{"prompt_tokens":3},"x":[{"content":"the \\"usage\\": {\\"prompt_tokens\\": 1}"}]', 3],
    ];
    for (const [tail, prompt] of cases)
      assert.equal(readJsonResult('p', answer(tail), 'chat.completion').usage?.prompt_tokens, prompt, tail);
  });
});

// Found by an independent check: `"choices":[null]` went out as a 200, then the cache's store threw on it and
// the process died; a `content` of another type reached the client (or the codecs' TypeError) the same way.
describe('OpenAI chat answers (readChatResult)', () => {
  const answer = (choices: unknown) => Buffer.from(JSON.stringify({ ...JSON.parse(BODY.toString()), choices }));
  const message = (fields: object) => [{ index: 0, message: { role: 'assistant', ...fields }, finish_reason: 'stop' }];

  it('takes a whole answer, its content text or a list of parts', () => {
    assert.equal(readChatResult('p', BODY).usage?.prompt_tokens, 9);
    readChatResult('p', answer(message({ content: [{ type: 'text', text: 'hi' }] })));
    readChatResult('p', answer([]));
  });

  it('refuses, naming the field, an answer whose choices or the fields the codecs read are of another type', () => {
    const cases: [unknown, string][] = [
      [[null], 'choices[0]'],
      [[7], 'choices[0]'],
      [undefined, 'choices'],
      [{}, 'choices'],
      [[{ index: 0, message: 'hi' }], 'choices[0].message'],
      [[{ index: '0', message: {} }], 'choices[0].index'],
      [message({ content: 12345 }), 'choices[0].message.content'],
      [
        message({ tool_calls: [{ id: 7, type: 'function', function: { name: 'f', arguments: '{}' } }] }),
        'choices[0].message.tool_calls[0].id',
      ],
      [
        message({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }),
        'choices[0].message.tool_calls[0].function.arguments',
      ],
    ];
    for (const [choices, field] of cases)
      assert.throws(
        () => readChatResult('p', answer(choices)),
        (err: Error & { code?: string; retryable?: boolean }) =>
          err.code === 'upstream_invalid_response' && err.retryable === true && err.message.includes(`\`${field}\``),
        field,
      );
  });

  // Found by an independent check of costs: a string count refused a good answer (502) that a stream served.
  it('takes an answer whose usage has counts that are not numbers as one without usage, its body without it', () => {
    for (const usage of [{ prompt_tokens: '100' }, { prompt_tokens: 1, completion_tokens_details: { reasoning_tokens: '120' } }]) {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(BODY.toString()), usage }));
      const result = readChatResult('p', body);
      const { usage: _dropped, ...rest } = JSON.parse(body.toString());
      assert.deepEqual([result.usage, JSON.parse(result.body.toString())], [undefined, rest]);
    }
    // Only usage: the fields the codecs read are checked as before.
    const content = Buffer.from(
      JSON.stringify({ ...JSON.parse(BODY.toString()), choices: message({ content: 7 }), usage: { prompt_tokens: '1' } }),
    );
    assert.throws(() => readChatResult('p', content), /choices\[0\]\.message\.content/);
  });

  // Found: usage without completion_tokens reached the client as it came, though the OpenAI SDK types it a number.
  it('takes an answer whose usage lacks a count as one whose body has no usage; the bill still reads the prompt`s', () => {
    for (const usage of [
      { prompt_tokens: 100, total_tokens: 100 },
      { prompt_tokens: 100, completion_tokens: null, total_tokens: 100 },
    ]) {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(BODY.toString()), usage }));
      const result = readChatResult('p', body);
      const { usage: _dropped, ...rest } = JSON.parse(body.toString());
      assert.deepEqual([result.usage?.prompt_tokens, JSON.parse(result.body.toString())], [100, rest]);
    }
  });

  it('reads the object type and the usage as the byte reads do (one parse for both)', () => {
    const usage = fc.oneof(
      fc.constant(null),
      fc.record(
        { prompt_tokens: fc.nat(), completion_tokens: fc.nat(), prompt_cache_hit_tokens: fc.nat() },
        { requiredKeys: ['prompt_tokens'] },
      ),
    );
    fc.assert(
      fc.property(fc.option(usage, { nil: undefined }), fc.boolean(), (u, pretty) => {
        const body = Buffer.from(JSON.stringify({ ...JSON.parse(BODY.toString()), usage: u }, null, pretty ? 2 : undefined));
        assert.deepEqual(readChatResult('p', body).usage, readJsonResult('p', body, 'chat.completion').usage);
      }),
      { seed: 23, numRuns: 200 },
    );
    for (const object of ['chat.completion.chunk', 'list', 7]) {
      const body = Buffer.from(JSON.stringify({ ...JSON.parse(BODY.toString()), object }));
      assert.throws(() => readChatResult('p', body), /not a chat\.completion/);
    }
  });

  it('refuses braces that hold no JSON, with the provider key taken out of the parser message', () => {
    assert.throws(
      () => readChatResult('p', Buffer.from('{"object":"chat.completion","x":sk-secret}'), 'sk-secret'),
      (err: Error & { code?: string }) => err.code === 'upstream_invalid_response' && !err.message.includes('sk-secret'),
    );
  });
});

describe('usage read from the bytes (usageAt)', () => {
  const counts = fc.letrec((tie) => ({
    object: fc.dictionary(
      fc.string({ maxLength: 12 }),
      fc.oneof({ depthSize: 'small' }, fc.nat(), fc.maxSafeNat(), fc.constant(null), tie('object')),
      {
        maxKeys: 6,
      },
    ),
  })).object;
  const anything = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });
  const spaces = fc.constantFrom(undefined, 1, 2, '\t');
  const usageOfText = (text: string) =>
    readJsonResult('p', Buffer.from(`{"object":"chat.completion","choices":[],"usage":${text}}`), 'chat.completion').usage;

  // The reader parses counts itself and hands anything else to JSON.parse: either way the
  // result must be JSON.parse's, key for key (a hand parser that drifted would misbill).
  it("gives JSON.parse's result for any object, of counts or not, pretty or compact", () => {
    fc.assert(
      fc.property(fc.oneof(counts, anything), spaces, (usage, space) => {
        const text = JSON.stringify(usage, null, space);
        assert.deepStrictEqual(usageOfText(text), JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  // Found by an independent check: the last `"usage"` anywhere was read, so a server field after
  // the usage holding an object with its own `usage` was billed, and a later string "usage" (or a
  // `"usage"` in a message's text after a usage sent first) hid the real one (cost estimated).
  it('reads the top-level usage, as JSON.parse does, whatever else in the answer says usage', () => {
    const key = fc.oneof(fc.constant('usage'), fc.string({ maxLength: 8 }));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        counts,
        fc.nat(),
        fc.constant(null),
        fc.constantFrom('usage', '"usage":{"prompt_tokens":1}', 'a\\', '\\"usage\\"'),
        fc.string({ maxLength: 8 }),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    }));
    const colon = fc.constantFrom(':', ' : ', ':\n  ');
    const members = fc.array(fc.tuple(key, colon, value), { maxLength: 6 });
    fc.assert(
      fc.property(members, spaces, (fields, space) => {
        const body = `{${fields.map(([k, c, v]) => JSON.stringify(k) + c + JSON.stringify(v, null, space)).join(',')}}`;
        const usage: unknown = JSON.parse(body).usage;
        const expected = usage && typeof usage === 'object' && !Array.isArray(usage) ? usage : undefined;
        assert.deepStrictEqual(usageOf(Buffer.from(body)), expected, body);
      }),
      { numRuns: 3000 },
    );
  });

  it('is no usage when the object is cut short or is not JSON', () => {
    const text = JSON.stringify({ prompt_tokens: 12, prompt_tokens_details: { cached_tokens: 3 }, total_tokens: 20 }, null, 1);
    for (let end = 1; end < text.length; end++)
      assert.equal(usageOf(Buffer.from(`{"usage":${text.slice(0, end)}`)), undefined, `cut at ${end}`);
    assert.equal(usageOf(Buffer.from(`{"usage":${text}}`))?.total_tokens, 20);
    for (const bad of ['{"a":01}', '{"a":1,}', '{"a" 1}', '{"a":nul}', '{"a":-}', '{,}']) assert.equal(usageOfText(bad), undefined, bad);
  });

  it('keeps `__proto__` an own property, as JSON.parse does', () => {
    const usage = usageOfText('{"__proto__":{"polluted":1},"prompt_tokens":2}') as unknown as Record<string, unknown>;
    assert.deepStrictEqual(Object.getPrototypeOf(usage), Object.prototype);
    assert.equal((usage as { polluted?: number }).polluted, undefined);
    assert.deepStrictEqual(usage, JSON.parse('{"__proto__":{"polluted":1},"prompt_tokens":2}'));
  });

  it('finds the object type whatever the whitespace around its colon, and only as a key', () => {
    const body = (text: string) => Buffer.from(`{${text},"choices":[]}`);
    for (const ok of ['"object" : "chat.completion"', '"object":\n"chat.completion"', '"x":"object","object":"chat.completion"'])
      assert.equal(readJsonResult('p', body(ok), 'chat.completion').body.length > 0, true, ok);
    for (const bad of ['"object":"chat.completion.chunk"', '"x":"object","y":"chat.completion"', '"object":"chat.complet'])
      assert.throws(() => readJsonResult('p', body(bad), 'chat.completion'), /not a chat.completion/, bad);
  });

  // DeepSeek names its cache hits `prompt_cache_hit_tokens`: billed at the full input price before.
  it("reads DeepSeek's prompt_cache_hit_tokens as cached tokens, and leaves a server's own cached_tokens alone", () => {
    const deepseek = { prompt_tokens: 100, completion_tokens: 5, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 };
    assert.deepStrictEqual(usageOfText(JSON.stringify(deepseek))?.prompt_tokens_details, { cached_tokens: 64 });
    const both = { ...deepseek, prompt_tokens_details: { cached_tokens: 60, audio_tokens: 0 } };
    assert.deepStrictEqual(usageOfText(JSON.stringify(both))?.prompt_tokens_details, { cached_tokens: 60, audio_tokens: 0 });
    const nullDetails = { ...deepseek, prompt_tokens_details: null };
    assert.equal(usageOfText(JSON.stringify(nullDetails))?.prompt_tokens_details?.cached_tokens, 64);
  });
});
