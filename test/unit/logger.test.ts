import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const LOGGER = resolve(__dirname, '../../apps/gateway/src/logger.js');

/** Child-process source that makes `loggers` with createLoggers(), as the gateway does. */
const PRELUDE = `const { createLoggers } = require(${JSON.stringify(LOGGER)});
const loggers = createLoggers({ server: { logLevel: 'info' } });
`;

/** Runs `body` after `before` and PRELUDE in a child process and returns its stdout lines and its stderr. */
function runLogging(body: string, before = ''): string[] & { stderr?: string } {
  const child = spawnSync(process.execPath, ['-e', before + PRELUDE + body], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(child.status, 0, child.stderr);
  return Object.assign(child.stdout.split('\n').filter(Boolean), { stderr: child.stderr });
}

/**
 * The loggers batch lines into large writes (apps/gateway/src/logger.ts): whatever the batching,
 * every line must come out whole, once, in order, including those still buffered or being written
 * when the process exits the way the gateway does (flushSync, then exit). The first test caught
 * asynchronous writes still under way at exit interleaving with the final flush (on a busy machine).
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

  it('hands sonic-boom whole batches of lines: fed line by line, it copies its whole buffer for every line', () => {
    // Counts the writes the sonic-boom that pino.destination() makes receives (an own property of the instance).
    const countWrites = `const pino = require(require.resolve('pino', { paths: [${JSON.stringify(LOGGER)}] }));
const destination = pino.destination;
let writes = 0;
pino.destination = (...args) => {
  const sonic = destination(...args);
  const write = sonic.write;
  sonic.write = function (data) { writes++; return write.call(this, data); };
  return sonic;
};
process.on('exit', () => process.stderr.write('writes=' + writes));
`;
    const lines = runLogging(
      `for (let i = 0; i < 3000; i++) loggers.access.info({ i, pad: 'x'.repeat(300) }, 'request');
loggers.flushSync();`,
      countWrites,
    );
    assert.equal(lines.length, 3000);
    const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
    // One write per 64 KiB batch (rounded up), at most one more for the rest.
    assert.ok(Number(/writes=(\d+)/.exec(lines.stderr!)?.[1]) <= Math.ceil(bytes / 65536) + 1, `${lines.stderr} for ${bytes} bytes`);
  });

  it('redacts secrets in the app logger', () => {
    const [line] = runLogging(`loggers.app.info({ authorization: 'Bearer sk-secret' }, 'x'); loggers.flushSync();`);
    assert.equal(JSON.parse(line!).authorization, '[redacted]');
  });
});
