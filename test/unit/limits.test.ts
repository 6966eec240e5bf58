import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { spendKey, utcDay } from '@gateway/metrics';
import { msUntilPeriodEnd } from '@gateway/security';
import { MemoryWindowCounter, RedisWindowCounter, type WindowCounter } from '../../libs/security/src/window-counter';
import { nestsDeeperThan } from '../../apps/gateway/src/http/json-depth';

describe('budget periods', () => {
  it('a daily budget resets at the next UTC midnight, a monthly one on the 1st', () => {
    const at = new Date('2026-11-26T22:30:00Z');
    assert.equal(msUntilPeriodEnd('daily', at), 90 * 60_000);
    assert.equal(msUntilPeriodEnd('monthly', at), (4 * 24 + 1.5) * 3_600_000);
    assert.equal(msUntilPeriodEnd('monthly', new Date('2026-12-31T23:59:59Z')), 1_000);
  });

  it('spend is kept per key and per UTC day and month, so a new period starts at zero', () => {
    assert.equal(utcDay(new Date('2026-11-26T23:59:59Z')), '2026-11-26');
    assert.equal(utcDay(new Date('2026-11-27T00:00:00Z')), '2026-11-27');
    assert.equal(spendKey('team-a', '2026-11'), 'gateway:spend:2026-11:team-a');
  });
});

const REDIS_URL = process.env.TEST_REDIS_URL;
const redis = REDIS_URL ? new Redis(REDIS_URL) : undefined;
after(() => redis?.disconnect());

const counters: [string, () => WindowCounter][] = [['in process', () => new MemoryWindowCounter()]];
if (redis) counters.push(['Redis', () => new RedisWindowCounter(redis)]);

for (const [name, make] of counters) {
  describe(`window counter (${name})`, () => {
    it('admits up to the limit, refuses without counting, then resets with the window', async () => {
      const c = make();
      const key = `test:window:${name}:${Date.now()}`;
      assert.deepEqual(
        (await Promise.all([1, 2, 3, 4].map(() => c.add(key, 30, 100, 200)))).map((r) => r.ok),
        [true, true, true, false],
      );
      assert.equal(await c.peek(key), 90, 'the refused 30 was not counted');
      assert.equal((await c.add(key, 10, 100, 200)).ok, true);
      await new Promise((r) => setTimeout(r, 250));
      assert.equal((await c.add(key, 100, 100, 200)).ok, true, 'a new window');
    });

    it('adjusts an open window and never goes below zero', async () => {
      const c = make();
      const key = `test:adjust:${name}:${Date.now()}`;
      await c.add(key, 500, 1000, 60_000);
      await c.adjust(key, -480);
      assert.equal(await c.peek(key), 20);
      await c.adjust(key, -100);
      assert.equal(await c.peek(key), 0);
    });
  });
}

describe('JSON depth check', () => {
  it('counts nesting outside strings only', () => {
    assert.equal(nestsDeeperThan('{"a":[[[1]]]}', 4), false);
    assert.equal(nestsDeeperThan('{"a":[[[[1]]]]}', 4), true);
    assert.equal(nestsDeeperThan('{"a":"[[[[[[[[[[\\"{{{{{{{{"}', 2), false);
  });
});
