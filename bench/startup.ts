/**
 * Start-up time: spawn → `GET /ready` 200, for one or more builds of the gateway, interleaved
 * (A, B, A, B…) so a busy machine weighs on every variant alike. The gateway is pinned to one
 * core (`taskset -c 0`) and runs the benchmark's lean config (cache off, one openai-compatible
 * provider, nothing listening behind it). Wall time and the child's CPU time (user + system,
 * /proc, 10 ms ticks) up to the first 200 are reported as median and range.
 *   node dist/bench/startup.js [--runs 10] label=path/to/main.js[,ENV=value…] …
 * The first start of each variant is a warm-up and is not counted. `NODE_COMPILE_CACHE=<dir>` as
 * a variant's env measures with Node's on-disk compile cache (written when the gateway exits).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/free-port';

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(opts.runs);
const POLL_MS = 10;
const TICK_MS = 1000 / 100; // USER_HZ

interface Variant {
  label: string;
  main: string;
  env: Record<string, string>;
  wall: number[];
  cpu: number[];
}

const variants: Variant[] = positionals.map((arg) => {
  const [label, rest] = arg.split(/=(.*)/s);
  const [main, ...envs] = rest.split(',');
  return { label, main, env: Object.fromEntries(envs.map((e) => e.split(/=(.*)/s))), wall: [], cpu: [] };
});
if (!variants.length) throw new Error('usage: node dist/bench/startup.js [--runs N] label=main.js[,ENV=value…] …');

const dir = mkdtempSync(join(tmpdir(), 'gateway-startup-'));
const config = join(dir, 'lean.yaml');
writeFileSync(
  config,
  `cache: { enabled: false }
providers:
  - { name: upstream, type: openai-compatible, baseUrl: "http://127.0.0.1:18080/v1" }
models:
  - name: bench-model
    deployments: [{ provider: upstream, model: gpt-4o-mini }]
`,
);

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

async function start(v: Variant): Promise<{ wall: number; cpu: number }> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn('taskset', ['-c', '0', process.execPath, '--max-semi-space-size=4', '--heap-growing-percent=50', v.main], {
    env: {
      PATH: process.env.PATH,
      GATEWAY_CONFIG: config,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      METRICS_PORT: '0',
      SHUTDOWN_DELAY_MS: '0',
      ...v.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise((done) => child.once('exit', done));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${v.label} exited ${child.exitCode}: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return { wall: performance.now() - began, cpu: cpuMs(child.pid!) };
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    // Stopped as a container is (SIGTERM, a drain, exit 0), so the compile cache is written.
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs: number[]) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;

async function main(): Promise<void> {
  try {
    for (const v of variants) await start(v);
    for (let i = 0; i < RUNS; i++) {
      for (const v of i % 2 ? [...variants].reverse() : variants) {
        const r = await start(v);
        v.wall.push(r.wall);
        v.cpu.push(r.cpu);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `${new Date().toISOString()}, ${RUNS} starts each, interleaved, taskset -c 0, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  console.log('| variant | wall ms, median (range) | CPU ms, median (range) |');
  console.log('|---|---|---|');
  for (const v of variants) console.log(`| ${v.label} | ${fmt(v.wall)} | ${fmt(v.cpu)} |`);
}

void main();
