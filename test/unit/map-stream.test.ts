import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mapStream } from '../../libs/providers/src/map-stream';

/**
 * mapStream (libs/providers/src/map-stream.ts) against the async generator it replaces on the
 * streaming path: `for await (const c of source) yield* step(c); yield* end();`, with a failure
 * of the source or of a step turned into `fail`'s outputs. Sources may fail at any chunk, steps
 * may throw or answer late, and the reader may stop at any point.
 */
interface Plan {
  chunks: number[];
  sourceFailsAt: number | undefined;
  stepThrowsAt: number | undefined;
  asyncSteps: boolean;
  withFail: boolean;
  stopAfter: number | undefined;
}

const plans = fc.record({
  chunks: fc.array(fc.nat(5), { maxLength: 8 }),
  sourceFailsAt: fc.option(fc.nat(8), { nil: undefined }),
  stepThrowsAt: fc.option(fc.nat(8), { nil: undefined }),
  asyncSteps: fc.boolean(),
  withFail: fc.boolean(),
  stopAfter: fc.option(fc.nat(20), { nil: undefined }),
});

/** A source that records how it was read; it fails at `failsAt` when given. */
function source(plan: Plan) {
  const log = { nexts: 0, returns: 0 };
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const i = log.nexts++;
        if (i === plan.sourceFailsAt) throw new Error(`source failed at ${i}`);
        return i < plan.chunks.length ? { value: plan.chunks[i]!, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        log.returns++;
        return { value: undefined, done: true };
      },
    }),
  };
  return { iterable, log };
}

/** `n` outputs for chunk `c` at position `i`. */
const outputs = (c: number, i: number) => Array.from({ length: c }, (_, k) => `${i}.${k}`);

function steps(plan: Plan) {
  let i = 0;
  return {
    step: (c: number) => {
      const at = i++;
      if (at === plan.stepThrowsAt) throw new Error(`step failed at ${at}`);
      return plan.asyncSteps ? Promise.resolve(outputs(c, at)) : outputs(c, at);
    },
    end: () => ['end'],
    ...(plan.withFail ? { fail: (err: unknown) => [`failed: ${(err as Error).message}`] } : {}),
  };
}

/** The reference: the async generator the streaming path used before. */
async function* reference(source: AsyncIterable<number>, s: ReturnType<typeof steps>): AsyncGenerator<string> {
  try {
    for await (const c of source) yield* await s.step(c);
    yield* s.end();
  } catch (err) {
    if (!s.fail) throw err;
    yield* s.fail(err);
  }
}

async function read(iterable: AsyncIterable<string>, stopAfter: number | undefined) {
  const out: string[] = [];
  let error: string | undefined;
  try {
    for await (const o of iterable) {
      out.push(o);
      if (stopAfter !== undefined && out.length > stopAfter) break;
    }
  } catch (err) {
    error = (err as Error).message;
  }
  return { out, error };
}

describe('mapStream', () => {
  it('yields, fails and closes its source exactly as the async generator it replaces', async () => {
    await fc.assert(
      fc.asyncProperty(plans, async (plan) => {
        const mine = source(plan);
        const theirs = source(plan);
        const got = await read(mapStream(mine.iterable, steps(plan)), plan.stopAfter);
        const want = await read(reference(theirs.iterable, steps(plan)), plan.stopAfter);
        assert.deepEqual(got, want);
        assert.deepEqual(mine.log, theirs.log);
      }),
      { numRuns: 500 },
    );
  });

  it('after its end, a failure or an early stop it stays done', async () => {
    await fc.assert(
      fc.asyncProperty(plans, async (plan) => {
        const it = mapStream(source(plan).iterable, steps(plan));
        await read(it, plan.stopAfter);
        assert.deepEqual(await it.next(), { value: undefined, done: true });
      }),
      { numRuns: 200 },
    );
  });
});
