import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { GatewayConfig } from '../../libs/config/src';
import { GatewayError } from '../../libs/providers/src';
import { KeyConcurrency } from '../../libs/security/src/key-concurrency';
import type { KeyRecord } from '../../libs/security/src/key-record';

/**
 * What may happen to a key's requests, in any order: one starts (a place taken, or its 429); one ends (its response
 * closes: an answer, an error, a stream's end or cut, the drain's cut); one ends while its upstream call goes on (a
 * JSON answer whose client left) and that call settles later, or fails; a response closes again, or closes without
 * having taken a place (its client left during the key lookup, or it was refused).
 */
const op = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), key: fc.nat(2) }),
  fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('leaveWhileCalling' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('callSettles' as const), pick: fc.nat(), fails: fc.boolean() }),
  fc.record({ kind: fc.constant('endAgain' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('endUnheld' as const) }),
);

/** Lets the promise callbacks of settled calls run. */
const tick = () => new Promise<void>((done) => setImmediate(done));

describe('KeyConcurrency: places taken and given back in any order', () => {
  it('counts the requests of a key without a limit, so a limit set on it later refuses until they are under it', () => {
    const concurrency = new KeyConcurrency({ security: {} } as GatewayConfig);
    const key: KeyRecord = { id: 'busy', source: 'admin' };
    const holders = [{}, {}, {}];
    for (const holder of holders) concurrency.enter(key, holder);
    assert.equal(concurrency.inFlightOf(key.id), 3);
    const capped = { ...key, maxConcurrent: 2 };
    const refused = (holder: object) =>
      assert.throws(
        () => concurrency.enter(capped, holder),
        (e: unknown) => e instanceof GatewayError && e.status === 429 && e.code === 'concurrency_limit_exceeded',
      );
    refused({});
    concurrency.leave(holders[0]);
    refused({});
    concurrency.leave(holders[1]);
    concurrency.enter(capped, {});
    assert.equal(concurrency.inFlightOf(key.id), 2);
  });

  // Left by race33: with authentication off every request is the anonymous key's, held to
  // security.defaultMaxConcurrent, and the refusal spoke of "This API key" to a client that sent none.
  it('with authentication off, the refusal names the gateway-wide limit, not an API key', () => {
    const concurrency = new KeyConcurrency({ security: { defaultMaxConcurrent: 1 } } as GatewayConfig);
    const anonymous: KeyRecord = { id: 'anonymous', source: 'anonymous' };
    concurrency.enter(anonymous, {});
    assert.throws(
      () => concurrency.enter(anonymous, {}),
      (e: unknown) =>
        e instanceof GatewayError &&
        e.status === 429 &&
        !/This API key/.test(e.message) &&
        /security\.defaultMaxConcurrent/.test(e.message),
    );
  });

  it('counts exactly the requests not yet ended, never more than the limit, and none once all have ended', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        fc.array(op, { maxLength: 60 }),
        async (own, byDefault, ops) => {
          const concurrency = new KeyConcurrency({ security: { defaultMaxConcurrent: byDefault } } as GatewayConfig);
          // Two keys with a limit of their own (one shared id is not possible: ids are unique), one held to the default,
          // which may be none: its requests are counted all the same, so that a limit set later sees them (race33 D1).
          const keys: KeyRecord[] = [
            { id: 'a', maxConcurrent: own, source: 'admin' },
            { id: 'b', maxConcurrent: own + 1, source: 'config' },
            { id: 'c', source: 'admin' },
          ];
          const limit = (k: KeyRecord) => k.maxConcurrent ?? byDefault ?? Infinity;
          const open: { key: KeyRecord; holder: object }[] = [];
          const closed: object[] = [];
          const calling: { key: KeyRecord; settle: (fails: boolean) => void }[] = [];
          const expected = new Map<string, number>();
          const check = () => {
            for (const k of keys) {
              assert.equal(concurrency.inFlightOf(k.id), expected.get(k.id) ?? 0, `key ${k.id}`);
              assert.ok(concurrency.inFlightOf(k.id) <= limit(k));
            }
          };
          for (const o of ops) {
            if (o.kind === 'start') {
              const key = keys[o.key];
              const holder = {};
              const held = expected.get(key.id) ?? 0;
              if (held < limit(key)) {
                concurrency.enter(key, holder);
                open.push({ key, holder });
                expected.set(key.id, held + 1);
              } else {
                assert.throws(
                  () => concurrency.enter(key, holder),
                  (e: unknown) => e instanceof GatewayError && e.status === 429 && e.code === 'concurrency_limit_exceeded',
                );
                closed.push(holder);
              }
            } else if ((o.kind === 'end' || o.kind === 'leaveWhileCalling') && open.length) {
              const [{ key, holder }] = open.splice(o.pick % open.length, 1);
              closed.push(holder);
              if (o.kind === 'end') {
                concurrency.leave(holder);
                expected.set(key.id, expected.get(key.id)! - 1);
              } else {
                let settle!: (fails: boolean) => void;
                const call = new Promise<void>(
                  (resolve, reject) => (settle = (fails) => (fails ? reject(new Error('upstream')) : resolve())),
                );
                concurrency.leave(holder, call);
                calling.push({ key, settle });
              }
            } else if (o.kind === 'callSettles' && calling.length) {
              const [{ key, settle }] = calling.splice(o.pick % calling.length, 1);
              settle(o.fails);
              await tick();
              expected.set(key.id, expected.get(key.id)! - 1);
            } else if (o.kind === 'endAgain' && closed.length) {
              concurrency.leave(closed[o.pick % closed.length]);
            } else if (o.kind === 'endUnheld') {
              concurrency.leave({});
            }
            check();
          }
          for (const { holder } of open) concurrency.leave(holder);
          for (const { settle } of calling) settle(false);
          await tick();
          for (const k of keys) assert.equal(concurrency.inFlightOf(k.id), 0, `key ${k.id} leaked a place`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
