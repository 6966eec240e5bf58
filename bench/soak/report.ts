import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultKind } from './chaos-upstream';
import type { GatewayCluster } from './cluster';
import type { RequestRecord } from './driver';
import { LIMITED_RPM } from './config';
import { plot } from './plot';
import type { ProxyStats } from './proxy';
import type { GatewaySample, UpstreamSample } from './sampler';
import { type Scenario, warmUpEnd } from './schedule';
import { stormSection } from './storm-report';

export interface WindowRecord {
  label: string;
  type: string;
  /** Milliseconds since the soak started. */
  start: number;
  end: number;
}

export interface SigtermRecord {
  target: string;
  signalledAt: number;
  exitedAt: number;
  exitCode: number | null;
  stoppedCleanly: boolean;
  graceExpired: boolean;
  restartedAt: number;
  /** Requests in flight on the target when it got SIGTERM (driver ids). */
  inflight: number[];
}

export interface FakeFigures {
  requests: number;
  abandoned: number;
  closedAborts: Set<string>;
  injected: Record<FaultKind, number>;
  inflight: number;
  /** When each normal (2xx) answer started (ms since the soak started). */
  answeredAt: number[];
}

export interface RunData {
  out: string;
  scenario: Scenario;
  /** The router's breaker cool-down: after a fault, the time the gateway may take to use a deployment again. */
  breakerCooldownMs: number;
  durationS: number;
  rate: number;
  embedder: string;
  started: number;
  loadEnded: number;
  windows: WindowRecord[];
  sigterms: SigtermRecord[];
  records: RequestRecord[];
  gatewaySamples: GatewaySample[];
  upstreamSamples: UpstreamSample[];
  proxy: ProxyStats;
  fakes: Record<string, FakeFigures>;
  cluster: GatewayCluster;
  /** Write the PNG next to the SVG (needs rsvg-convert). */
  png: boolean;
  /** The short run in npm test: only correctness is checked (no served-share target under random faults). */
  ci: boolean;
}

/**
 * Bounds the run must stay within. No timing and no machine-dependent size is among
 * them (a busy CI machine is not a defect): event-loop delay, RSS and latency are
 * reported, and RELIABILITY.md records them.
 */
export const BOUNDS = {
  outageSuccess: 0.999,
  /** Heap in use after GC, late vs. early under load: a leak grows it, V8's heap sizing (RSS) does not. */
  heapGrowthMb: 40,
  fdGrowth: 40,
};
/** After Redis returns, the gateways get this long to reconnect before recovery is judged. */
const REDIS_SETTLE_MS = 3_000;
/** After a restart, the window in which no request may be lost because of it. */
const RESTART_SETTLE_MS = 5_000;

interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

