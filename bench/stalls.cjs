// Stall logger. Preloaded (`node -r bench/stalls.cjs ...`, with STALLS_OUT=FILE), it times every macrotask the
// event loop runs (a socket read, an HTTP parser callback, a timer, an immediate, a write's completion), together
// with the nextTicks and promise jobs that run right after it, by async_hooks' before/after. On SIGUSR2 (the signal
// bench/probe.cjs answers too, so both report the same window) and at exit it appends one JSON line to STALLS_OUT:
// the window's bounds (µs, CLOCK_MONOTONIC: the clock of --cpu-prof's timestamps), the event-loop delay at 1 ms
// resolution, each resource type's task count, wall time and histogram, every task of STALLS_MS (default 3) ms or
// more (its start, length, type, the timer's or immediate's function name, the promise jobs and ticks in it), and
// V8's GC pauses in the window (perf_hooks 'gc' entries). The hooks cost CPU (promise hooks on every job): use it to
// find which callbacks are long, not to measure the tail itself.
// Run as a script, it summarises a file: `node bench/stalls.cjs FILE` (windows 1, 3, 5...: bench/run.sh and
// lab scripts signal before and after each measured run, so the odd windows are the measured ones; `all` for all).
// Times are wall times: a task is also long when the core ran something else meanwhile (bench/core-waits.py).
'use strict';
const fs = require('node:fs');

const EDGES_MS = [0.25, 0.5, 1, 2, 3, 5, 10, 20];

function summarise(file, which) {
  const windows = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const picked = which === 'all' ? windows : windows.filter((w, i) => w.reason === 'signal' && i % 2 === 1);
  const types = {};
  const long = [];
  const gcs = {};
  let seconds = 0;
  for (const w of picked) {
    seconds += (w.windowUs[1] - w.windowUs[0]) / 1e6;
    const d = w.eventLoopDelayMs;
    console.log(
      `window of ${((w.windowUs[1] - w.windowUs[0]) / 1e6).toFixed(1)} s: event-loop delay p50 ${d.p50.toFixed(2)}, p99 ${d.p99.toFixed(2)}, max ${d.max.toFixed(2)} ms`,
    );
    for (const [type, s] of Object.entries(w.types)) {
      const t = (types[type] ??= { n: 0, ms: 0, buckets: new Array(EDGES_MS.length + 1).fill(0) });
      t.n += s.n;
      t.ms += s.totalMs;
      s.buckets.forEach((n, i) => (t.buckets[i] += n));
    }
    long.push(...w.long);
    for (const g of w.gcs) (gcs[g.kind] ??= []).push(g.ms);
  }
  console.log(
    `${picked.length} windows, ${seconds.toFixed(1)} s; tasks by type: count, wall ms, count under ${EDGES_MS.join(' / ')} ms and over`,
  );
  for (const [type, t] of Object.entries(types).sort((a, b) => b[1].ms - a[1].ms))
    console.log(`  ${type.padEnd(24)} ${String(t.n).padStart(8)} ${t.ms.toFixed(0).padStart(7)}  ${t.buckets.join(' / ')}`);
  console.log(
    `tasks of ${process.env.STALLS_MS || 3} ms or more: ${long.length} (${(long.length / seconds).toFixed(1)} a second); the longest:`,
  );
  for (const t of long.sort((a, b) => b.ms - a.ms).slice(0, 10))
    console.log(`  ${t.ms.toFixed(2)} ms ${t.type} ${t.name} (${t.jobs} jobs)`);
  for (const [kind, pauses] of Object.entries(gcs)) {
    pauses.sort((a, b) => a - b);
    const total = pauses.reduce((a, b) => a + b, 0);
    console.log(
      `GC ${kind}: ${pauses.length}, median ${pauses[pauses.length >> 1].toFixed(2)} ms, max ${pauses.at(-1).toFixed(2)} ms, total ${total.toFixed(0)} ms`,
    );
  }
}

if (require.main === module) {
  summarise(process.argv[2], process.argv[3]);
} else if (process.env.STALLS_OUT) {
  const { createHook, executionAsyncResource } = require('node:async_hooks');
  const { PerformanceObserver, performance, monitorEventLoopDelay, constants } = require('node:perf_hooks');

  const out = process.env.STALLS_OUT;
  const limitNs = BigInt(Math.round(Number(process.env.STALLS_MS || 3) * 1e6));
  const edges = EDGES_MS.map((ms) => BigInt(ms * 1e6));
  const now = process.hrtime.bigint;
  const byType = new Map();
  const long = [];
  // The task under way: from a macrotask's `before` to the last `after` of the jobs that follow it.
  let depth = 0;
  let start = 0n;
  let type = '';
  let name = '';
  let jobs = 0;
  let lastAfter = 0n;

  const describe = (resource) => {
    if (resource instanceof Promise) return ['Promise', ''];
    const kind = resource?.constructor?.name ?? '?';
    if (kind === 'Timeout') return [kind, resource._onTimeout?.name || 'anonymous'];
    if (kind === 'Immediate') return [kind, resource._onImmediate?.name || 'anonymous'];
    if (kind === 'Object' && typeof resource.callback === 'function') return ['Tick', resource.callback.name || 'anonymous'];
    return [kind, ''];
  };
  const close = (end) => {
    const ns = end - start;
    let s = byType.get(type);
    if (!s) byType.set(type, (s = { n: 0, ns: 0n, buckets: new Array(edges.length + 1).fill(0) }));
    s.n += 1;
    s.ns += ns;
    let i = 0;
    while (i < edges.length && ns >= edges[i]) i++;
    s.buckets[i] += 1;
    if (ns >= limitNs && long.length < 20_000) long.push({ startUs: Number(start / 1000n), ms: Number(ns) / 1e6, type, name, jobs });
    start = 0n;
  };
  createHook({
    before() {
      if (depth++ !== 0) return;
      const [kind, fn] = describe(executionAsyncResource());
      if (kind === 'Promise' || kind === 'Tick' || kind === 'Microtask') {
        jobs += 1;
        if (start !== 0n) return;
        // A job with no macrotask before it (start-up): a task of its own.
        [type, name, jobs] = [`${kind} (alone)`, fn, 1];
        start = now();
        return;
      }
      if (start !== 0n) close(lastAfter);
      [type, name, jobs] = [kind, fn, 0];
      start = now();
    },
    after() {
      if (--depth === 0) lastAfter = now();
    },
  }).enable();

  const gcKinds = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
  const gcs = [];
  const zeroUs = Number(now() / 1000n) - Math.round(performance.now() * 1000);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (gcs.length < 50_000)
        gcs.push({ startUs: zeroUs + Math.round(e.startTime * 1000), ms: e.duration, kind: gcKinds[e.detail?.kind] ?? e.detail?.kind });
  }).observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let windowStart = now();

  const report = (reason) => {
    if (start !== 0n) close(lastAfter > start ? lastAfter : now());
    const types = {};
    for (const [t, s] of byType) types[t] = { n: s.n, totalMs: Number(s.ns) / 1e6, buckets: s.buckets };
    // Each delay sample is the 1 ms period plus the delay: the delay is reported.
    const ms = (ns) => Math.max(0, ns / 1e6 - 1);
    const line = {
      reason,
      windowUs: [Number(windowStart / 1000n), Number(now() / 1000n)],
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      types,
      long: long.splice(0),
      gcs: gcs.splice(0),
    };
    byType.clear();
    delay.reset();
    windowStart = now();
    fs.appendFileSync(out, JSON.stringify(line) + '\n');
  };
  process.on('SIGUSR2', () => report('signal'));
  process.on('exit', () => report('exit'));
}
