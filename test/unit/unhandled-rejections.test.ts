import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { keepServingOnUnhandledRejections } from '../../apps/gateway/src/unhandled-rejections';

// Node's default for a promise that fails with nothing to handle it is to exit: with `"choices":[null]` from an
// upstream, the cache's unawaited store did so, taking every tenant's requests with it (an independent check).
describe('an unhandled rejection once serving', () => {
  it('is logged at error with what was thrown, and counted; the listener keeps the process from exiting', () => {
    const process = new EventEmitter();
    const logged: [Record<string, unknown>, string][] = [];
    let counted = 0;
    keepServingOnUnhandledRejections(
      { error: (obj: Record<string, unknown>, msg: string) => logged.push([obj, msg]) } as never,
      () => counted++,
      process,
    );
    const thrown = new TypeError("Cannot read properties of null (reading 'finish_reason')");
    process.emit('unhandledRejection', thrown, Promise.resolve());
    process.emit('unhandledRejection', 'a bare string', Promise.resolve());
    assert.equal(counted, 2);
    assert.equal(logged[0]![0].err, thrown);
    assert.match(logged[0]![1], /unhandled promise rejection/);
    assert.equal((logged[1]![0].err as Error).message, 'a bare string');
    assert.equal(process.listenerCount('unhandledRejection'), 1);
  });
});
