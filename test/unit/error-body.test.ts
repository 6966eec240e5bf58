import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upstreamErrorEvent } from '../../libs/providers/src/openai/error-event';
import { withoutKey } from '../../libs/providers/src/without-key';
import {
  CUT,
  ERROR_BODY_BYTES,
  MAX_MESSAGE_CHARS,
  parseErrorBody,
  readErrorBody,
  upstreamMessage,
} from '../../libs/providers/src/error-body';

/** An error body of `json`, read as the gateway reads a failed answer's (in chunks of 1,000 bytes). */
function read(json: string) {
  const bytes = Buffer.from(json);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 1000) chunks.push(bytes.subarray(at, at + 1000));
  return readErrorBody(chunks);
}

/** The message of an OpenAI-format error body cut at the read cap, as parsed. */
async function cutMessage(message: string, after: object = {}): Promise<string> {
  const body = await read(JSON.stringify({ error: { message, ...after } }));
  assert.equal(body.cut, true);
  return (parseErrorBody(body) as { error: { message: string } }).error.message;
}

describe('error bodies past the read cap: the JSON closed where it was cut', () => {
  it('a message cut by the cap is its beginning, marked; what came after it is lost', async () => {
    const message = await cutMessage('bad ' + 'x'.repeat(50_000), { code: 'bad' });
    // The word the cut went through loses up to 512 characters (a key split there is not kept).
    assert.equal(message, 'bad ' + 'x'.repeat(ERROR_BODY_BYTES - '{"error":{"message":"bad '.length - 512) + CUT);
  });

  it('a provider key the cap splits leaves none of its beginning, as it is or encoded, at any offset', async () => {
    const key = 'sk-Zq9TmWv4Rb7NcY2hLp';
    const room = ERROR_BODY_BYTES - '{"error":{"message":"'.length;
    for (const form of [key, Buffer.from(key).toString('base64'), Buffer.from(`user:${key}`).toString('base64url')]) {
      // The cap falls `into` characters into the key's form (from 4 on: a shorter beginning is no evidence).
      for (let into = 4; into < form.length; into++) {
        const message = withoutKey(await cutMessage('a '.repeat(room).slice(0, room - into) + form + ' tail'.repeat(9_000)), key);
        assert.ok(!message.includes(form.slice(0, Math.min(into, 6))), `${form.slice(0, 8)}… cut after ${into}: ${message.slice(-40)}`);
      }
    }
  });

  it('an escape split by the cap is left out, whichever byte of it the cap falls on', async () => {
    for (let pad = 0; pad < 6; pad++) {
      const message = await cutMessage('y'.repeat(pad) + '"\u0001'.repeat(10_000));
      assert.ok(message.endsWith(CUT), `pad ${pad}`);
      assert.match(message.slice(0, -CUT.length), /^y*("\u0001)*"?$/, `pad ${pad}`);
    }
  });

  it('a character split by the cap is left out, not read as U+FFFD', async () => {
    for (let pad = 0; pad < 3; pad++) {
      const message = await cutMessage('y'.repeat(pad) + '€'.repeat(10_000));
      assert.match(message, new RegExp(`^y*€+${CUT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), `pad ${pad}`);
    }
  });

  it('a message before the cut is whole and unmarked; a body cut outside a string is no JSON', async () => {
    const body = await read(JSON.stringify({ error: { message: 'short', details: ['z'.repeat(50_000)] } }));
    assert.equal((parseErrorBody(body) as { error: { message: string } }).error.message, 'short');
    assert.equal(parseErrorBody({ text: '{"error":{"message":"short","code":', cut: true }), undefined);
  });

  it('a body within the cap is read as it is', async () => {
    const body = await read('{"error":{"message":"fine"}}');
    assert.deepEqual([body.cut, parseErrorBody(body)], [false, { error: { message: 'fine' } }]);
    assert.equal(parseErrorBody({ text: '<html>', cut: false }), undefined);
  });
});

describe('upstream messages: whole up to MAX_MESSAGE_CHARS, cut and marked past them', () => {
  it('cuts past the limit, never between the halves of a surrogate pair', () => {
    assert.equal(upstreamMessage('a'.repeat(MAX_MESSAGE_CHARS)), 'a'.repeat(MAX_MESSAGE_CHARS));
    assert.equal(upstreamMessage('a'.repeat(MAX_MESSAGE_CHARS + 1)), 'a'.repeat(MAX_MESSAGE_CHARS) + CUT);
    const emoji = 'a' + '😀'.repeat(MAX_MESSAGE_CHARS);
    assert.equal(upstreamMessage(emoji), 'a' + '😀'.repeat((MAX_MESSAGE_CHARS - 2) / 2) + CUT);
  });
});

describe("an OpenAI-format stream's error event: its message cut as an error answer's, after the key is out", () => {
  // Found by an independent check (utf34 D1): `^`/`$` under the `m` flag match at U+2028 / U+2029, which JSON allows
  // unescaped in a string: a text delta holding one and then `event: error` was taken for an error event.
  it('an `event: error` inside a text after U+2028 / U+2029 is text; one on a line of its own is an error', () => {
    for (const separator of ['\u2028', '\u2029']) {
      const delta = { choices: [{ index: 0, delta: { content: `Log:${separator}event: error${separator}data: see above` } }] };
      assert.equal(upstreamErrorEvent('p', Buffer.from(`data: ${JSON.stringify(delta)}\n\n`), undefined, true), undefined);
    }
    for (const end of ['\n', '\r\n', '\r'])
      assert.ok(upstreamErrorEvent('p', Buffer.from(`event: error${end}data: not json\n\n`), undefined, true));
  });

  it('a 50 KB message with the key across the cut: its beginning, the key hidden, marked', () => {
    const key = 'sk-upstream-key-0123';
    const message = 'k'.repeat(1_960) + key + 'x'.repeat(50_000);
    const events = Buffer.from(`event: error\ndata: ${JSON.stringify({ error: { message } })}\n\n`);
    const error = upstreamErrorEvent('p', events, key, true)!;
    const text = `Provider p failed mid-stream: ${message.replace(key, '[provider key]')}`;
    assert.equal(error.message, text.slice(0, MAX_MESSAGE_CHARS) + CUT);
  });
});
