import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readJsonResult } from '../../libs/providers/src/openai/response';

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
    ];
    for (const [tail, prompt] of cases)
      assert.equal(readJsonResult('p', answer(tail), 'chat.completion').usage?.prompt_tokens, prompt, tail);
  });
});
