/**
 * Soak and chaos run: two gateway processes sharing one Redis behind a round-robin
 * proxy, a fixed mixed load, and faults on a schedule (upstream 5xx, 429, latency,
 * resets, cut streams, a provider down, Redis down, SIGTERM and restart, client
 * aborts, slow bodies). Prints what it proves as figures and exits non-zero when a
 * request was lost, a process crashed, or any other check failed. 127.0.0.1 only.
 *
 *   node dist/bench/soak.js --duration 600            # the reference run (RELIABILITY.md)
 *   node dist/bench/soak.js --duration 90 --ci        # the short run in npm test
 *   node dist/bench/soak.js --scenario storm --rate 100   # the 429 storm and bad probes (105 s, RELIABILITY.md)
 *   options: --rate 16 --limited-rate 1 --embedder mock|use --out DIR --sample-ms N
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { ChaosOpenAI } from './soak/chaos-upstream';
import { GatewayCluster } from './soak/cluster';
import { BREAKER_COOLDOWN_MS, READINESS, soakConfig, soakEnv, SOAK_KEYS } from './soak/config';
import { LoadDriver } from './soak/driver';
import { RoundRobinProxy } from './soak/proxy';
import { report, type SigtermRecord, type WindowRecord } from './soak/report';
import { Sampler } from './soak/sampler';
import { type Scenario, schedule, STORM_DURATION_S, type Window } from './soak/schedule';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    rate: { type: 'string', default: '16' },
    'limited-rate': { type: 'string', default: '1' },
    embedder: { type: 'string', default: 'mock' },
    out: { type: 'string' },
    'sample-ms': { type: 'string' },
    ci: { type: 'boolean', default: false },
    scenario: { type: 'string', default: 'mixed' },
  },
});
const SCENARIO: Scenario = args.scenario === 'storm' ? 'storm' : 'mixed';
const DURATION_S = SCENARIO === 'storm' ? STORM_DURATION_S : Number(args.duration);
/** Storm scenario: the primary's 5xx that open its breakers before a probe. */
const OPEN_BREAKERS_MS = 3_000;
/** Storm scenario: how long the primary holds each answer, and when the client gives up, while probes are to end in an abort. */
const HOLD_MS = 2_500;
const GIVE_UP_MS = 1_000;
const EMBEDDER = args.embedder === 'use' ? 'use' : 'mock';
/** Long enough for the slowest legitimate answer (the router's deadline is 12 s). */
const DEADLINE_MS = 30_000;
/** Long streams started on purpose just before a SIGTERM, so some are in flight on the target. */
const SIGTERM_BURST = 6;
/** Past Node's 5 s server keep-alive timeout of the fake upstreams: idle connections to them are closed by then. */
const UPSTREAM_IDLE_MS = 6_000;
/** CI writes to a temporary directory, removed when every check passed. */
const OUT = resolve(
  args.out ??
    (args.ci ? mkdtempSync(join(tmpdir(), 'soak-')) : join('bench/results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`)),
);

const t0 = performance.now();
const now = () => performance.now() - t0;
/** When the load started (ms since t0): the schedule's times count from here. */
let loadStart = 0;
const untilS = (s: number) => sleep(Math.max(0, loadStart + s * 1000 - now()));

/** Child processes to kill whatever happens to this script. */
const children = new Set<() => number | undefined>();
process.on('exit', () => {
  for (const pid of children) {
    const p = pid();
    if (p) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
// Hard stop: the run, the drain of the last requests and the report fit well inside this.
setTimeout(
  () => {
    process.stderr.write('soak: overall time limit passed, stopping\n');
    process.exit(2);
  },
  (DURATION_S + 180) * 1000,
).unref();

async function main(): Promise<number> {
  mkdirSync(OUT, { recursive: true });
  const windows = schedule(DURATION_S, SCENARIO);
  const redis = await RedisServer.start(process.env.TEST_REDIS_SERVER ?? 'redis-server');
  children.add(() => redis.pid);
  const flaky = new ChaosOpenAI();
  const steady = new ChaosOpenAI();
  const fakes = { flaky, steady };
  flaky.clock = steady.clock = now;
  const config = soakConfig(await flaky.start(), await steady.start(), EMBEDDER, SCENARIO);
  const cluster = new GatewayCluster(config, soakEnv(redis.url), OUT, now);
  const proxy = new RoundRobinProxy(READINESS);
  const proxyUrl = await proxy.start();
  for (const name of ['a', 'b']) {
    const instance = await cluster.start(name);
    children.add(() => (instance.exitedAt === undefined ? instance.pid : undefined));
    proxy.setBackend(name, instance.url);
  }
  while (proxy.readyBackends().length < 2) await sleep(100);

  const driver = new LoadDriver({
    url: proxyUrl,
    keys: SOAK_KEYS,
    rate: Number(args.rate),
    limitedRate: SCENARIO === 'storm' ? 0 : Number(args['limited-rate']),
    deadlineMs: DEADLINE_MS,
    t0,
    mix: SCENARIO === 'storm' ? 'routing' : 'mixed',
  });
  const sampler = new Sampler(cluster, fakes, now);
  const sampleMs = Number(args['sample-ms'] ?? Math.max(1_000, Math.round(DURATION_S * 8)));
  const started = (loadStart = now());
  log(
    `started: ${SCENARIO} scenario, 2 gateways, Redis ${redis.url}, proxy ${proxyUrl}, ${args.rate} req/s + ${SCENARIO === 'storm' ? 0 : args['limited-rate']} req/s (limited key), ${DURATION_S} s, embedder ${EMBEDDER}, output ${OUT}`,
  );
  await sampler.sample();
  sampler.start(sampleMs);
  driver.start();

  const records: WindowRecord[] = [];
  const sigterms: SigtermRecord[] = [];
  const run = async (w: Window) => {
    await untilS(w.start);
    const record: WindowRecord = { label: w.label, type: w.action.type, start: now(), end: now() };
    records.push(record);
    log(`${w.label}: start`);
    switch (w.action.type) {
      case 'fault':
        flaky.fault = w.action.fault;
        await untilS(w.end);
        flaky.fault = undefined;
        break;
      case 'mixed': {
        const { faults, everyS } = w.action;
        const end = loadStart + w.end * 1000;
        for (let i = 0; now() < end; i++) {
          flaky.fault = faults[i % faults.length];
          await sleep(Math.min(everyS * 1000, end - now()));
        }
        flaky.fault = undefined;
        break;
      }
      case 'provider-down':
        await flaky.down();
        await untilS(w.end);
        await flaky.up();
        break;
      case 'redis-down':
        await redis.stop();
        await untilS(w.end);
        await redis.start();
        break;
      case 'redis-frozen':
        redis.freeze();
        await untilS(w.end);
        redis.resume();
        break;
      case 'sigterm':
        sigterms.push(await sigterm(w.action.target));
        break;
      case 'storm':
        [flaky.fault, steady.fault] = [w.action.primary, w.action.backup];
        await untilS(w.end);
        flaky.fault = steady.fault = undefined;
        break;
      case 'probe':
        flaky.fault = { kind: '5xx', probability: 1 };
        await sleep(OPEN_BREAKERS_MS);
        // One 400 per gateway: each half-opens on its own (a replica that closes announces it to the other).
        if (w.action.ending === '400') flaky.fault = { kind: '400', probability: 1, remaining: 2 };
        else {
          flaky.fault = { kind: 'latency', probability: 1, delayMs: HOLD_MS };
          driver.abortEarlyMs = GIVE_UP_MS;
        }
        await untilS(w.end);
        flaky.fault = driver.abortEarlyMs = undefined;
        break;
    }
    record.end = now();
    log(`${w.label}: end`);
  };

  const sigterm = async (target: string): Promise<SigtermRecord> => {
    driver.burst('drip', SIGTERM_BURST);
    await sleep(500);
    const inflight = [...driver.inflight.values()].filter((r) => r.backend === target && r.kind !== 'abort').map((r) => r.id);
    const instance = await cluster.terminate(target);
    const restarted = await cluster.start(target);
    children.add(() => (restarted.exitedAt === undefined ? restarted.pid : undefined));
    proxy.setBackend(target, restarted.url);
    return {
      target,
      signalledAt: instance.signalledAt!,
      exitedAt: instance.exitedAt ?? now(),
      exitCode: instance.exitCode ?? null,
      stoppedCleanly: instance.stoppedCleanly,
      graceExpired: instance.graceExpired,
      restartedAt: restarted.startedAt,
      inflight,
    };
  };

  await Promise.all([...windows.map(run), untilS(DURATION_S)]);
  const loadEnded = now();
  log('load stopped; waiting for the last requests');
  await driver.stop();
  sampler.stop();
  // Let upstream answers the gateways abandoned finish closing, and idle upstream connections
  // pass the fakes' keep-alive timeout, then take the closing sample.
  for (let i = 0; i < 50 && Object.values(fakes).some((f) => f.inflight > 0); i++) await sleep(100);
  await sleep(UPSTREAM_IDLE_MS);
  await sampler.sample();
  const finalProxy = structuredClone(proxy.stats);

  await cluster.stopAll();
  await proxy.stop();
  await Promise.all(Object.values(fakes).map((f) => f.stop()));
  await redis.stop();

  return report({
    out: OUT,
    scenario: SCENARIO,
    breakerCooldownMs: BREAKER_COOLDOWN_MS,
    durationS: DURATION_S,
    rate: Number(args.rate),
    embedder: EMBEDDER,
    started,
    loadEnded,
    windows: records,
    sigterms,
    records: driver.records,
    gatewaySamples: sampler.gateways,
    upstreamSamples: sampler.upstreams,
    proxy: finalProxy,
    fakes: Object.fromEntries(
      Object.entries(fakes).map(([name, f]) => [
        name,
        {
          requests: f.requests,
          abandoned: f.abandoned,
          closedAborts: f.closedAborts,
          injected: f.injected,
          inflight: f.inflight,
          answeredAt: f.answeredAt,
        },
      ]),
    ),
    cluster,
    png: !args.ci,
    ci: args.ci,
  });
}

function log(message: string): void {
  process.stdout.write(`[soak ${(now() / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

main().then(
  (code) => {
    if (code === 0 && args.ci && !args.out) rmSync(OUT, { recursive: true, force: true });
    process.exit(code);
  },
  (err) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
