import fc from 'fast-check';

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
