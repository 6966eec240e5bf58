import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatUsd } from '../../apps/gateway/src/http/accounting';
import { headerValue } from '../../apps/gateway/src/http/header-value';

describe('response header values', () => {
  it('writes a cost as a plain decimal, trailing zeros dropped, exact to 1e-10', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [1, '1'],
      [100, '100'],
      [0.5, '0.5'],
      [0.00012, '0.00012'],
      [1e-11, '0'],
      [12.3400000001, '12.3400000001'],
      [1e-7, '0.0000001'],
    ];
    for (const [usd, text] of cases) assert.equal(formatUsd(usd), text, String(usd));
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (usd) => {
        const text = formatUsd(usd);
        assert.match(text, /^(0|[1-9]\d*)(\.\d*[1-9])?$/);
        assert.ok(Math.abs(Number(text) - usd) <= 5e-11 * Math.max(1, usd), `${usd} -> ${text}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('sends any text as visible ASCII that decodes back to it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const value = headerValue(text);
        assert.match(value, /^[\x20-\x7e]*$/);
        if (!/[\uD800-\uDFFF]/u.test(text)) assert.equal(decodeURIComponent(value), text);
      }),
      { numRuns: 5000 },
    );
    assert.equal(headerValue('usage-模型'), 'usage-%E6%A8%A1%E5%9E%8B');
    assert.equal(headerValue('50%; rule=a\r\nb'), '50%25; rule=a%0D%0Ab');
    assert.equal(headerValue('gpt-4o-mini'), 'gpt-4o-mini');
  });
});
