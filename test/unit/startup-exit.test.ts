import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { EX_CONFIG, listenOrExit } from '../../apps/gateway/src/startup-exit';

/** What listenOrExit wrote and the status it exited with, process.exit and stderr stood in for. */
async function exitOf(code: string): Promise<{ status: unknown; line: string }> {
  const exited = new Error('exited');
  let status: unknown;
  let line = '';
  const exit = mock.method(process, 'exit', (s: unknown) => {
    status = s;
    throw exited;
  });
  const write = mock.method(process.stderr, 'write', (chunk: string) => ((line += chunk), true));
  try {
    const failure = Object.assign(new Error(`getaddrinfo ${code} no-such-host.invalid`), { code });
    await assert.rejects(
      listenOrExit(() => Promise.reject(failure), 8080, 'no-such-host.invalid', 'PORT (or HOST)'),
      (err) => err === exited,
    );
  } finally {
    exit.mock.restore();
    write.mock.restore();
  }
  return { status, line };
}

/**
 * A HOST that does not resolve stops start-up like a port already taken: exit 78, one line (it
 * exited 1 with a getaddrinfo stack trace; found by an independent check). Node's listen fails
 * with the resolver's code, stood in for here: a real lookup would leave the loopback.
 */
describe('listenOrExit: a host that does not resolve', () => {
  for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
    it(`${code}: exit 78 with one line naming the host and the variables`, async () => {
      const { status, line } = await exitOf(code);
      assert.equal(status, EX_CONFIG);
      assert.match(
        line,
        /^ai-gateway: cannot listen on no-such-host\.invalid:8080: it names a host .*; set PORT \(or HOST\) to another\n$/,
      );
    });
  }

  it('an error the configuration cannot fix is thrown on', async () => {
    const failure = Object.assign(new Error('boom'), { code: 'EMFILE' });
    await assert.rejects(
      listenOrExit(() => Promise.reject(failure), 8080, '127.0.0.1', 'PORT'),
      failure,
    );
  });
});
