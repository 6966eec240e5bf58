import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const LOGGER = resolve(__dirname, '../../apps/gateway/src/logger.js');

/** Child-process source that makes `loggers` with createLoggers(), as the gateway does. */
const PRELUDE = `const { createLoggers } = require(${JSON.stringify(LOGGER)});
const loggers = createLoggers({ server: { logLevel: 'info' } });
`;

/** Runs `body` after PRELUDE in a child process and returns its stdout lines. */
function runLogging(body: string): string[] {
  const child = spawnSync(process.execPath, ['-e', PRELUDE + body], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.split('\n').filter(Boolean);
}

/**
 * The loggers batch lines into large asynchronous writes (apps/gateway/src/logger.ts): whatever
 * the batching, every line must come out whole, once, in order, including those still buffered
 * or being written when the process exits the way the gateway does (flushSync, then exit).
 */
describe('logs written in batches', () => {
  it('every line arrives whole and in order when the process exits right after flushSync()', () => {
    const lines = runLogging(`
let i = 0;
function burst() {
  for (let n = 0; n < 500; n++, i++) loggers.access.info({ i, pad: 'x'.repeat(i % 300) }, 'request');
  if (i < 6000) return setImmediate(burst);
  loggers.app.info('stopped');
  loggers.flushSync();
  process.exit(0);
}
burst();`);
    const parsed = lines.map((l) => JSON.parse(l) as { i?: number; msg: string });
    assert.deepEqual(
      parsed.filter((l) => l.msg === 'request').map((l) => l.i),
      Array.from({ length: 6000 }, (_, i) => i),
    );
    assert.equal(parsed.at(-1)!.msg, 'stopped');
  });

  it('a quiet process writes its lines within the flush interval, not only at exit', async () => {
    const child = spawn(process.execPath, ['-e', `${PRELUDE}loggers.access.info({ n: 1 }, 'request'); setTimeout(() => {}, 30000);`]);
    try {
      const first = await new Promise<string>((done, fail) => {
        child.stdout.once('data', (chunk: Buffer) => done(chunk.toString()));
        child.once('exit', () => fail(new Error('exited before writing')));
        // A bound for "never", far above the 200 ms interval: the line is not written until exit.
        setTimeout(() => fail(new Error('no line in 10 s')), 10_000).unref();
      });
      assert.equal(JSON.parse(first.trim()).n, 1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('redacts secrets in the app logger', () => {
    const [line] = runLogging(`loggers.app.info({ authorization: 'Bearer sk-secret' }, 'x'); loggers.flushSync();`);
    assert.equal(JSON.parse(line!).authorization, '[redacted]');
  });
});
