import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken } from '../../libs/security/src/bearer';

// Found by an independent check: `bearer <key>` was refused, though HTTP auth schemes are
// case-insensitive (RFC 9110, 11.1).
describe('bearer tokens', () => {
  it('reads the token whatever the case of the scheme, trimmed; anything else is no token', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.equal(bearerToken(`${scheme} gw-key `), 'gw-key');
    for (const header of [undefined, '', 'Bearer', 'Bearer    ', 'Basic gw-key', 'Bearergw-key', 'gw-key', 'Bear gw-key']) {
      assert.equal(bearerToken(header), undefined, JSON.stringify(header));
    }
  });
});
