import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { parse as parseYaml } from 'yaml';
import { eventually } from '../support/eventually';
import { freePort } from '../support/free-port';

/**
 * The container image's production start, run without Docker (no engine runs here).
 * The Dockerfile's runtime stage is laid out in a temporary /app the way its COPY lines
 * say, with production dependencies from the same `npm ci --omit=dev` (from the
 * npm cache that `npm ci` filled), then started with the stage's ENV, CMD and numeric USER.
 */
const execFileAsync = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '../../..');
const dockerfile = readFileSync(resolve(REPO_ROOT, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package-lock.json'), 'utf8'));
const REDIS_URL = process.env.TEST_REDIS_URL;
const PROVIDER_KEY = 'sk-test-prodstart-not-a-real-key';

interface Stage {
  name: string;
  from: string;
  workdir: string;
  env: Record<string, string>;
  /** [source, destination, --from stage or undefined] */
  copies: [string, string, string | undefined][];
  runs: string[];
  user?: string;
  cmd?: string[];
  healthcheck?: string[];
  expose?: string;
}

/** Just enough of the Dockerfile grammar for this file: line continuations, ARG defaults, exec-form CMD. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, instr, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    const stage = stages[stages.length - 1];
    const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, n) => args[n] ?? '');
    switch (instr.toUpperCase()) {
      case 'ARG': {
        const [name, value] = rest.split('=');
        args[name] = value ?? '';
        break;
      }
      case 'FROM': {
        const [image, , name] = rest.split(/\s+/);
        stages.push({ name, from: expand(image), workdir: '/', env: {}, copies: [], runs: [] });
        break;
      }
      case 'WORKDIR':
        stage.workdir = rest;
        break;
      case 'ENV':
        for (const m of rest.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]] = m[2];
        break;
      case 'COPY': {
        const from = /--from=(\S+)/.exec(rest)?.[1];
        const parts = rest.split(/\s+/).filter((p) => !p.startsWith('--'));
        const dest = parts.pop()!;
        for (const src of parts) stage.copies.push([src, dest, from]);
        break;
      }
      case 'RUN':
        stage.runs.push(rest);
        break;
      case 'USER':
        stage.user = rest;
        break;
      case 'EXPOSE':
        stage.expose = rest;
        break;
      case 'CMD':
        stage.cmd = JSON.parse(rest);
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = JSON.parse(rest.slice(rest.indexOf('CMD') + 3));
        break;
    }
  }
  return stages;
}

const stages = parseDockerfile(dockerfile);
const runtime = stages[stages.length - 1];

describe('container image (Dockerfile)', () => {
  it('builds with the npm scripts the tests use and runs the package start command', () => {
    const build = stages.find((s) => s.name === 'build')!;
    const deps = stages.find((s) => s.name === 'deps')!;
    assert.match(build.from, /^node:24[-.]/, 'Node 24 LTS');
    assert.ok(
      stages.every((s) => s.from === build.from),
      'one base image for every stage',
    );
    assert.ok(build.runs.some((r) => r.startsWith('npm ci')));
    assert.ok(build.runs.includes('npm run build'));
    assert.ok(deps.runs.some((r) => r.startsWith('npm ci --omit=dev')));
    assert.equal(`${runtime.cmd!.join(' ')}`, pkg.scripts['start:prod'], 'CMD is `npm run start:prod` without npm in between');
    assert.ok(
      runtime.copies.every(([src, , from]) => from !== 'build' || !src.includes('node_modules')),
      'no dev dependencies copied',
    );
    assert.deepEqual(
      runtime.copies.filter(([, , from]) => from === 'deps').map(([src]) => src),
      ['/app/node_modules'],
      'node_modules only from the production-only stage',
    );
  });

  it('listens on 0.0.0.0:3000 in production mode as a numeric non-root user', () => {
    assert.equal(runtime.env.HOST, '0.0.0.0');
    assert.equal(runtime.env.PORT, '3000');
    assert.equal(runtime.expose, '3000 9464', 'the API and the ops listener');
    assert.equal(runtime.env.NODE_ENV, 'production');
    assert.match(runtime.user ?? '', /^[1-9]\d*:[1-9]\d*$/, 'numeric UID:GID so runAsNonRoot can verify it');
    assert.ok(runtime.healthcheck?.length, 'HEALTHCHECK');
  });

  it('.dockerignore keeps secrets, node_modules and build output out of the context', () => {
    const rules = readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(rules[0], '*', 'allow-list: everything is ignored unless re-included');
    const included = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
    for (const [src, , from] of runtime.copies.concat(stages.flatMap((s) => s.copies))) {
      if (!from)
        assert.ok(
          included.some((inc) => inc === src || inc.startsWith(`${src}/`)),
          `${src} is in the build context`,
        );
    }
    for (const secret of ['.env', 'node_modules', 'dist', '.tools']) assert.ok(!included.some((inc) => inc.startsWith(secret)), secret);
  });
});

/**
 * The node binary the image user can run. The image has it in /usr/local/bin; here the
 * test's own node may sit in a directory that user cannot enter (a checkout under /root,
 * mode 700), so it is copied into the image root when needed.
 */
function nodeFor(uid: number | undefined, root: string): string {
  if (uid === undefined) return process.execPath;
  const reachable = (path: string): boolean => {
    const parent = dirname(path);
    return (statSync(path).mode & 0o001) !== 0 && (parent === path || reachable(parent));
  };
  if (reachable(dirname(process.execPath)) && (statSync(process.execPath).mode & 0o001) !== 0) return process.execPath;
  const copy = join(root, 'usr/local/bin/node');
  mkdirSync(dirname(copy), { recursive: true });
  cpSync(process.execPath, copy);
  chmodSync(copy, 0o755);
  return copy;
}

describe('production start outside Docker', { timeout: 600_000 }, () => {
  let root: string;
  let app: string;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let url: string;
  let env: Record<string, string>;
  const output: string[] = [];

  before(
    async () => {
      root = mkdtempSync(join(tmpdir(), 'gateway-image-'));
      app = join(root, runtime.workdir);
      const prod = join(root, 'deps');
      mkdirSync(prod, { recursive: true });
      cpSync(resolve(REPO_ROOT, 'package.json'), join(prod, 'package.json'));
      cpSync(resolve(REPO_ROOT, 'package-lock.json'), join(prod, 'package-lock.json'));
      const started = Date.now();
      // Asynchronous, so the test runner's own timers keep running; on a busy 2-core machine
      // this install of ~170 MB takes from 20 s to a few minutes.
      await execFileAsync('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: prod });
      console.log(`# npm ci --omit=dev --prefer-offline: ${Date.now() - started} ms`);

      // The build stage's /app is this checkout (sources plus the dist/ that `npm run build:test` wrote).
      const source = (src: string, from?: string) =>
        from === 'deps' ? join(prod, src.replace(/^\/app\/?/, '')) : resolve(REPO_ROOT, src.replace(/^\/app\/?/, ''));
      for (const [src, dest, from] of runtime.copies) {
        const target = resolve(app, dest.endsWith('/') ? join(dest, src.split('/').pop()!) : dest);
        assert.ok(existsSync(source(src, from)), `COPY source ${src} exists (run the build first)`);
        mkdirSync(dirname(target), { recursive: true });
        // The production install is moved, not copied: 150 MB of files.
        if (from === 'deps') renameSync(source(src, from), target);
        else cpSync(source(src, from), target, { recursive: true });
      }
      // Owned by root and not writable by the image's user: a stand-in for the read-only root filesystem.
      execFileSync('chmod', ['-R', 'a+rX,go-w', root]);
      chmodSync(root, 0o755);

      const port = await freePort();
      const rebase = (v: string) => (v.startsWith(`${runtime.workdir}/`) ? join(app, v.slice(runtime.workdir.length)) : v);
      env = {
        ...Object.fromEntries(Object.entries(runtime.env).map(([k, v]) => [k, rebase(v)])),
        PATH: process.env.PATH!,
        // Loopback only in tests; the image's HOST=0.0.0.0 is checked above.
        HOST: '127.0.0.1',
        PORT: String(port),
        // A free port, not the image's 9464: another process on the machine may hold that one.
        METRICS_PORT: '0',
        OPENAI_API_KEY: PROVIDER_KEY,
        GATEWAY_MASTER_KEY: 'sk-gw-test-master-key',
        ...(REDIS_URL ? { REDIS_URL } : {}),
      };
      const [uid, gid] = runtime.user!.split(':').map(Number);
      const asImageUser = process.getuid?.() === 0 ? { uid, gid } : {};
      const [command, ...args] = runtime.cmd!;
      assert.equal(command, 'node');
      child = spawn(nodeFor(asImageUser.uid, root), args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], ...asImageUser });
      exited = new Promise((done) => {
        child.once('exit', done);
        child.once('error', (err) => {
          output.push(`spawn failed: ${err.message}`);
          done(null);
        });
      });
      url = await new Promise<string>((ready, fail) => {
        const onLine = (line: string) => {
          output.push(line);
          if (line.includes('"msg":"ai-gateway listening"')) ready(`http://127.0.0.1:${port}`);
        };
        createInterface({ input: child.stdout! }).on('line', onLine);
        createInterface({ input: child.stderr! }).on('line', onLine);
        exited.then((code) => fail(new Error(`gateway exited ${code}:\n${output.join('\n')}`)));
      });
    },
    { timeout: 600_000 },
  );

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('has only production dependencies installed', () => {
    const devOnly = Object.entries(lock.packages as Record<string, { dev?: boolean }>)
      .filter(([path, meta]) => path.startsWith('node_modules/') && meta.dev)
      .map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/typescript'), 'the lockfile marks dev-only packages');
    for (const path of devOnly) assert.ok(!existsSync(join(app, path)), `${path} is a dev dependency`);
    assert.ok(existsSync(join(app, 'node_modules/@nestjs/core')));
  });

  it('is ready with Redis from REDIS_URL', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, async () => {
    // Once the offline embedder of the image's semantic cache has loaded its model.
    assert.ok(await eventually(async () => (await fetch(`${url}/ready`)).ok));
  });

  it('answers /health and a chat completion on the mock model', async () => {
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: env.GATEWAY_MASTER_KEY, maxRetries: 0 });
    const res = await client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'from the image' }] });
    assert.match(res.choices[0].message.content ?? '', /from the image/);
  });

  it('takes provider keys from the environment and never logs them', async () => {
    const res = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${env.GATEWAY_MASTER_KEY}` } });
    const models = (await res.json()) as { data: { id: string }[] };
    const ids = models.data.map((m) => m.id);
    assert.ok(ids.includes('gpt-4o-mini'), 'OPENAI_API_KEY from env enabled the openai provider');
    assert.ok(!ids.includes('llama-3.1-8b-instant'), 'groq stays off without GROQ_API_KEY');
    assert.ok(!output.join('\n').includes(PROVIDER_KEY));
  });

  it('passes the image HEALTHCHECK, then drains on SIGTERM and exits 0', async () => {
    const [command, ...args] = runtime.healthcheck!;
    assert.equal(command, 'node');
    const healthcheck = () => spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 5_000 }).status;
    assert.equal(healthcheck(), 0);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(output.some((l) => l.includes('"msg":"stopped"')));
    assert.equal(healthcheck(), 1, 'the HEALTHCHECK fails once the gateway is gone');
  });
});
