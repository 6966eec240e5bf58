import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '@gateway/config';
import { GatewayProcess } from '../support/gateway';

/**
 * docker-compose.yaml from a fresh clone, checked without a Docker engine (none runs here):
 * the file is parsed, its variables interpolated the way `docker compose` does (shell
 * environment, then the project's .env, then `${VAR:-default}`), and the gateway it describes is
 * started as a process with that environment to answer the curl the README and the compose file
 * print.
 */
const REPO_ROOT = resolve(__dirname, '../../..');
const read = (file: string) => readFileSync(resolve(REPO_ROOT, file), 'utf8');
const compose = parseYaml(read('docker-compose.yaml'));
const REDIS_URL = process.env.TEST_REDIS_URL;
const REDIS_CLI = spawnSync('redis-cli', ['--version']).status === 0;

/** `${VAR:-default}` and `${VAR}` as compose interpolates them, from `vars` (empty counts as unset for `:-`). */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => vars[name] || (fallback ?? ''));
}

/** A .env file as compose reads it: NAME=value lines, comments and blanks skipped. */
function dotenv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2]]),
  );
}

/** The gateway container's environment: the image's ENV, then env_file (.env if present), then `environment`. */
function gatewayEnv(dotEnv: Record<string, string> | undefined): Record<string, string> {
  const image = Object.fromEntries([...read('Dockerfile').matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [m[1], m[2]]));
  const environment = Object.fromEntries(
    Object.entries(compose.services.gateway.environment as Record<string, string>).map(([k, v]) => [
      k,
      interpolate(String(v), dotEnv ?? {}),
    ]),
  );
  return { ...image, ...(dotEnv ?? {}), ...environment };
}

