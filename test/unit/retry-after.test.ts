import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Dispatcher } from 'undici';
import { fromUpstreamResponse, retryAfterSeconds } from '../../libs/providers/src/openai/errors';

/** An upstream 429 with `retry-after: value`, as the client gets it (the real adapter code). */
async function clientRetryAfter(value: string): Promise<string | undefined> {
  const res = { statusCode: 429, headers: { 'retry-after': value }, body: Readable.from([Buffer.from('{"error":{"message":"slow"}}')]) };
  return (await fromUpstreamResponse('p', res as unknown as Dispatcher.ResponseData)).headers['retry-after'];
}

/** An HTTP date `offsetS` seconds from now, in one of HTTP's three forms (RFC 9110 §5.6.7). */
function httpDate(offsetS: number, form: 'imf' | 'rfc850' | 'asctime'): string {
  const d = new Date(Date.now() + offsetS * 1000);
  const imf = d.toUTCString(); // "Sun, 06 Nov 1994 08:49:37 GMT"
  const [day, dd, mon, yyyy, time] = imf.replace(',', '').split(' ');
  const days: Record<string, string> = {
    Sun: 'Sunday',
    Mon: 'Monday',
    Tue: 'Tuesday',
    Wed: 'Wednesday',
    Thu: 'Thursday',
    Fri: 'Friday',
    Sat: 'Saturday',
  };
  if (form === 'rfc850') return `${days[day]}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`;
  if (form === 'asctime') return `${day} ${mon} ${dd.replace(/^0/, ' ')} ${time} ${yyyy}`;
  return imf;
}

/**
 * What README (Routing) promises for an upstream's Retry-After: seconds or an HTTP date, rounded up
 * to whole seconds; a value that says no wait (zero, negative, a date already passed) or none at all
 * (junk) is as if absent, so a 429 tells the client `Retry-After: 1`, never 0.
 */
const expected = (seconds: number | undefined) => (seconds !== undefined && seconds > 0 ? Math.ceil(seconds) : undefined);
/** What a number written as `value` says: digits (and a fraction) only, as RFC 9110's delay-seconds; anything else is junk. */
const written = (value: string) => expected(/^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : undefined);

const values = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => ({ value: String(n), seconds: expected(n) as number | undefined })),
  fc.double({ min: -1000, max: 1000, noNaN: true }).map((x) => ({ value: String(x), seconds: written(String(x)) })),
  fc.constantFrom('1e9', '1000000000000', '-0', '0', '0.0001').map((v) => ({ value: v, seconds: written(v) })),
  // Whole seconds from now, away from the second's edge: a wall clock reads it.
  fc
    .tuple(
      fc.integer({ min: -10 * 365 * 86400, max: 10 * 365 * 86400 }),
      fc.constantFrom('imf' as const, 'rfc850' as const, 'asctime' as const),
    )
    .filter(([s]) => Math.abs(s) > 2)
    .map(([s, form]) => ({ value: httpDate(s, form), seconds: s > 0 ? s : undefined, date: true })),
  fc
    .string({ maxLength: 12 })
    .filter((s) => !Number.isFinite(Number(s)))
    .map((s) => ({ value: s, seconds: undefined as number | undefined })),
  fc.constantFrom('abc', '-5', '-1', '2024', ' 3 ', 'Mon 5', 'mon, 99', 'Infinity', '1e400', 'soon', '').map((v) => ({
    value: v,
    seconds: written(v),
  })),
);

describe('upstream Retry-After', () => {
  it('is whole seconds of at least 1, or absent when it says no wait or nothing readable', () => {
    fc.assert(
      fc.property(values, ({ value, seconds, date }: { value: string; seconds?: number; date?: boolean }) => {
        const got = retryAfterSeconds({ 'retry-after': value });
        if (seconds === undefined) return assert.equal(got, undefined, `${JSON.stringify(value)} is as if absent`);
        assert.ok(got !== undefined && Number.isInteger(got) && got >= 1, `${JSON.stringify(value)} -> ${got}`);
        // A date is read against the clock, so it may be a second short of what it was built from.
        if (date) assert.ok(got === seconds || got === seconds + 1 || got === seconds - 1, `${value}: ${got} for ${seconds}`);
        else assert.equal(got, seconds);
      }),
      { numRuns: 2000 },
    );
  });

  // Found by an independent check: "-5" went through Date.parse, which V8 reads as the year -5, so the client got Retry-After: 0.
  it('a 429 always tells the client to wait at least 1 s', async () => {
    await fc.assert(
      fc.asyncProperty(values, async ({ value }) => {
        const header = await clientRetryAfter(value);
        assert.ok(Number.isInteger(Number(header)) && Number(header) >= 1, `${JSON.stringify(value)} -> Retry-After: ${header}`);
      }),
      { numRuns: 300 },
    );
    assert.equal(await clientRetryAfter('-5'), '1');
    assert.equal(await clientRetryAfter(httpDate(-60, 'imf')), '1');
  });

  // Found by an independent check (fault29): Number() read `1e3` as 1000 s and `0x20` as 32 s, which no upstream means.
  it('digits only: exponents, hex, binary and separators are as unreadable as `abc`', () => {
    for (const value of ['1e3', '0x20', '0b11', '0o7', '1_000', '+5', '.5', '5.'])
      assert.deepEqual([value, retryAfterSeconds({ 'retry-after': value })], [value, undefined]);
    assert.equal(retryAfterSeconds({ 'retry-after-ms': '1e6', 'retry-after': '2' }), 2, 'an unreadable retry-after-ms is as if absent');
    assert.deepEqual([retryAfterSeconds({ 'retry-after': '0.3' }), retryAfterSeconds({ 'retry-after': ' 7 ' })], [1, 7]);
  });

  it('retry-after-ms wins when positive, rounded up to a second', () => {
    assert.equal(retryAfterSeconds({ 'retry-after-ms': '2500', 'retry-after': '9' }), 3);
    assert.equal(retryAfterSeconds({ 'retry-after-ms': '-100', 'retry-after': '9' }), 9);
    assert.equal(retryAfterSeconds({ 'retry-after-ms': '0', 'retry-after': '-9' }), undefined);
  });
});
