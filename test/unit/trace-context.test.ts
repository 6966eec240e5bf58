import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { incomingTrace, requestTrace, traceHeaders } from '../../libs/metrics/src/trace-context';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C traceparent, as the Trace Context spec reads it', () => {
  const table: [string, string, boolean][] = [
    ['version 00, sampled', `00-${TRACE}-${SPAN}-01`, true],
    ['version 00, not sampled', `00-${TRACE}-${SPAN}-00`, true],
    ['a later version may add fields after a dash', `01-${TRACE}-${SPAN}-01-what-comes-later`, true],
    ['version 00 has exactly four fields', `00-${TRACE}-${SPAN}-01-extra`, false],
    ['version ff is forbidden', `ff-${TRACE}-${SPAN}-01`, false],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`, false],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`, false],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`, false],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`, false],
    ['two headers joined by Node', `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`, false],
    ['not a traceparent', 'hello', false],
  ];
  for (const [name, header, valid] of table) {
    it(`${name}: ${valid ? 'read' : 'ignored'}`, () => {
      const trace = incomingTrace({ traceparent: header });
      if (!valid) return assert.equal(trace, undefined);
      assert.deepEqual(trace, { traceId: TRACE, parentSpanId: SPAN, flags: header.slice(53, 55) });
    });
  }

  it('only the sampled flag is kept: flags this version does not define are cleared before they go on', () => {
    for (const [flags, kept] of [
      ['ff', '01'],
      ['fe', '00'],
      ['03', '01'],
    ])
      assert.equal(
        traceHeaders(incomingTrace({ traceparent: `00-${TRACE}-${SPAN}-${flags}` })!, SPAN).traceparent,
        `00-${TRACE}-${SPAN}-${kept}`,
      );
  });

  it('tracestate is kept when there is a valid traceparent, and only then', () => {
    assert.equal(incomingTrace({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'a=1,b=2' })?.tracestate, 'a=1,b=2');
    assert.equal(incomingTrace({ tracestate: 'a=1' }), undefined);
  });

  it('passed on, a valid header comes out as it went in; the next hop gets our span as its parent', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => /[1-9a-f]/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.constantFrom('00', '01'), hex(16), (traceId, parent, flags, ours) => {
        const traceparent = `00-${traceId}-${parent}-${flags}`;
        const caller = incomingTrace({ traceparent })!;
        assert.deepEqual(traceHeaders(caller, caller.parentSpanId!), { traceparent });
        assert.deepEqual(traceHeaders(caller, ours), { traceparent: `00-${traceId}-${ours}-${flags}` });
      }),
      { numRuns: 500 },
    );
  });

  it("a request without one starts a sampled trace of its own; with one, it continues the caller's", () => {
    const own = requestTrace({});
    assert.match(own.traceId, /^[0-9a-f]{32}$/);
    assert.match(own.spanId, /^[0-9a-f]{16}$/);
    assert.deepEqual([own.parentSpanId, own.flags], [undefined, '01']);
    const continued = requestTrace({ traceparent: `00-${TRACE}-${SPAN}-00` });
    assert.deepEqual([continued.traceId, continued.parentSpanId, continued.flags], [TRACE, SPAN, '00']);
    assert.notEqual(continued.spanId, SPAN);
  });
});
