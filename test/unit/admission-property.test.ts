import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { type AdmissionStore, MemoryAdmissionStore, RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { MemoryWindowCounter } from '../../libs/security/src/window-counter';

const REDIS_URL = process.env.TEST_REDIS_URL;
/** Two connections: two replicas sharing one Redis. */
const clients = REDIS_URL ? [new Redis(REDIS_URL), new Redis(REDIS_URL)] : [];
after(() => clients.forEach((c) => c.disconnect()));

const EPS = 1e-9;
const BUDGET = 1;

/** A request: its worst case and what it really costs (in cents), and which replica serves it. */
const request = fc.record({
  replica: fc.constantFrom(0, 1),
  reserveCents: fc.integer({ min: 1, max: 40 }),
  /** Usually at or under the worst case; sometimes over (an estimate that missed). */
  actualCents: fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 0 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20 }) },
  ),
  under: fc.integer({ min: 0, max: 40 }),
});
/** Requests arrive in concurrent waves; after each, a random part of those in flight finishes. */
const scenario = fc.array(
  fc.record({ wave: fc.array(request, { minLength: 1, maxLength: 8 }), finish: fc.double({ min: 0, max: 1, noNaN: true }) }),
  {
    minLength: 1,
    maxLength: 8,
  },
);

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(stores: AdmissionStore[], keyId: string, waves: Scenario) {
  const day = new Date().toISOString().slice(0, 10);
  const inFlight: { member: string; reserve: number; actual: number; replica: number }[] = [];
  let seq = 0;
  let spent = 0;
  let excess = 0;
  let admitted = 0;
  const settle = (r: (typeof inFlight)[number]) =>
    stores[r.replica].settle({ keyId, spend: { model: 'm', usd: r.actual }, hold: { member: r.member, usd: r.reserve } });
  for (const { wave, finish } of waves) {
    const outcomes = await Promise.all(
      wave.map(async (q) => {
        const reserve = q.reserveCents / 100;
        // actualCents 0 means "within the worst case": some part of it, `under` cents less.
        const actual = q.actualCents === 0 ? Math.max(0, q.reserveCents - q.under) / 100 : reserve + q.actualCents / 100;
        const member = `${keyId}-${++seq}:${reserve}`;
        const now = Date.now();
        const o = await stores[q.replica].admit({
          keyId,
          windowMs: 60_000,
          rpm: 20,
          tokens: 1,
          budget: { usd: BUDGET, period: day, reserveUsd: reserve, member, now, until: now + 60_000 },
        });
        return { o, r: { member, reserve, actual, replica: q.replica } };
      }),
    );
    for (const { o, r } of outcomes) {
      if (o.refused) continue;
      admitted++;
      // Admitted only when the period's spend and every hold, its own included, fit.
      assert.ok(o.spentUsd + o.heldUsd <= BUDGET + EPS, `admitted at ${o.spentUsd} + ${o.heldUsd}`);
      inFlight.push(r);
    }
    const done = inFlight.splice(0, Math.floor(inFlight.length * finish));
    await Promise.all(done.map(settle));
    for (const r of done) {
      spent += r.actual;
      excess += Math.max(0, r.actual - r.reserve);
    }
  }
  await Promise.all(inFlight.map(settle));
  for (const r of inFlight) {
    spent += r.actual;
    excess += Math.max(0, r.actual - r.reserve);
  }
  assert.ok(admitted <= 20, 'the RPM limit held');
  // The README's guarantee: spend ≤ budget + what requests cost beyond their worst case.
  assert.ok(spent <= BUDGET + excess + EPS, `spent ${spent} with excess ${excess}`);
  // Everything settled: no hold is left, and the next admission sees exactly the spend.
  const probe = await stores[0].admit({
    keyId,
    windowMs: 60_000,
    tokens: 1,
    budget: { usd: 1_000, period: day, reserveUsd: 0, member: `${keyId}-probe:0`, now: Date.now(), until: Date.now() + 1 },
  });
  assert.ok(Math.abs(probe.heldUsd) < EPS, `held ${probe.heldUsd} after everything settled`);
  assert.ok(Math.abs(probe.spentUsd - spent) < 1e-6, `spent ${probe.spentUsd}, expected ${spent}`);
}

const variants: [string, () => AdmissionStore[]][] = [
  [
    'in process',
    () => {
      const store = new MemoryAdmissionStore(new MemoryWindowCounter());
      return [store, store];
    },
  ],
];
if (clients.length) variants.push(['Redis, two replicas', () => clients.map((c) => new RedisAdmissionStore(c))]);

describe('admission store properties (fast-check, fixed seed)', () => {
  for (const [name, make] of variants) {
    it(`${name}: concurrent waves never pass the budget beyond estimate misses, nor the RPM; settling leaves no hold`, async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(scenario, (waves) => run(make(), `prop-${process.pid}-${Date.now()}-${++n}`, waves)),
        { seed: 14, numRuns: name === 'in process' ? 200 : 60 },
      );
    });
  }
});