/** The curl lines of a text (with continuation lines joined), as argument lists. */
function curls(text: string): string[][] {
  const joined = text.replace(/\\\n\s*(#\s*)?/g, ' ');
  return [...joined.matchAll(/^\s*(?:#\s*)?(curl .*)$/gm)].map((m) =>
    [...m[1].matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2] ?? a[3]),
  );
}
const header = (args: string[], name: string) =>
  args.flatMap((a, i) => (args[i - 1] === '-H' ? [a] : [])).find((h) => h.toLowerCase().startsWith(`${name}:`));

describe('docker-compose.yaml', () => {
  const { gateway, redis } = compose.services;

  it('runs the image built here against Redis Stack, ports on loopback only', () => {
    assert.equal(gateway.build, '.');
    assert.deepEqual(gateway.env_file, [{ path: '.env', required: false }], 'a fresh clone has no .env');
    assert.match(redis.image, /^redis\/redis-stack-server:\d/);
    const env = gatewayEnv(undefined);
    const url = new URL(env.REDIS_URL);
    assert.equal(url.hostname, 'redis', 'the compose service name');
    assert.equal(url.port, '6379', 'the port Redis listens on');
    assert.equal(redis.ports, undefined, 'Redis, without a password, is not published on the host');
    assert.equal(gateway.depends_on.redis.condition, 'service_healthy');
    const published = Object.fromEntries(
      (gateway.ports as string[]).map((p) => {
        const [host, hostPort, containerPort] = p.split(':');
        assert.equal(host, '127.0.0.1', `${p} is published on loopback only`);
        return [containerPort, hostPort];
      }),
    );
    assert.deepEqual(Object.keys(published).sort(), [env.PORT, env.METRICS_PORT].sort(), 'the API and the ops listener');
    assert.equal(env.METRICS_HOST, '0.0.0.0', 'the ops listener reachable through its published port');
    assert.equal(gateway.read_only, true, 'the image works with a read-only root filesystem');
  });

  it('gives the gateway longer to stop than its not-ready delay, drain and wait for a last scrape', () => {
    const server = parseConfig(parseYaml(read('config/gateway.yaml')), gatewayEnv(undefined)).server as {
      shutdownGraceMs: number;
      shutdownScrapeMs: number;
      shutdownDelayMs?: number;
    };
    const stopping = (server.shutdownDelayMs ?? 0) + server.shutdownGraceMs + server.shutdownScrapeMs;
    assert.ok(parseInt(gateway.stop_grace_period, 10) * 1000 > stopping);
  });

  // Found by an independent check (docs32): SHUTDOWN_SCRAPE_MS was missing, though README says every variable it names is there.
  it('.env.example lists every environment variable README names as listed there', () => {
    const readme = read('README.md');
    const paragraph = readme.slice(
      readme.indexOf('Environment variables (all listed in'),
      readme.indexOf('A variable set to a value of the wrong kind'),
    );
    const names = [...paragraph.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(([, name]) => name);
    assert.ok(names.length > 30, `${names.length} names read`);
    const example = read('.env.example');
    assert.deepEqual(
      names.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example)),
      [],
    );
  });

  it('has a master key from a fresh clone and from a .env copied from .env.example, so the gateway starts on 0.0.0.0', () => {
    const example = dotenv(read('.env.example'));
    assert.ok(example.GATEWAY_MASTER_KEY, '.env.example documents a development key, not an empty one');
    for (const [where, env] of [
      ['no .env', gatewayEnv(undefined)],
      ['.env from .env.example', gatewayEnv(example)],
      ['.env with the key emptied', gatewayEnv({ ...example, GATEWAY_MASTER_KEY: '' })],
    ] as const) {
      assert.equal(env.HOST, '0.0.0.0', `${where}: the image listens on all interfaces`);
      assert.doesNotThrow(() => parseConfig(parseYaml(read('config/gateway.yaml')), env, where), where);
    }
    assert.throws(
      () => parseConfig(parseYaml(read('config/gateway.yaml')), { HOST: '0.0.0.0' }),
      /needs GATEWAY_MASTER_KEY/,
      'the check is real',
    );
  });

  it('Redis is healthy only on PONG', { skip: (!REDIS_URL || !REDIS_CLI) && 'TEST_REDIS_URL or redis-cli missing (run npm test)' }, () => {
    const [form, command] = redis.healthcheck.test;
    assert.equal(form, 'CMD-SHELL');
    const port = new URL(REDIS_URL!).port;
    const run = (cmd: string) => spawnSync('sh', ['-c', cmd.replace('redis-cli', `redis-cli -p ${port}`)]).status;
    assert.equal(run(command), 0, 'PONG');
    assert.notEqual(run(command.replace('ping', 'ping-unknown-command')), 0, 'an error reply is not healthy');
  });

  it(
    "the curl in the README's and the compose file's quick start is answered by the gateway compose describes",
    { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
    async () => {
      const readme = read('README.md');
      const section = readme.slice(readme.indexOf('docker compose up'));
      const [fromReadme] = curls(section);
      const [fromCompose] = curls(read('docker-compose.yaml'));
      assert.ok(fromReadme && fromCompose, 'both print a curl');
      assert.deepEqual(fromReadme, fromCompose, 'the README and the compose header agree');
      const { GATEWAY_CONFIG: _imagePath, ...env } = gatewayEnv(undefined);
      assert.equal(header(fromReadme, 'authorization'), `authorization: Bearer ${env.GATEWAY_MASTER_KEY}`, 'the curl sends the key');
      const url = fromReadme.find((a) => a.startsWith('http://'))!;
      assert.equal(new URL(url).port, gateway.ports[0].split(':')[1], 'the published API port');
      // The compose environment, on loopback and with the test's Redis instead of the `redis` service.
      const server = await GatewayProcess.start(parseYaml(read('config/gateway.yaml')), {
        env: { ...env, HOST: '127.0.0.1', PORT: '0', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', REDIS_URL: REDIS_URL! },
      });
      try {
        const local = new URL(url);
        const args = fromReadme.slice(1).map((a) => (a === url ? `${server.url}${local.pathname}` : a));
        const answer = spawnSync('curl', [...args, '--write-out', '\n%{http_code}'], { encoding: 'utf8' });
        const [body, status] = [answer.stdout.slice(0, answer.stdout.lastIndexOf('\n')), answer.stdout.split('\n').pop()];
        assert.equal(status, '200', answer.stdout + answer.stderr);
        assert.equal(JSON.parse(body).object, 'chat.completion');
        const auth = args.indexOf(header(fromReadme, 'authorization')!);
        const withoutKey = args.filter((_, k) => k !== auth && k !== auth - 1);
        const keyless = spawnSync('curl', [...withoutKey, '-o', '/dev/null', '-w', '%{http_code}'], { encoding: 'utf8' });
        assert.equal(keyless.stdout, '401', 'without the key the same curl is refused');
      } finally {
        await server.stop();
      }
    },
  );
});
