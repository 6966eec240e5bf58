import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import type { AdmitInput, LeaseTicket, SettleInput } from '../../libs/security/src/admission-store';
import { limitKeys } from '../../libs/security/src/limit-keys';

const utcDay = () => new Date().toISOString().slice(0, 10);

/** USD in 1/1024ths: exact in binary floating point, so sums do not depend on their order. */
export const UNIT = 1 / 1024;

/** A request to one of `replicas` replicas: what it reserves at admission and what it leaves unused at settlement. */
export const limitedRequest = (replicas: number) =>
  fc.record({
    replica: fc.integer({ min: 0, max: replicas - 1 }),
    tokens: fc.integer({ min: 1, max: 40 }),
    /** Tokens given back at settlement (the completion was shorter than reserved). */
    unusedTokens: fc.integer({ min: 0, max: 40 }),
    /** Its worst-case cost, in UNITs. */
    reserve: fc.integer({ min: 1, max: 16 }),
    unusedUsd: fc.integer({ min: 0, max: 16 }),
  });

type LimitedRequest = typeof limitedRequest extends (n: number) => fc.Arbitrary<infer T> ? T : never;

/**
 * The admissions and settlements of one run's `limitedRequest`s of `keyId` under these limits (the budget in UNITs),
 * with what they should leave in Redis (assertExactLimits).
 */
export class LimitTally {
  /** Requests admitted, and the tokens and USD their settlements used. */
  readonly expected = { rpm: 0, tpm: 0, spent: 0 };
  private seq = 0;

  constructor(
    private readonly keyId: string,
    private readonly limits: { rpm: number; tpm: number; budgetUnits: number },
  ) {}

  /** The admission of `q`, and its hold's member. */
  admission(q: LimitedRequest): { input: AdmitInput; member: string } {
    const now = Date.now();
    const reserveUsd = q.reserve * UNIT;
    const member = `${this.keyId}-${++this.seq}:${reserveUsd}`;
    const { rpm, tpm, budgetUnits } = this.limits;
    const budget = { usd: budgetUnits * UNIT, period: utcDay(), reserveUsd, member, now, until: now + 600_000 };
    return { input: { keyId: this.keyId, windowMs: 60_000, rpm, tpm, tokens: q.tokens, budget }, member };
  }

  admitted(): void {
    this.expected.rpm += 1;
  }

  /** What a finished `q` (admitted with hold `member`) settles: the tokens and USD it used of what it reserved. */
  settlement(q: LimitedRequest, member: string, ticket?: LeaseTicket): SettleInput {
    const tokens = Math.max(0, q.tokens - q.unusedTokens);
    const usd = Math.max(0, q.reserve - q.unusedUsd) * UNIT;
    this.expected.tpm += tokens;
    this.expected.spent += usd;
    return {
      keyId: this.keyId,
      tokenDelta: tokens - q.tokens,
      tokens: q.tokens,
      spend: { model: 'm', usd },
      hold: { member, usd: q.reserve * UNIT },
      ticket,
    };
  }
}

/**
 * Asserts that every settlement reached Redis, and that Redis holds of `keyId` exactly the requests admitted (RPM), the
 * tokens and USD settled, and nothing in flight or held.
 */
export async function assertExactLimits(
  redis: Redis,
  keyId: string,
  settled: PromiseSettledResult<void>[],
  expected: { rpm: number; tpm: number; spent: number },
): Promise<void> {
  assert.deepEqual(
    settled.filter((r) => r.status === 'rejected'),
    [],
    'every settlement reached Redis',
  );
  const keys = limitKeys(keyId);
  const state = {
    rpm: Number((await redis.get(keys.rpm)) ?? 0),
    tpm: Number((await redis.get(keys.tpm)) ?? 0),
    tpmInFlight: Number((await redis.get(keys.tpmInFlight)) ?? 0),
    spent: Number((await redis.hget(`gateway:{${keyId}}:spend:${utcDay()}`, '_total')) ?? 0),
    held: Number((await redis.get(keys.held)) ?? 0),
    holds: await redis.zcard(keys.holds),
  };
  assert.deepEqual(state, { ...expected, tpmInFlight: 0, held: 0, holds: 0 });
}
