import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, describe, it, mock } from 'node:test';
import { Redis } from 'ioredis';
import type { GatewayConfig } from '../../libs/config/src';
import { connectRedis } from '../../libs/redis/src/redis.service';
import { RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { LeasedAdmissionStore } from '../../libs/security/src/lease-store';
import { SpendLedger } from '../../libs/security/src/spend-ledger';
import { UNIT } from '../support/limit-requests';
import { RedisServer } from '../support/redis-server';

const REDIS_URL = process.env.TEST_REDIS_URL;
const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
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
const spent = async (keyId: string, period: string, redis = client!) =>
  Number((await redis.hget(`gateway:{${keyId}}:spend:${period}`, '_total')) ?? 0);
const periods = async (keyId: string, redis = client!) =>
  Object.fromEntries(
    await Promise.all(['2026-12-31', '2026-12', '2027-01-01', '2027-01'].map(async (p) => [p, await spent(keyId, p, redis)] as const)),
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

// Without leases (limitLeaseMs: 0) a settlement made while Redis is disconnected waits in process and is sent when
// Redis is back. Found by an independent check: it was booked to the day (and month) Redis came back in.
describe(
  'settlements held through a Redis outage across UTC midnight',
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    it('count in the day and month the request was served in, in Redis and in the ledger', async () => {
      const server = await RedisServer.start(REDIS_SERVER!);
      const replica = connectRedis({ redisUrl: server.url, redis: { cluster: false } } as GatewayConfig);
      replica.on('error', () => undefined);
      const direct = new Redis(server.url);
      direct.on('error', () => undefined);
      try {
        if (replica.status !== 'ready') await new Promise((resolve) => replica.once('ready', resolve));
        const ledger = new SpendLedger();
        const exact = new RedisAdmissionStore(replica, ledger);
        const keyId = `outage-midnight-${randomBytes(4).toString('hex')}`;
        const closed = new Promise((resolve) => replica.once('close', resolve));
        await server.stop();
        await closed;
        mock.timers.enable({ apis: ['Date'], now: MIDNIGHT - 500 });
        const served = exact.settle({ keyId, spend: { model: 'm', usd: 3 * UNIT } });
        // Past the turn the settlement is sent in: it waits for Redis.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        mock.timers.setTime(MIDNIGHT + 500);
        await server.start();
        await served;
        await exact.settle({ keyId, spend: { model: 'm', usd: 5 * UNIT } });
        assert.deepEqual(await periods(keyId, direct), {
          '2026-12-31': 3 * UNIT,
          '2026-12': 3 * UNIT,
          '2027-01-01': 5 * UNIT,
          '2027-01': 5 * UNIT,
        });
        assert.deepEqual(ledger.byModel(keyId, '2027-01-01'), { m: 5 * UNIT, _total: 5 * UNIT }, 'the ledger: the new day only');
      } finally {
        replica.disconnect();
        direct.disconnect();
        await server.stop();
      }
    });
  },
);