/** Prints the figures and checks, writes report.md, summary.json and the plot; returns the exit code. */
export function report(run: RunData): number {
  const lines: string[] = [];
  const say = (line = '') => lines.push(line);
  const checks: Check[] = [];
  const check = (name: string, pass: boolean, detail: string) => checks.push({ name, pass, detail });
  const records = run.records;
  const main = records.filter((r) => r.kind !== 'limited');
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  say(`# Soak run${run.scenario === 'storm' ? ', storm scenario' : ''}: ${run.durationS} s`);
  say();
  const achieved = (records.length / Math.max(1, run.loadEnded - run.started)) * 1000;
  const load =
    run.scenario === 'storm'
      ? `${run.rate} req/s offered (${achieved.toFixed(0)} req/s achieved) of unique prompts, half streamed, cache off`
      : `${run.rate} req/s mixed load on three keys plus 1 req/s on a key limited to ${LIMITED_RPM} RPM; semantic cache embedder: ${run.embedder}`;
  say(`Two gateway processes, one Redis, a round-robin proxy; ${load}. Load ran ${s(run.started)}–${s(run.loadEnded)}.`);
  say();

  // Outcomes
  const by = <T>(items: T[], key: (t: T) => string) =>
    items.reduce<Record<string, number>>((acc, t) => ((acc[key(t)] = (acc[key(t)] ?? 0) + 1), acc), {});
  const outcomes = by(records, (r) => r.outcome.kind);
  const ok = records.filter((r) => r.outcome.kind === 'ok');
  const errors = records.filter((r) => r.outcome.kind === 'error');
  const lost = records.filter((r) => r.outcome.kind === 'lost');
  say('## Outcomes');
  say();
  say('| class | requests | detail |');
  say('|---|---:|---|');
  say(`| all | ${records.length} | ${records.filter((r) => r.stream).length} streamed |`);
  say(`| complete success | ${outcomes.ok ?? 0} | ${fmt(by(ok, (r) => (r.outcome as { cache: string }).cache))} (x-gateway-cache) |`);
  say(`| clean OpenAI error | ${outcomes.error ?? 0} | ${fmt(by(errors, errorLabel))} |`);
  say(`| client disconnected mid-stream (on purpose) | ${outcomes.aborted ?? 0} | |`);
  say(`| **lost** | **${lost.length}** | ${fmt(by(lost, (r) => (r.outcome as { why: string }).why)) || 'none'} |`);
  say();
  check('no request lost (hung, truncated, malformed, transport or proxy error)', lost.length === 0, `${lost.length} lost`);
  if (lost.length)
    say(
      `Lost requests (first 20): ${lost
        .slice(0, 20)
        .map((r) => `#${r.id} ${r.kind} ${JSON.stringify(r.outcome)} at ${s(r.start)} via ${r.backend}: ${r.detail}`)
        .join('; ')}`,
    );

  // Per window
  say('## By phase');
  say();
  say('| phase | time | requests | success | clean errors | aborted | lost | p50 / p99 ms (successes) |');
  say('|---|---|---:|---:|---|---:|---:|---|');
  const phases = phasesOf(run);
  for (const p of phases) {
    const inside = records.filter((r) => p.contains(r.start));
    const good = inside.filter((r) => r.outcome.kind === 'ok');
    const lat = good.map((r) => r.end - r.start);
    say(
      `| ${p.label} | ${s(p.start)}–${s(p.end)} | ${inside.length} | ${pct(good.length, inside.length)} | ${
        fmt(
          by(
            inside.filter((r) => r.outcome.kind === 'error'),
            errorLabel,
          ),
        ) || '–'
      } | ${count(inside, 'aborted')} | ${count(inside, 'lost')} | ${quantile(lat, 0.5).toFixed(0)} / ${quantile(lat, 0.99).toFixed(0)} |`,
    );
  }
  say();
  const injected = Object.entries(run.fakes.flaky.injected)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  say(
    `Faults injected into the flaky upstream: ${injected}. Upstream requests: ${fmt(Object.fromEntries(Object.entries(run.fakes).map(([k, f]) => [k, f.requests])))}.`,
  );
  say();

  if (run.scenario === 'storm') stormSection(run, say, check);

  // Provider outage
  say('## Single-provider outage');
  say();
  for (const w of run.windows.filter((w) => w.type === 'provider-down')) {
    const inside = main.filter((r) => r.start >= w.start && r.start <= w.end && r.outcome.kind !== 'aborted');
    const good = inside.filter((r) => r.outcome.kind === 'ok').length;
    const rate = inside.length ? good / inside.length : 0;
    say(
      `Provider \`flaky\` refused connections for ${s(w.end - w.start)}; \`steady\` was the fallback. Requests started in the window (main lane, on-purpose disconnects excluded): ${inside.length}, succeeded: ${good} (${pct(good, inside.length)}).`,
    );
    check(
      `success during the provider outage ≥ ${BOUNDS.outageSuccess * 100}%`,
      inside.length > 0 && rate >= BOUNDS.outageSuccess,
      `${pct(good, inside.length)} of ${inside.length}`,
    );
  }
  say();

  // SIGTERM
  say('## SIGTERM and restart');
  say();
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const t of run.sigterms) {
    const inflight = t.inflight.map((id) => byId.get(id)!).filter(Boolean);
    const completed = inflight.filter((r) => r.outcome.kind === 'ok');
    const lastEnd = Math.max(0, ...inflight.map((r) => r.end));
    const around = records.filter((r) => r.start >= t.signalledAt - 1_000 && r.start <= t.restartedAt + RESTART_SETTLE_MS);
    const aroundLost = around.filter((r) => r.outcome.kind === 'lost');
    say(
      `- gateway ${t.target}: SIGTERM at ${s(t.signalledAt)} with ${inflight.length} requests in flight on it ` +
        `(${inflight.filter((r) => r.stream).length} streams); ${completed.length} completed; the last ended ${s(lastEnd - t.signalledAt)} after the signal, ` +
        `the process exited ${s(t.exitedAt - t.signalledAt)} after it with code ${t.exitCode} (${t.stoppedCleanly ? 'drain finished' : 'no "stopped" log'}${t.graceExpired ? ', grace period expired' : ''}); ` +
        `restarted at ${s(t.restartedAt)}. Requests started from 1 s before the signal to 5 s after the restart: ${around.length}, lost: ${aroundLost.length}.`,
    );
    check(
      `SIGTERM ${t.target}: in-flight streams finished before exit, exit 0`,
      inflight.length > 0 &&
        completed.length === inflight.length &&
        t.exitCode === 0 &&
        t.stoppedCleanly &&
        !t.graceExpired &&
        t.exitedAt >= lastEnd,
      `${completed.length}/${inflight.length} completed, exit ${t.exitCode}`,
    );
    check(
      `SIGTERM ${t.target}: no request dropped by the restart`,
      aroundLost.length === 0,
      `${aroundLost.length} lost of ${around.length}`,
    );
  }
  say(
    `- proxy: ${run.proxy.requests} requests; sent to the other gateway because the connection was refused: ${run.proxy.retriedRefused}; ` +
      `because an idle keep-alive connection was closed under them: ${run.proxy.retriedIdleClose}; answered by the proxy itself: ${fmt(run.proxy.proxyAnswers as unknown as Record<string, number>)}; ` +
      `backends taken out by the readiness probe: ${fmt(run.proxy.unready) || 'never'}.`,
  );
  const duplicates = [...run.cluster.served.entries()].filter(([, n]) => n > 1);
  say(`- requests served twice (same x-request-id in two access logs): ${duplicates.length}.`);
  check('no request served twice', duplicates.length === 0, `${duplicates.length} duplicated`);
  say();

  // Redis outages
  say('## Redis outages (fail-open) and recovery');
  say();
  const redisWindows = run.windows.filter((w) => w.type === 'redis-down' || w.type === 'redis-frozen');
  redisWindows.forEach((w, i) => {
    const next = redisWindows[i + 1]?.start ?? run.loadEnded;
    const previous = redisWindows[i - 1]?.end ?? run.started + warmUpEnd(run.durationS, run.scenario) * 1000;
    const settled = w.end + REDIS_SETTLE_MS;
    const inside = records.filter((r) => r.start >= w.start && r.start <= w.end);
    const leaked = inside.filter((r) => r.outcome.kind === 'lost' || (r.outcome.kind === 'error' && !expectedError(r, run.windows)));
    const limitedLane = (from: number, to: number) => records.filter((r) => r.kind === 'limited' && r.start >= from && r.start < to);
    const rejected = (lane: RequestRecord[]) => lane.filter((r) => r.outcome.kind === 'error' && r.outcome.code === 'rate_limit_exceeded');
    const limited = (from: number, to: number) => `${rejected(limitedLane(from, to)).length}/${limitedLane(from, to).length}`;
    // Requests that started in the outage's first second, or ended after it, may have reached a working Redis.
    const limitedDuring = limitedLane(w.start + 1_000, w.end).filter((r) => r.end < w.end && r.outcome.kind !== 'ok');
    const limitedAfter = rejected(limitedLane(settled, next));
    const hits = (from: number, to: number) =>
      ok.filter((r) => r.start >= from && r.start < to && (r.outcome as { cache: string }).cache === 'hit-exact').length;
    const growth = (field: 'limiterUnavailable' | 'cacheBackendErrors', from: number, to: number) =>
      counterGrowth(run.gatewaySamples, field, from, to);
    const how =
      w.type === 'redis-down'
        ? 'killed (SIGKILL) and started again, empty,'
        : 'frozen (SIGSTOP: connections open, no answers) and resumed (SIGCONT)';
    say(`### ${w.label}`);
    say();
    say(
      `Redis was ${how} after ${s(w.end - w.start)}. Requests started during the outage: ${inside.length}; errors that reached clients: ${leaked.length}${leaked.length ? ` (${fmt(by(leaked, (r) => (r.outcome.kind === 'error' ? errorLabel(r) : (r.outcome as { why: string }).why)))})` : ''}.`,
    );
    say();
    say(`| | before | ${w.label} | after (from +3 s) |`);
    say('|---|---|---|---|');
    say(`| limited key: 429 / requests | ${limited(previous, w.start)} | ${limited(w.start + 1_000, w.end)} | ${limited(settled, next)} |`);
    say(`| exact cache hits | ${hits(previous, w.start)} | ${hits(w.start + 1_000, w.end)} | ${hits(settled, next)} |`);
    for (const [field, name] of [
      ['limiterUnavailable', 'gateway_limiter_unavailable_total'],
      ['cacheBackendErrors', 'gateway_cache_backend_errors_total'],
    ] as const) {
      say(
        `| ${name} increase | ${growth(field, previous, w.start)} | ${growth(field, w.start, settled)} | ${growth(field, settled, next)} |`,
      );
    }
    say();
    check(`${w.label}: no error reached a client (fail-open)`, leaked.length === 0, `${leaked.length} of ${inside.length}`);
    check(
      `${w.label}: rate limits failed open (the limited key was let through)`,
      limitedDuring.length === 0,
      `${limitedDuring.length} not served`,
    );
    check(
      `${w.label}, then back: rate limiting recovered by itself (429s again)`,
      limitedAfter.length > 0,
      `${limitedAfter.length} 429s after`,
    );
    check(
      `${w.label}, then back: caching recovered by itself (exact hits again)`,
      hits(settled, next) > 0,
      `${hits(settled, next)} hits after`,
    );
  });

  // Crashes and logs
  say('## Crashes, unhandled rejections, error logs');
  say();
  const problems = run.cluster.problems;
  say(
    `Gateway processes run: ${run.cluster.history.map((i) => `${i.name}#${i.generation} (pid ${i.pid})`).join(', ')}. Problems found in their output or exits: ${problems.length}.`,
  );
  for (const p of problems.slice(0, 20)) say(`    ${p.slice(0, 300)}`);
  check('no crash, unhandled rejection or error log', problems.length === 0, `${problems.length} problems`);
  say();

  // Resources
  say('## Resources per gateway process');
  say();
  say(
    'Start = first sample under load (after the warm-up, or 2 s after a restart), end = after the load stopped; peaks of event-loop delay leave out the first 2 s of a process (start-up).',
  );
  say();
  say(
    '| process | samples | RSS MB start / peak / end | heap used MB start / peak / end | event-loop p99 ms start / peak / end | CPU % avg | fds start / peak / end |',
  );
  say('|---|---:|---|---|---|---:|---|');
  const warm = run.started + warmUpEnd(run.durationS, run.scenario) * 1000;
  for (const instance of run.cluster.history) {
    const samples = run.gatewaySamples.filter((g) => g.pid === instance.pid);
    const steady = samples.filter((g) => g.t >= Math.max(warm, instance.startedAt + 2_000));
    if (steady.length < 2) continue;
    const [first, last] = [steady[0], steady[steady.length - 1]];
    const peak = (f: (g: GatewaySample) => number) => Math.max(...steady.map(f));
    const curve = (f: (g: GatewaySample) => number, digits = 0) =>
      `${f(first).toFixed(digits)} / ${peak(f).toFixed(digits)} / ${f(last).toFixed(digits)}`;
    const cpu = (100 * (last.cpuSeconds - first.cpuSeconds) * 1000) / Math.max(1, last.t - first.t);
    say(
      `| ${instance.name}#${instance.generation} | ${samples.length} | ${curve((g) => g.rssMb)} | ${curve((g) => g.heapUsedMb)} | ${curve((g) => g.eventLoopP99Ms, 1)} | ${cpu.toFixed(1)} | ${curve((g) => g.fds)} |`,
    );
    const label = `${instance.name}#${instance.generation}`;
    // Live data is what is left after a GC: compare the lowest samples of the first and last thirds (the sawtooth's troughs).
    const third = Math.max(1, Math.floor(steady.length / 3));
    const floor = (part: GatewaySample[]) => Math.min(...part.map((g) => g.heapUsedMb));
    const [heapBefore, heapAfter] = [floor(steady.slice(0, third)), floor(steady.slice(-third))];
    const heapGrowth = heapAfter - heapBefore;
    check(
      `${label}: heap in use after GC grew ≤ ${BOUNDS.heapGrowthMb} MB (lowest sample, first vs last third)`,
      heapGrowth <= BOUNDS.heapGrowthMb,
      `${heapBefore.toFixed(0)} → ${heapAfter.toFixed(0)} MB`,
    );
    check(
      `${label}: file descriptors back to baseline (≤ +${BOUNDS.fdGrowth})`,
      last.fds - first.fds <= BOUNDS.fdGrowth,
      `${first.fds} → ${last.fds}`,
    );
  }
  say();

  // Sockets
  say('## Client aborts and upstream connections');
  say();
  const aborts = records.filter((r) => r.kind === 'abort' && r.outcome.kind === 'aborted');
  const released = new Set([...Object.values(run.fakes)].flatMap((f) => [...f.closedAborts]));
  const notReleased = aborts.filter((r) => !released.has(`abort-${r.id}`));
  const endSample = run.upstreamSamples[run.upstreamSamples.length - 1];
  const firstSample = run.upstreamSamples.find((u) => u.t >= warm) ?? run.upstreamSamples[0];
  const inflightAtEnd = Object.values(run.fakes).reduce((sum, f) => sum + f.inflight, 0);
  say(
    `Clients disconnected mid-stream ${aborts.length} times; the fake upstreams saw ${aborts.length - notReleased.length} of those answers closed before their end ` +
      `(the gateway let go of the upstream request). Upstream answers still in progress after the load: ${inflightAtEnd}. ` +
      `Upstream answers the gateways abandoned in all (aborts and attempt timeouts): ${fmt(Object.fromEntries(Object.entries(run.fakes).map(([k, f]) => [k, f.abandoned])))}. ` +
      `Open upstream connections after warm-up ${fmt(firstSample.connections)}; 6 s after the load stopped (past the upstreams' 5 s keep-alive timeout) ${fmt(endSample.connections)}.`,
  );
  check(
    'client aborts released their upstream requests',
    (run.scenario === 'storm' || aborts.length > 0) && notReleased.length === 0,
    `${aborts.length - notReleased.length}/${aborts.length}`,
  );
  check('no upstream answer left in progress', inflightAtEnd === 0, `${inflightAtEnd}`);
  const openAtEnd = Object.values(endSample.connections).reduce((sum, n) => sum + n, 0);
  check('upstream connections all closed once idle (no socket held)', openAtEnd === 0, `${openAtEnd} open`);
  say();

  say('## Checks');
  say();
  for (const c of checks) say(`- ${c.pass ? 'PASS' : '**FAIL**'} ${c.name}: ${c.detail}`);
  const failed = checks.filter((c) => !c.pass).length;
  say();
  say(failed ? `**${failed} check(s) failed.**` : 'All checks passed.');

  const text = lines.join('\n');
  process.stdout.write(`\n${text}\n`);
  writeFileSync(join(run.out, 'report.md'), `${text}\n`);
  writeFileSync(
    join(run.out, 'summary.json'),
    JSON.stringify(
      { checks, outcomes, proxy: run.proxy, windows: run.windows, sigterms: run.sigterms, samples: run.gatewaySamples },
      null,
      1,
    ),
  );
  writeFileSync(join(run.out, 'requests.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
  const image = plot(run, join(run.out, 'soak'), run.png);
  process.stdout.write(`\nplot: ${image}\nlogs and report: ${run.out}\n`);
  return failed ? 1 : 0;
}

/** Clean errors the schedule causes by design: the limited key's 429s, and streams cut after their first chunk. */
function expectedError(r: RequestRecord, windows: WindowRecord[]): boolean {
  if (r.outcome.kind !== 'error') return false;
  if (r.kind === 'limited' && r.outcome.code === 'rate_limit_exceeded') return true;
  return (
    r.outcome.code === 'upstream_stream_truncated' &&
    windows.some((w) => (w.label === 'streams cut' || w.type === 'mixed') && r.start <= w.end + 1_000 && r.end >= w.start)
  );
}

function errorLabel(r: RequestRecord): string {
  const o = r.outcome as { code: string; status: number; inStream: boolean };
  return `${o.inStream ? 'SSE' : o.status} ${o.code}${r.kind === 'limited' ? ' (limited key)' : ''}`;
}

interface Phase {
  label: string;
  start: number;
  end: number;
  contains: (t: number) => boolean;
}

/** The schedule's windows, plus the time outside all of them ("no fault"). */
function phasesOf(run: RunData): Phase[] {
  const windows: Phase[] = run.windows.map((w) => {
    const sig = w.type === 'sigterm' ? run.sigterms.find((t) => w.label.endsWith(t.target)) : undefined;
    const start = w.start;
    const end = sig ? sig.restartedAt + RESTART_SETTLE_MS : w.end;
    return { label: w.label, start, end, contains: (t) => t >= start && t <= end };
  });
  const merged: Phase[] = [];
  for (const w of windows) {
    const same = merged.find((m) => m.label === w.label);
    if (!same) merged.push(w);
    else {
      const before = same.contains;
      same.contains = (t) => before(t) || w.contains(t);
      same.end = w.end;
    }
  }
  const quiet: Phase = {
    label: 'no fault',
    start: run.started,
    end: run.loadEnded,
    contains: (t) => !windows.some((w) => w.contains(t)),
  };
  return [quiet, ...merged];
}

/** Sum of a counter's increases over consecutive samples of the same process whose later sample is in [from, to). */
function counterGrowth(samples: GatewaySample[], field: 'limiterUnavailable' | 'cacheBackendErrors', from: number, to: number): number {
  let growth = 0;
  const last = new Map<number, GatewaySample>();
  for (const g of samples) {
    const prev = last.get(g.pid);
    last.set(g.pid, g);
    if (prev && g.t >= from && g.t < to) growth += Math.max(0, g[field] - prev[field]);
  }
  return growth;
}

function count(records: RequestRecord[], kind: string): number {
  return records.filter((r) => r.outcome.kind === kind).length;
}

export function quantile(values: number[], q: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function pct(part: number, whole: number): string {
  return whole ? `${((100 * part) / whole).toFixed(part === whole ? 0 : 2)}%` : '–';
}

function fmt(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}
