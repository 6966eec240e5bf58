import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { AccessLog, type AccessFields, isoTime } from '../../apps/gateway/src/logger';

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
 * when the process exits the way the gateway does (process.exit right after the last line). The first test caught
 * asynchronous writes still under way at exit interleaving with the final flush (on a busy machine).
 */
describe('logs written in batches', () => {
  it('every line arrives whole and in order when the process exits right after the last line', () => {
    const lines = runLogging(`
let i = 0;
function burst() {
  for (let n = 0; n < 500; n++, i++) loggers.access.write('info', { i, pad: 'x'.repeat(i % 300) });
  if (i < 6000) return setImmediate(burst);
  loggers.app.info('stopped');
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
    const child = spawn(process.execPath, ['-e', `${PRELUDE}loggers.access.write('info', { n: 1 }); setTimeout(() => {}, 30000);`]);
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

  it('writes whole 64 KiB batches: one system call per batch, not per line', () => {
    // Counts the writes to stdout (the logger calls fs.writeSync on fd 1).
    const countWrites = `const fs = require('node:fs');
const writeSync = fs.writeSync;
let writes = 0;
fs.writeSync = function (fd, ...rest) { if (fd === 1) writes++; return writeSync.call(this, fd, ...rest); };
process.on('exit', () => process.stderr.write('writes=' + writes));
`;
    const lines = runLogging(
      `for (let i = 0; i < 3000; i++) loggers.access.write('info', { i, pad: 'x'.repeat(300) });
`,
      countWrites,
    );
    assert.equal(lines.length, 3000);
    const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
    // One write per 64 KiB batch (rounded up), at most one more for the rest.
    assert.ok(Number(/writes=(\d+)/.exec(lines.stderr!)?.[1]) <= Math.ceil(bytes / 65536) + 1, `${lines.stderr} for ${bytes} bytes`);
  });

  it('multi-byte characters and lines longer than a batch arrive whole', () => {
    // Lines of 1- to 4-byte characters whose ends fall anywhere in a batch, and lines of
    // 150,000 and 500,000 code units (up to 1.5 MB), longer than the buffer.
    const lines = runLogging(`
const sizes = [];
for (let i = 0; i < 400; i++) sizes.push(i % 97 === 0 ? 30000 + i : (i * 37) % 1200);
sizes.push(100000);
sizes.forEach((n, i) => loggers.access.write('info', { i, text: 'a'.repeat(i % 7) + 'é€😀x'.repeat(n) }));
`);
    assert.equal(lines.length, 401);
    lines.forEach((line, i) => {
      const { i: index, text } = JSON.parse(line) as { i: number; text: string };
      assert.equal(index, i);
      const n = i === 400 ? 100000 : i % 97 === 0 ? 30000 + i : (i * 37) % 1200;
      assert.equal(text, 'a'.repeat(i % 7) + 'é€😀x'.repeat(n));
    });
  });

  it('waits for a reader that falls behind on a non-blocking pipe, losing nothing', async () => {
    // net.Socket on fd 1 makes the pipe non-blocking, so writes that find it full fail with
    // EAGAIN; the parent reads nothing for 500 ms while the child writes ~2 MB.
    const child = spawn(process.execPath, [
      '-e',
      `new (require('node:net').Socket)({ fd: 1, readable: false });
${PRELUDE}for (let i = 0; i < 5000; i++) loggers.access.write('info', { i, pad: 'x'.repeat(400) });
process.exit(0);`,
    ]);
    child.stdout.pause();
    await new Promise((done) => setTimeout(done, 500));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const code = await new Promise((done, fail) => {
      child.once('close', done);
      // A bound for "never": lost bytes can leave the pipe without its end.
      setTimeout(() => fail(new Error('stdout did not end in 10 s')), 10_000).unref();
    });
    assert.equal(code, 0);
    const indexes = Buffer.concat(chunks)
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { i: number }).i);
    assert.deepEqual(
      indexes,
      Array.from({ length: 5000 }, (_, i) => i),
    );
  });

  it('redacts secrets in the app logger', () => {
    const [line] = runLogging(`loggers.app.info({ authorization: 'Bearer sk-secret' }, 'x'); `);
    assert.equal(JSON.parse(line!).authorization, '[redacted]');
  });

  it('writes the access line pino would: the same fields in the same order, undefined ones left out (fast-check, fixed seed)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary' }),
      // What JSON escapes or keeps, often enough to be drawn: quotes, backslashes, controls, DEL, non-ASCII, a lone surrogate.
      fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\ud800', '/') }),
      fc.double(),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, -0),
      fc.integer(),
      fc.boolean(),
      fc.constant(undefined),
    );
    const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,12}$/);
    const level = fc.constantFrom('debug' as const, 'info' as const, 'warn' as const);
    fc.assert(
      fc.property(fc.dictionary(key, value), level, (fields, at) => {
        const ours: string[] = [];
        const theirs: string[] = [];
        new AccessLog('debug', { write: (line: string) => ours.push(line) }).write(at, fields as AccessFields);
        const time = isoTime();
        pino({ level: 'debug', base: { service: 'ai-gateway' }, timestamp: () => time }, { write: (line: string) => theirs.push(line) })[
          at
        ](fields, 'request');
        assert.equal(ours.length, 1);
        assert.ok(ours[0].endsWith('\n'));
        const parsed = [JSON.parse(ours[0]), JSON.parse(theirs[0])];
        parsed[0].time = parsed[1].time; // made a moment apart
        assert.deepEqual(parsed[0], parsed[1]);
        assert.deepEqual(Object.keys(parsed[0]), Object.keys(parsed[1]));
      }),
      { seed: 23, numRuns: 500 },
    );
  });

  it('the access line follows LOG_LEVEL: probes at debug, requests at info, failures at warn', () => {
    const at = (level: string) =>
      (['debug', 'info', 'warn'] as const).filter((l) => new AccessLog(level, { write: () => true }).enabled(l));
    assert.deepEqual(at('debug'), ['debug', 'info', 'warn']);
    assert.deepEqual(at('info'), ['info', 'warn']);
    assert.deepEqual(at('warn'), ['warn']);
    assert.deepEqual(at('error'), []);
    assert.deepEqual(at('silent'), []);
  });

  it("stamps pino's ISO time exactly, whatever the sequence of clock readings (fast-check, fixed seed)", () => {
    const reading = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: -2, max: 1_500 }));
    fc.assert(
      fc.property(fc.array(reading, { minLength: 1, maxLength: 50 }), (steps) => {
        // Absolute times and small steps forward or back, so the per-millisecond and per-second reuse is exercised.
        let now = 1_764_000_000_000;
        for (const step of steps) {
          now = step > 1_500 ? step : Math.max(0, now + step);
          assert.equal(isoTime(now), `,"time":"${new Date(now).toISOString()}"`);
        }
      }),
      { seed: 17, numRuns: 500 },
    );
  });
});
