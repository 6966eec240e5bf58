import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { parseConfig } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { applyChange, checkRecord, sentFields } from '../../libs/security/src/admin/key-changes';
import { KeyFieldsDto } from '../../libs/security/src/admin/key.dto';
import { hasExpired, type KeyRecord } from '../../libs/security/src/key-record';

/**
 * What the admin API stores of the fields an independent check found wrong. An `expiresAt` takes effect at the instant it names, found wrong by an independent check: ISO 8601
 * forms the admin API accepted but Date.parse reads as NaN (basic `20200101T000000Z`, week dates,
 * hours only…) were stored, and such a key never expired, one whose expiry had passed included.
 * These run the admin API's own path: the DTO's checks, then what the controller stores.
 */

/** What the admin API makes of `body` for a key now `record` (POST: none): the new record, or the field a 400 names. */
function changed(body: object, record = {} as KeyRecord): { record: KeyRecord } | { refused: string } {
  const errors = validateSync(plainToInstance(KeyFieldsDto, body), { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) return { refused: errors[0].property };
  return { record: applyChange(record, sentFields(plainToInstance(KeyFieldsDto, body), body)) };
}

/** What POST /admin/keys makes of `expiresAt`: the record's value, or the field a 400 names. */
function posted(expiresAt: string): { stored: string } | { refused: string } {
  const result = changed({ expiresAt });
  return 'refused' in result ? result : { stored: result.record.expiresAt! };
}

/** The field a PATCH of this record would be refused for at `now`, if any (checkRecord: an expiry in the past). */
function refusedAt(expiresAt: string, now: number): string | undefined {
  try {
    checkRecord({ id: 'k', source: 'admin', expiresAt }, { expiresAt }, {}, now);
    return undefined;
  } catch (err) {
    return (err as GatewayError).param ?? 'none';
  }
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * One instant and a way of writing it. `nanos`: the instant the string names, since the epoch (the
 * string may drop seconds or digits of the fraction: the instant is then cut to what it says).
 */
const written = fc
  .record({
    // Years 1000 to 9998 wherever the offset puts the wall clock.
    ms: fc.integer({ min: Date.UTC(1000, 1, 1), max: Date.UTC(9998, 10, 1) }),
    subMilli: fc.integer({ min: 0, max: 999_999 }),
    offset: fc.oneof(fc.constant(0), fc.integer({ min: -1439, max: 1439 })),
    fractionDigits: fc.integer({ min: 0, max: 9 }),
    seconds: fc.boolean(),
    lower: fc.boolean(),
    form: fc.constantFrom('rfc3339', 'rfc3339', 'rfc3339', 'basic', 'no-offset', 'comma', 'hour-offset', 'hours-only', 'space', 'date'),
  })
  .map(({ ms, subMilli, offset, fractionDigits, seconds, lower, form }) => {
    let nanos = BigInt(ms) * 1_000_000n + BigInt(subMilli);
    // Before 1970 too: BigInt's % keeps the sign.
    const within = (unit: bigint) => ((nanos % unit) + unit) % unit;
    const cut = (unit: bigint) => (nanos -= within(unit));
    if (form === 'hours-only' || form === 'date') cut(3_600_000_000_000n);
    if (!seconds) cut(60_000_000_000n);
    cut(10n ** BigInt(9 - fractionDigits));
    // The wall clock at `offset` minutes from UTC.
    const wall = new Date(Number((nanos - within(1_000_000n)) / 1_000_000n) + offset * 60_000).toISOString();
    const [date, clock] = [wall.slice(0, 10), wall.slice(11, 16)];
    const fraction = within(1_000_000_000n).toString().padStart(9, '0').slice(0, fractionDigits);
    const secs = seconds ? `:${wall.slice(17, 19)}${fraction ? `${form === 'comma' ? ',' : '.'}${fraction}` : ''}` : '';
    const sign = offset < 0 ? '-' : '+';
    const zone =
      offset === 0 && form !== 'hour-offset' ? 'Z' : `${sign}${two(Math.trunc(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
    const t = lower ? 't' : 'T';
    const text = {
      rfc3339: `${date}${t}${clock}${secs}${lower ? zone.toLowerCase() : zone}`,
      basic: `${date.replaceAll('-', '')}T${clock.replace(':', '')}${secs.replaceAll(':', '')}${zone.replace(':', '')}`,
      'no-offset': `${date}T${clock}${secs}`,
      comma: `${date}T${clock}${secs}${zone}`,
      'hour-offset': `${date}T${clock}${secs}${zone.slice(0, 3)}`,
      'hours-only': `${date}T${clock.slice(0, 2)}${zone}`,
      space: `${date} ${clock}${secs}${zone}`,
      date,
    }[form]!;
    // Exact when the form keeps every part of the instant (an offset in whole hours for `hour-offset`).
    const exact = form !== 'hour-offset' || offset % 60 === 0;
    return { text, nanos, form, exact, named: form !== 'no-offset' && form !== 'date' };
  });

/** ISO 8601 forms Date.parse cannot read or misreads, times without an offset and days that do not exist. */
const REFUSED_EXPIRIES = [
  '20200101T000000Z',
  '2020-W01-1',
  '20300101',
  '20300101T000000Z',
  '2030-W01',
  '2030-W01-1',
  '2030-001',
  '2030-001T00:00:00Z',
  '2030-01-01T00Z',
  '2030-01-01T00:00:00,5Z',
  '2030-01-01T00:00:00+05',
  '2030-01-01T00:00:00',
  '2030-01-01',
  '2030-02-29T00:00:00Z',
  '2030-04-31T00:00:00Z',
  '2030-01-01T24:00:00Z',
  '2030-12-31T23:59:60Z',
  '2030-01-01T00:00:00+24:00',
];

describe('admin API: expiresAt', () => {
  it('every string accepted takes effect at the instant it names; RFC 3339 forms are accepted, forms without an offset refused', () => {
    fc.assert(
      fc.property(written, ({ text, nanos, form, exact, named }) => {
        const result = posted(text);
        if ('refused' in result) {
          assert.equal(result.refused, 'expiresAt');
          assert.notEqual(form, 'rfc3339', `${text} refused`);
          return;
        }
        assert.ok(named && exact, `${text} (${form}) accepted though it names no instant`);
        // Expired exactly from the first whole millisecond at or after the instant.
        const at = Date.parse(result.stored);
        assert.ok(BigInt(at - 1) * 1_000_000n < nanos && nanos <= BigInt(at) * 1_000_000n, `${text} stored as ${result.stored}`);
        const key: KeyRecord = { id: 'k', source: 'admin', expiresAt: result.stored };
        assert.deepEqual([hasExpired(key, at - 1), hasExpired(key, at)], [false, true], text);
        // A change to it is refused as in the past from that same instant.
        assert.deepEqual([refusedAt(result.stored, at - 1), refusedAt(result.stored, at)], [undefined, 'expiresAt'], text);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses, naming expiresAt, the ISO 8601 forms Date.parse cannot read, times without an offset and days that do not exist', () => {
    for (const text of REFUSED_EXPIRIES) {
      assert.deepEqual(posted(text), { refused: 'expiresAt' }, text);
    }
  });

  it('stores the instant in UTC: an offset and a fraction finer than a millisecond are read, a leap day exists', () => {
    assert.deepEqual(posted('2030-01-01T02:30:00+02:30'), { stored: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual(posted('2029-12-31t19:00-05:00'), { stored: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual(posted('2030-01-01T00:00:00.0000001Z'), { stored: '2030-01-01T00:00:00.001Z' });
    assert.deepEqual(posted('2028-02-29T00:00:00Z'), { stored: '2028-02-29T00:00:00.000Z' });
  });

  it('a stored expiry in a form now refused (written before these checks) counts as passed, whatever Date.parse makes of it', () => {
    // Date.parse reads `2099-005` (5 January) as 1 May, times without an offset in the server's time zone, `+0200` as `+02:00`:
    // a second check found such keys working, with a wrong expiry (or none).
    for (const expiresAt of [...REFUSED_EXPIRIES, '2099-005', '2099-01-01T00:00:00', '2099', '2099-01-01T00:00:00+0200'])
      assert.equal(hasExpired({ id: 'k', source: 'admin', expiresAt }, 0), true, expiresAt);
    assert.equal(hasExpired({ id: 'k', source: 'admin', expiresAt: '2099-01-01T00:00:00+02:00' }, 0), false);
    assert.equal(hasExpired({ id: 'k', source: 'admin' }, Date.now()), false);
  });
});

/**
 * `budget.period: null`, found stored as null by the same check (the record, the list and the usage
 * report showed a budget with no period, and its 429 named "its null budget"): `null` clears the
 * period as it clears a field, to its default, `monthly`, as config reads `period: ~`.
 */
describe('admin API: budget.period null', () => {
  it("is monthly on a POST, and on a PATCH of a daily budget; a budget without period keeps the key's", () => {
    assert.deepEqual(changed({ budget: { usd: 10, period: null } }), { record: { budget: { usd: 10, period: 'monthly' } } });
    const daily = { id: 'k', source: 'admin', budget: { usd: 10, period: 'daily' } } as KeyRecord;
    assert.deepEqual(changed({ budget: { usd: 5, period: null } }, daily), { record: { ...daily, budget: { usd: 5, period: 'monthly' } } });
    assert.deepEqual(changed({ budget: { usd: 5 } }, daily), { record: { ...daily, budget: { usd: 5, period: 'daily' } } });
  });

  it('is monthly in a config key too', () => {
    const config = parseConfig(
      {
        providers: [{ name: 'mock', type: 'mock' }],
        models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
        security: { keys: [{ id: 'k', keyEnv: 'K', budget: { usd: 1, period: null } }] },
      },
      { K: 'config-key-0123456789' },
    );
    assert.equal(config.security.keys[0].budget?.period, 'monthly');
  });
});

describe('admin API: rpm and tpm that contradict each other', () => {
  /** The field and message of the 400 a PATCH of `change` on a key with rpm 10 and tpm 1000 gets. */
  const refusal = (change: { rpm?: number; tpm?: number }) => {
    const record = { id: 'k', source: 'admin', rpm: 10, tpm: 1000, ...change } as KeyRecord;
    try {
      checkRecord(record, change);
      return undefined;
    } catch (err) {
      return [(err as GatewayError).param, (err as GatewayError).message];
    }
  };

  // Found by an independent check: a PATCH of rpm alone was refused naming tpm, which it had not sent.
  it('names the field the change sent', () => {
    assert.deepEqual(refusal({ rpm: 5000 }), [
      'rpm',
      "Invalid value for 'rpm': must be at most tpm (1000): every request uses at least one token.",
    ]);
    assert.deepEqual(refusal({ tpm: 5 }), [
      'tpm',
      "Invalid value for 'tpm': must be at least rpm (10): every request uses at least one token.",
    ]);
    assert.equal(refusal({ rpm: 5000, tpm: 10 })?.[0], 'tpm');
    assert.equal(refusal({ rpm: 1000 }), undefined);
  });
});
