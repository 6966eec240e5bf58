import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { parseConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { configWith, GatewayProcess } from '../support/gateway';
import { freePort } from '../support/free-port';

/**
 * A `rediss://` Redis with a password and a certificate from a CA of its own, as Memorystore
 * with AUTH and in-transit encryption: the gateway's Redis client trusts that CA only when
 * REDIS_TLS_CA_FILE names it. Certificates come from the openssl command line.
 */
const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const OPENSSL = spawnSync('openssl', ['version']).status === 0;
const PASSWORD = 'memorystore-auth-string-0123';

function openssl(dir: string, ...args: string[]): void {
  const res = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
}

async function pingWith(env: Record<string, string>): Promise<boolean> {
  const service = new RedisService(parseConfig(configWith(), env));
  try {
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = await service.ping(500);
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    return ok;
  } finally {
    await service.onApplicationShutdown();
  }
}

describe(
  'Redis over TLS with a CA file (Memorystore in-transit encryption)',
  { skip: (!REDIS_SERVER || !OPENSSL) && 'TEST_REDIS_SERVER or openssl missing (run npm test)' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
    let server: ChildProcess;
    let url: string;

    before(async () => {
      openssl(
        dir,
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '1',
        '-subj',
        '/CN=test-redis-ca',
      );
      openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      openssl(
        dir,
        'x509',
        '-req',
        '-in',
        'server.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'server.crt',
        '-days',
        '1',
        '-extfile',
        'san.ext',
      );
      const port = await freePort();
      server = spawn(
        REDIS_SERVER!,
        [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--requirepass',
          PASSWORD,
          '--dir',
          dir,
          '--tls-cert-file',
          join(dir, 'server.crt'),
          '--tls-key-file',
          join(dir, 'server.key'),
          '--tls-ca-cert-file',
          join(dir, 'ca.crt'),
          '--tls-auth-clients',
          'no',
        ],
        { stdio: 'ignore' },
      );
      url = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
    });
    after(() => {
      server?.kill();
      rmSync(dir, { recursive: true, force: true });
    });

    it('connects when REDIS_TLS_CA_FILE names the CA that signed the server certificate', async () => {
      assert.equal(await pingWith({ REDIS_URL: url, REDIS_TLS_CA_FILE: join(dir, 'ca.crt') }), true);
    });

    it('refuses the server without it (the system CAs do not know this one)', async () => {
      assert.equal(await pingWith({ REDIS_URL: url }), false);
    });

    it('a late second error on the socket that failed verification is absorbed, not thrown (it would stop the process)', async () => {
      const service = new RedisService(parseConfig(configWith(), { REDIS_URL: url }));
      try {
        const client = service.client as Redis;
        // The socket that failed is the client's stream while ioredis reports its error.
        const failed = await new Promise<EventEmitter>((resolve) => client.once('error', () => resolve(client.stream)));
        // What the server's TLS alert does when it arrives after the verification error.
        assert.doesNotThrow(() => failed.emit('error', new Error('tlsv1 alert decode error')));
      } finally {
        await service.onApplicationShutdown();
      }
    });

    it('a CA file that cannot be read is a configuration error naming the variable', () => {
      const config = parseConfig(configWith(), { REDIS_URL: url, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') });
      assert.throws(() => new RedisService(config), /redis\.tlsCaFile \(REDIS_TLS_CA_FILE\): cannot read .*missing\.pem/);
    });

    // redisauth34: the reverse of rediss:// to a plain Redis (test/e2e/redis-refused-user.e2e.test.ts).
    it('redis:// to the TLS port: the warning names TLS as the likely cause of the reset', async () => {
      const gateway = await GatewayProcess.start(configWith(), { env: { REDIS_URL: url.replace('rediss:', 'redis:') } });
      try {
        const [line] = await gateway.logged(/^Redis unavailable: /);
        assert.match(
          String(line?.msg),
          /ECONNRESET \(a TLS port resets a client that does not speak TLS: if this one is, REDIS_URL must be rediss:\/\/\)$/,
        );
      } finally {
        await gateway.stop();
      }
    });

    it('refuses a wrong password over the trusted connection', async () => {
      assert.equal(await pingWith({ REDIS_URL: url.replace(PASSWORD, 'wrong-password'), REDIS_TLS_CA_FILE: join(dir, 'ca.crt') }), false);
    });
  },
);
