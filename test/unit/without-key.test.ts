import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withoutKey } from '../../libs/providers/src/without-key';

const KEY = 'sk-proj-AbC123_secret-KEY-0987zyx';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');

/**
 * Upstream error text without the provider's key: the key as it is, and (found by an independent check, hostile3
 * doubtful D) encoded in base64 or base64url, alone or inside a Basic credential (`user:key`, `:key`, `key:`), as a
 * proxy that echoes its Authorization header shows it.
 */
describe('withoutKey: the provider key out of an upstream`s text', () => {
  it('takes out the key as it is', () => {
    assert.equal(withoutKey(`bad key ${KEY}.`, KEY), 'bad key [provider key].');
  });

  const encoded: Record<string, string> = {
    base64: b64(KEY),
    base64url: b64url(KEY),
    'Basic user:key': b64(`user:${KEY}`),
    'Basic :key': b64(`:${KEY}`),
    'Basic key:': b64(`${KEY}:`),
    'Basic apikey:key, base64url': b64url(`apikey:${KEY}`),
  };
  for (const [form, text] of Object.entries(encoded))
    it(`takes out the key encoded (${form}), the whole encoded word`, () => {
      assert.equal(withoutKey(`Authorization: Basic ${text} was refused`, KEY), 'Authorization: Basic [provider key] was refused');
    });

  it('finds the key encoded after any prefix and before any suffix (every alignment of base64`s 3-byte groups)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.boolean(), (before, after, url) => {
        const text = (url ? b64url : b64)(`${before}${KEY}${after}`);
        const out = withoutKey(`x ${text} y`, KEY);
        assert.equal(out, 'x [provider key] y', text);
      }),
    );
  });

  it('leaves other text, other base64 and short keys alone', () => {
    const other = b64('sk-proj-another-key-entirely-0000');
    assert.equal(withoutKey(`no ${other} here`, KEY), `no ${other} here`);
    assert.equal(withoutKey('none of x', 'x'), 'none of x');
    assert.equal(withoutKey('anything', undefined), 'anything');
  });
});
