import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { type AdmissionStore, type AdmitInput, type AdmitOutcome, RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { LeasedAdmissionStore } from '../../libs/security/src/lease-store';
import { limitKeys } from '../../libs/security/src/limit-keys';
import { limitedRequest, UNIT } from '../support/limit-requests';

const REDIS_URL = process.env.TEST_REDIS_URL;
/** Three connections: three replicas sharing one Redis. */
const clients = REDIS_URL ? [new Redis(REDIS_URL), new Redis(REDIS_URL), new Redis(REDIS_URL)] : [];
after(() => clients.forEach((c) => c.disconnect()));

/** Longer than a test: leases end by running out (or at close), never by a timer, so runs are deterministic. */
const LEASE_MS = 600_000;
const day = () => new Date().toISOString().slice(0, 10);
/** A replica's lease store on `client`, under its own id. */
const leaseStore = (client: Redis, leaseMs = LEASE_MS) =>
  new LeasedAdmissionStore(client, new RedisAdmissionStore(client), {
    replica: randomBytes(6).toString('hex'),
    leaseMs,
    holdLapseMs: 600_000,
  });
/** Admissions served from a lease, over all runs: the properties must have exercised leases, not only the exact path. */
let fromLeases = 0;

const request = limitedRequest(3);
/** Waves of concurrent requests; after each, part of those in flight finishes. */
const scenario = fc.record({
  rpm: fc.integer({ min: 50, max: 600 }),
  tpm: fc.integer({ min: 1_000, max: 20_000 }),
  budgetUnits: fc.integer({ min: 500, max: 8_000 }),
  waves: fc.array(
    fc.record({ wave: fc.array(request, { minLength: 1, maxLength: 12 }), finish: fc.double({ min: 0, max: 1, noNaN: true }) }),
    {
      minLength: 1,
      maxLength: 25,
    },
  ),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface Admitted {
  replica: number;
  tokens: number;
  actualTokens: number;
  reserve: number;
  actualUsd: number;
  outcome: AdmitOutcome;
  member: string;
}

/**
 * Runs a scenario against one store per replica and checks, after every wave, that
 * what is admitted and not yet settled (at its worst case) plus what is settled (at
 * its actual use) never passes a limit. Returns every admission's verdict and the
 * figures to compare with Redis once every store is closed.
 */
async function run(stores: AdmissionStore[], keyId: string, s: Scenario, concurrent: boolean) {
  const inFlight: Admitted[] = [];
  const verdicts: (string | undefined)[] = [];
  let seq = 0;
  let admitted = 0;
  let settledTokens = 0;
  let settledUsd = 0;
  const input = (q: Scenario['waves'][number]['wave'][number]): AdmitInput => {
    const now = Date.now();
    const reserveUsd = q.reserve * UNIT;
    return {
      keyId,
      windowMs: 60_000,
      rpm: s.rpm,
      tokens: q.tokens,
      tpm: s.tpm,
      budget: {
        usd: s.budgetUnits * UNIT,
        period: day(),
        reserveUsd,
        member: `${keyId}-${++seq}:${reserveUsd}`,
        now,
        until: now + 600_000,
      },
    };
  };
  const admit = async (q: Scenario['waves'][number]['wave'][number]) => {
    const i = input(q);
    const outcome = await stores[q.replica].admit(i);
    verdicts.push(outcome.refused);
    if (outcome.ticket) fromLeases += 1;
    if (outcome.refused) return;
    admitted += 1;
    inFlight.push({
      replica: q.replica,
      tokens: q.tokens,
      actualTokens: Math.max(0, q.tokens - q.unusedTokens),
      reserve: q.reserve * UNIT,
      actualUsd: Math.max(0, q.reserve - q.unusedUsd) * UNIT,
      outcome,
      member: i.budget!.member,
    });
  };
  const settle = async (r: Admitted) => {
    settledTokens += r.actualTokens;
    settledUsd += r.actualUsd;
    await stores[r.replica].settle({
      keyId,
      tokenDelta: r.actualTokens - r.tokens,
      tokens: r.tokens,
      spend: { model: 'm', usd: r.actualUsd },
      hold: { member: r.member, usd: r.reserve },
      ticket: r.outcome.ticket,
    });
  };
  for (const { wave, finish } of s.waves) {
    if (concurrent) await Promise.all(wave.map(admit));
    else for (const q of wave) await admit(q);
    assert.ok(admitted <= s.rpm, `${admitted} admitted against ${s.rpm} RPM`);
    const heldTokens = inFlight.reduce((sum, r) => sum + r.tokens, 0);
    assert.ok(settledTokens + heldTokens <= s.tpm, `${settledTokens} + ${heldTokens} tokens against ${s.tpm} TPM`);
    // What Redis counts as in flight covers every request in flight (a refusal reads the rest as settled
    // use, and names the window's end only for that), and exactly, leases aside.
    const window = await redisState(keyId);
    assert.ok(window.tpmInFlight >= heldTokens, `${window.tpmInFlight} tokens in flight in Redis, ${heldTokens} in fact`);
    assert.ok(
      window.tpm - window.tpmInFlight <= settledTokens,
      `${window.tpm - window.tpmInFlight} settled in Redis, ${settledTokens} in fact`,
    );
    if (!stores.some((store) => store instanceof LeasedAdmissionStore)) assert.equal(window.tpmInFlight, heldTokens);
    const heldUsd = inFlight.reduce((sum, r) => sum + r.reserve, 0);
    assert.ok(settledUsd + heldUsd <= s.budgetUnits * UNIT, `$${settledUsd} + $${heldUsd} against $${s.budgetUnits * UNIT}`);
    const done = inFlight.splice(0, Math.floor(inFlight.length * finish));
    for (const r of done) await settle(r);
  }
  for (const r of inFlight.splice(0)) await settle(r);
  return { verdicts, admitted, settledTokens, settledUsd };
}

/** What Redis holds for the key once every request settled and every store closed. */
async function redisState(keyId: string) {
  const keys = limitKeys(keyId);
  const c = clients[0];
  const spent = Number((await c.hget(`gateway:{${keyId}}:spend:${day()}`, '_total')) ?? 0);
  return {
    rpm: Number((await c.get(keys.rpm)) ?? 0),
    tpm: Number((await c.get(keys.tpm)) ?? 0),
    tpmInFlight: Number((await c.get(keys.tpmInFlight)) ?? 0),
    spent,
    held: Number((await c.get(keys.held)) ?? 0),
    holds: await c.zcard(keys.holds),
  };
}

const leased = (replicas: number) => clients.slice(0, replicas).map((c) => leaseStore(c));

describe('leased admission (Redis)', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  it('one replica admits exactly what one-by-one admission admits, request by request', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const one = s.waves.map((w) => ({ ...w, wave: w.wave.map((q) => ({ ...q, replica: 0 })) }));
        const id = `lease-eq-${Math.random().toString(36).slice(2)}`;
        const store = leased(1)[0];
        const withLeases = await run([store], id, { ...s, waves: one }, false);
        await store.close();
        const oneByOne = new RedisAdmissionStore(clients[0]);
        const exact = await run([oneByOne], `${id}-exact`, { ...s, waves: one }, false);
        await oneByOne.close();
        assert.deepEqual(withLeases.verdicts, exact.verdicts);
        assert.deepEqual(await redisState(id), await redisState(`${id}-exact`));
      }),
      { numRuns: 60, seed: 20261202, endOnFailure: true },
    );
    assert.ok(fromLeases > 200, `${fromLeases} admissions from leases`);
  });

  it('three replicas admitting concurrently never pass a limit, and Redis ends with exactly what was used', async () => {
    fromLeases = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const id = `lease-multi-${Math.random().toString(36).slice(2)}`;
        const stores = leased(3);
        const result = await run(stores, id, s, true);
        for (const store of stores) await store.close();
        const state = await redisState(id);
        assert.equal(state.rpm, result.admitted, 'RPM window: one per admitted request');
        assert.equal(state.tpm, result.settledTokens, 'TPM window: the tokens actually used');
        assert.equal(state.tpmInFlight, 0, 'no tokens in flight once every request settled and every lease came back');
        assert.equal(state.spent, result.settledUsd, 'spend: the sum of actual costs');
        assert.deepEqual([state.held, state.holds], [0, 0], 'no hold left');
      }),
      { numRuns: 60, seed: 20261203, endOnFailure: true },
    );
    assert.ok(fromLeases > 200, `${fromLeases} admissions from leases`);
  });

  it('a busy key far from its limits needs one Redis call per lease, not per request', async () => {
    const { store, client, sent } = await countingStore();
    const now = Date.now();
    const admits = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        store.admit({
          keyId: `lease-calls-${now}`,
          windowMs: 60_000,
          rpm: 1_000_000,
          tokens: 10,
          tpm: 100_000_000,
          budget: { usd: 1_000, period: day(), reserveUsd: 0.001, member: `m-${i}:0.001`, now, until: now + 600_000 },
        }),
      ),
    );
    const calls = sent();
    await store.close();
    client.disconnect();
    assert.ok(admits.every((o) => !o.refused));
    assert.ok(admits.filter((o) => o.ticket).length > 1_900, 'served from leases');
    assert.ok(calls < 40, `${calls} Redis commands for 2,000 admissions`);
  });

  it('a refusal while another replica holds a lease of the window says to retry when that lease ends', async () => {
    const keyId = `lease-wait-${Date.now()}`;
    const [a, b] = clients.slice(0, 2).map((c) => leaseStore(c, 2_000));
    const admit = (store: AdmissionStore) => store.admit({ keyId, windowMs: 60_000, rpm: 200, tokens: 1 });
    assert.ok((await admit(a)).ticket, 'a leases a slice and keeps most of it');
    let refused: AdmitOutcome | undefined;
    for (let i = 0; i < 250 && !refused; i++) {
      const outcome = await admit(b);
      if (outcome.refused) refused = outcome;
    }
    await Promise.all([a.close(), b.close()]);
    assert.equal(refused?.refused, 'rpm');
    assert.ok(refused!.rpm.resetMs <= 2_000, `retry in ${refused!.rpm.resetMs} ms, not at the window's end`);
    // Once a's lease is given back (7 requests come back), the window's end is the only wait left.
    const exact = new RedisAdmissionStore(clients[2]);
    let last: AdmitOutcome | undefined;
    for (let i = 0; i < 20 && !last?.refused; i++) last = await exact.admit({ keyId, windowMs: 60_000, rpm: 200, tokens: 1 });
    assert.equal(last?.refused, 'rpm');
    assert.ok(last!.rpm.resetMs > 2_000, `${last!.rpm.resetMs} ms`);
  });

  it('a lease that ended a moment ago and is not back yet (a late timer) means retry at once; a dead replica lease, the window end', async () => {
    const keyId = `lease-late-${Date.now()}`;
    const keys = limitKeys(keyId);
    const exact = new RedisAdmissionStore(clients[0]);
    const admit = () => exact.admit({ keyId, windowMs: 60_000, rpm: 1, tokens: 1 });
    assert.equal((await admit()).refused, undefined);
    const [seconds, micros] = await clients[0].time();
    const clock = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await clients[0].hset(keys.leases, 'late-replica', clock - 500);
    assert.ok((await admit()).rpm.resetMs <= 1, 'ended 0.5 s ago: being given back');
    await clients[0].hset(keys.leases, 'late-replica', clock - 5_000);
    assert.ok((await admit()).rpm.resetMs > 50_000, 'ended 5 s ago: its replica died');
  });

  it('spend alone (a key without limits) goes to Redis once a lease period, not per settlement, and adds up exactly across replicas', async () => {
    const { store, client, sent } = await countingStore();
    const stores = [store, leaseStore(clients[1]), leaseStore(clients[2])];
    const keyId = `lease-spend-${Date.now()}`;
    let total = 0;
    let calls: number;
    let before: number;
    try {
      for (let i = 0; i < 3_000; i++) {
        const usd = (i % 7) * UNIT;
        total += usd;
        await stores[i % 3].settle({ keyId, spend: { model: i % 2 ? 'a' : 'b', usd } });
      }
      calls = sent();
      before = (await redisState(keyId)).spent;
    } finally {
      for (const s of stores) await s.close();
      client.disconnect();
    }
    assert.equal(calls, 0, `${calls} Redis commands for 1,000 settlements`);
    assert.equal(before, 0, 'nothing written before the sync');
    assert.equal((await redisState(keyId)).spent, total, 'every settlement counted once, at close');
  });

  it('spend alone is written by the sync a lease period later, without a close', async () => {
    const store = leaseStore(clients[0], 100);
    const keyId = `lease-spend-timer-${Date.now()}`;
    let spent = 0;
    try {
      await store.settle({ keyId, spend: { model: 'm', usd: 3 * UNIT } });
      await store.settle({ keyId, spend: { model: 'm', usd: 5 * UNIT } });
      for (let i = 0; i < 100 && spent === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        spent = (await redisState(keyId)).spent;
      }
      await store.settle({ keyId, spend: { model: 'm', usd: UNIT } });
    } finally {
      await store.close();
    }
    assert.equal(spent, 8 * UNIT, 'written by the timer');
    assert.equal((await redisState(keyId)).spent, 9 * UNIT, 'and the rest at close');
  });

  // Found by an independent check (two replicas, rpm + tpm + budget, mixed routes): a token count, counted
  // against RPM alone, exchanged the lease for one with no TPM share, whose window name (0) the store took for a
  // new TPM window; requests of the TPM lease still in flight then settled as another window's, and their tokens
  // stayed in flight in Redis until the window ended.
  it('a token count between a leased request and its settlement leaves nothing in flight', async () => {
    const keyId = `lease-count-${Date.now()}`;
    const store = leaseStore(clients[0]);
    const now = Date.now();
    const limits = { keyId, windowMs: 60_000, rpm: 1_000 };
    const budget = (i: number) => ({ usd: 1_000, period: day(), reserveUsd: UNIT, member: `m-${i}:${UNIT}`, now, until: now + 600_000 });
    const first = await store.admit({ ...limits, tokens: 300, tpm: 100_000, budget: budget(1) });
    const count = await store.admit({ ...limits, tokens: 0 });
    await store.settle({ keyId, ticket: count.ticket });
    await store.settle({ keyId, tokenDelta: -200, tokens: 300, spend: { model: 'm', usd: UNIT }, ticket: first.ticket });
    await store.close();
    assert.ok(first.ticket && count.ticket, 'both admitted from leases');
    const state = await redisState(keyId);
    assert.deepEqual([state.tpmInFlight, state.tpm, state.rpm], [0, 100, 2], 'nothing in flight; the window keeps what was used');
  });

  it('a key near its limit is admitted one request at a time, without a lease attempt per request', async () => {
    const { store, client, sent } = await countingStore();
    const verdicts: (string | undefined)[] = [];
    const keyId = `lease-near-${Date.now()}`;
    for (let i = 0; i < 60; i++) verdicts.push((await store.admit({ keyId, windowMs: 60_000, rpm: 50, tokens: 1 })).refused);
    const calls = sent();
    await store.close();
    client.disconnect();
    assert.deepEqual(verdicts, [...Array(50).fill(undefined), ...Array(10).fill('rpm')]);
    // One refused lease attempt (50 RPM leaves no slice of 8 requests), then one admission call each.
    assert.ok(calls <= 62, `${calls} Redis commands for 60 admissions`);
  });
});

/** A leased store on its own connection, counting the commands it sends (other test files share the server). */
async function countingStore() {
  let count = 0;
  const client = new Redis(REDIS_URL!);
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => (count++, send(...args))) as Redis['sendCommand'];
  const store = leaseStore(client);
  await client.ping();
  const start = count;
  return { store, client, sent: () => count - start };
}
