// Preloaded (`node -r bench/probe.cjs ...`) into every Node process bench/run.sh measures,
// the gateway and the peer alike, so both are observed the same way from the inside.
// On SIGUSR2 it appends one JSON line to $BENCH_PROBE_OUT with the event-loop delay since
// the previous signal (p50/p99/max, ms), the CPU time used since then (µs) and the current
// RSS/heap (MiB), then starts over.
// BENCH_FORCE_LOOPBACK=1 makes a listen() without a host bind to 127.0.0.1 (the peer
// gateway has no host option and would otherwise listen on every interface).
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const out = process.env.BENCH_PROBE_OUT;
if (out) {
  const RESOLUTION_MS = 5;
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  // Every sample is the timer period plus the delay: report the delay.
  const ms = (ns) => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
  let cpu = process.cpuUsage();
  process.on('SIGUSR2', () => {
    const mem = process.memoryUsage();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const sample = {
      eldP50: ms(delay.percentile(50)),
      eldP99: ms(delay.percentile(99)),
      eldMax: ms(delay.max),
      rssMb: Math.round(mem.rss / 1048576),
      heapMb: Math.round(mem.heapUsed / 1048576),
      cpuUs: used.user + used.system,
    };
    delay.reset();
    fs.appendFileSync(out, JSON.stringify(sample) + '\n');
  });
}

if (process.env.BENCH_FORCE_LOOPBACK === '1') {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && typeof args[1] !== 'string') return listen.call(this, args[0], '127.0.0.1', ...args.slice(1).filter((a) => typeof a === 'function'));
    if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined && !args[0].host) args[0] = { ...args[0], host: '127.0.0.1' };
    return listen.apply(this, args);
  };
}
