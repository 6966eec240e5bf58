import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, describe, it, mock } from 'node:test';
import { Redis } from 'ioredis';
import { RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { LeasedAdmissionStore } from '../../libs/security/src/lease-store';
import { SpendLedger } from '../../libs/security/src/spend-ledger';
import { UNIT } from '../support/limit-requests';

const REDIS_URL = process.env.TEST_REDIS_URL;
const client = REDIS_URL ? new Redis(REDIS_URL) : undefined;
after(() => client?.disconnect());
afterEach(() => mock.timers.reset());

/** A new year: the day and the month change together. */
const MIDNIGHT = Date.UTC(2027, 0, 1);
/** Longer than a test: the spend is written when the store closes, or when a new budget period ends the lease. */
const LEASE_MS = 600_000;

const store = (ledger?: SpendLedger) =>
  new LeasedAdmissionStore(client!, new RedisAdmissionStore(client!), {
    replica: randomBytes(6).toString('hex'),
    leaseMs: LEASE_MS,
    holdLapseMs: 600_000,
    ledger,
  });
const spent = async (keyId: string, period: string) => Number((await client!.hget(`gateway:{${keyId}}:spend:${period}`, '_total')) ?? 0);
const periods = async (keyId: string) =>
  Object.fromEntries(
    await Promise.all(['2026-12-31', '2026-12', '2027-01-01', '2027-01'].map(async (p) => [p, await spent(keyId, p)] as const)),
  );
/** A monthly budget of $1 for `keyId`, as LimitsService asks it at `Date.now()`. */
const budgeted = (keyId: string, period: string, seq: number) => {
  const now = Date.now();
  return {
    keyId,
    windowMs: 60_000,
    tokens: 0,
    budget: { usd: 1, period, reserveUsd: UNIT, member: `${keyId}-${seq}:${UNIT}`, now, until: now + 600_000 },
  };
};

// The lease store sums spend in process and writes it at its next sync, up to a lease period later:
// spend settled before UTC midnight and written after it belongs to the day (and month) it was settled in.
describe('leased spend across UTC midnight (Redis)', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  it('spend alone settled before midnight and written after it counts in the old day and month', async () => {
    const keyId = `lease-midnight-${randomBytes(4).toString('hex')}`;
    mock.timers.enable({ apis: ['Date'], now: MIDNIGHT - 500 });
    const ledger = new SpendLedger();
    const leased = store(ledger);
    await leased.settle({ keyId, spend: { model: 'm', usd: 3 * UNIT } });
    mock.timers.setTime(MIDNIGHT + 500);
    await leased.settle({ keyId, spend: { model: 'm', usd: 5 * UNIT } });
    await leased.close();
    assert.deepEqual(await periods(keyId), { '2026-12-31': 3 * UNIT, '2026-12': 3 * UNIT, '2027-01-01': 5 * UNIT, '2027-01': 5 * UNIT });
    assert.deepEqual(ledger.byModel(keyId, '2027-01-01'), { m: 5 * UNIT, _total: 5 * UNIT }, 'the ledger: the new day only');
  });

  it("leased requests settled before midnight count in the old month: the new month's budget does not hold them", async () => {
    const keyId = `lease-midnight-budget-${randomBytes(4).toString('hex')}`;
    mock.timers.enable({ apis: ['Date'], now: MIDNIGHT - 500 });
    const leased = store();
    const before = await leased.admit(budgeted(keyId, '2026-12', 1));
    assert.ok(before.ticket, 'admitted from a lease');
    await leased.settle({ keyId, spend: { model: 'm', usd: 0.75 }, ticket: before.ticket });
    mock.timers.setTime(MIDNIGHT + 500);
    // The new period ends the lease: its exchange writes the old spend and leases from the new month's budget.
    const after = await leased.admit(budgeted(keyId, '2027-01', 2));
    await leased.settle({ keyId, spend: { model: 'm', usd: UNIT }, ticket: after.ticket });
    await leased.close();
    assert.equal(after.refused, undefined);
    assert.equal(after.spentUsd, 0, "the new month's spend when admitted");
    assert.ok(after.ticket, "admitted from a lease of the new month's budget: $0.75 of $1 is not counted against it");
    assert.deepEqual(await periods(keyId), { '2026-12-31': 0.75, '2026-12': 0.75, '2027-01-01': UNIT, '2027-01': UNIT });
  });
});
