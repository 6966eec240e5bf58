import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hopsOf, MAX_HOPS, nextHop } from '../../libs/providers/src/gateway-hops';

it('a hop count that is missing, not a number or negative counts as none: a caller cannot lengthen a loop', () => {
  for (const value of [undefined, '', 'x', '-1000000', '0'])
    assert.equal(hopsOf(value === undefined ? {} : { 'x-gateway-hops': value }), 0, String(value));
  assert.equal(hopsOf({ 'x-gateway-hops': '3' }), 3);
});

it('each request sends one hop more, as the same object for the same count (merged once by the OpenAI client)', () => {
  for (let hops = 0; hops <= MAX_HOPS; hops++) {
    const headers = { 'x-gateway-hops': String(hops) };
    assert.deepEqual(nextHop(headers), { 'x-gateway-hops': String(hops + 1) });
    assert.equal(nextHop(headers), nextHop({ ...headers }));
  }
});
