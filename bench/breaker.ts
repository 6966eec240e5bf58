import 'reflect-metadata';
import { BreakerConfig } from '../libs/config/src/router-config';
import { DeploymentHealth } from '../libs/router/src/deployment-health';

/**
 * What a deployment's health state costs under sustained traffic with a share of failures
 * below the breaker's failure rate (it stays closed, so every outcome stays in its window):
 * SECONDS of traffic at RATE requests a second on a virtual clock, one in FAIL_EVERY failing.
 * Prints the CPU time and the heap it took (no network, no timers).
 *
 *   npm run build:test && node dist/bench/breaker.js [rate=3000] [seconds=60] [failEvery=10]
 */
const RATE = Number(process.argv[2] ?? 3000);
const SECONDS = Number(process.argv[3] ?? 60);
const FAIL_EVERY = Number(process.argv[4] ?? 10);

const config = Object.assign(new BreakerConfig(), { consecutiveFailures: 1e9 });
const health = new DeploymentHealth(config, () => undefined);
const heapBefore = process.memoryUsage().heapUsed;
const started = process.cpuUsage();
const outcomes = RATE * SECONDS;
for (let i = 0; i < outcomes; i++) {
  const now = (i * 1000) / RATE;
  health.admit(now)?.end(i % FAIL_EVERY === 0 ? { kind: 'failed' } : { kind: 'answered' }, now);
}
const cpu = process.cpuUsage(started);
const cpuMs = (cpu.user + cpu.system) / 1000;
const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
console.log(
  `${outcomes} outcomes (${RATE}/s for ${SECONDS} s, 1 in ${FAIL_EVERY} failed, breaker ${health.state}): ` +
    `CPU ${cpuMs.toFixed(0)} ms (${((cpuMs * 1000) / outcomes).toFixed(2)} µs an outcome), heap +${heapMiB.toFixed(1)} MiB`,
);
