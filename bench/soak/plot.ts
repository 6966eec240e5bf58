import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { RequestRecord } from './driver';
import { quantile, type RunData } from './report';

/** One line of a panel: y per time bucket (NaN = no point). */
interface Series {
  name: string;
  colour: string;
  values: number[];
  dashed?: boolean;
}

interface Panel {
  title: string;
  series: Series[];
}

const WIDTH = 1400;
const LEFT = 70;
const RIGHT = 230;
const PANEL_HEIGHT = 150;
const GAP = 46;
const TOP = 40;
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

/**
 * The run over time as an SVG (no plotting library): throughput, errors by kind,
 * p99 latency, RSS and event-loop p99, with the fault windows shaded. Converted to
 * PNG with rsvg-convert when asked. Returns the path of the image written.
 */
export function plot(run: RunData, base: string, png: boolean): string {
  writeFileSync(`${base}.svg`, render(run));
  if (!png) return `${base}.svg`;
  const converted = spawnSync('rsvg-convert', ['-b', 'white', '-o', `${base}.png`, `${base}.svg`]);
  if (converted.status === 0) return `${base}.png`;
  return `${base}.svg (no PNG: rsvg-convert ${converted.error ? 'is not installed (apt-get install librsvg2-bin)' : 'failed'})`;
}

function render(run: RunData): string {
  const bucketS = Math.max(1, Math.round(run.durationS / 120));
  const buckets = Math.ceil(run.loadEnded / 1000 / bucketS) + 1;
  const at = (ms: number) => Math.min(buckets - 1, Math.floor(ms / 1000 / bucketS));
  const perSecond = (pick: (r: RequestRecord) => boolean) => {
    const values = new Array<number>(buckets).fill(0);
    for (const r of run.records) if (pick(r)) values[at(r.end)] += 1 / bucketS;
    return values;
  };
  const p99 = (pick: (r: RequestRecord) => boolean) => {
    const groups = Array.from({ length: buckets }, () => [] as number[]);
    for (const r of run.records) if (pick(r)) groups[at(r.end)].push(r.end - r.start);
    return groups.map((g) => (g.length ? quantile(g, 0.99) : Number.NaN));
  };
  const timesPerSecond = (times: number[]) => {
    const values = new Array<number>(buckets).fill(0);
    for (const t of times) values[at(t)] += 1 / bucketS;
    return values;
  };
  const isOk = (r: RequestRecord) => r.outcome.kind === 'ok';
  const code = (r: RequestRecord) => (r.outcome.kind === 'error' ? r.outcome.code : '');
  const sampled = (field: 'rssMb' | 'heapUsedMb' | 'eventLoopP99Ms', what = '') =>
    ['a', 'b'].map((name, i): Series => {
      const values = new Array<number>(buckets).fill(Number.NaN);
      for (const g of run.gatewaySamples) {
        if (g.instance === name) values[at(g.t)] = Math.max(g[field], Number.isNaN(values[at(g.t)]) ? 0 : values[at(g.t)]);
      }
      return { name: `gateway ${name}${what}`, colour: COLOURS[i], values, dashed: field === 'heapUsedMb' };
    });

  const panels: Panel[] = [
    {
      title: `Throughput (requests/s, ${bucketS} s buckets)`,
      series: [
        { name: 'completed, all outcomes', colour: COLOURS[0], values: perSecond(() => true) },
        { name: 'complete successes', colour: COLOURS[2], values: perSecond(isOk) },
      ],
    },
    {
      title: 'Upstream answers (2xx) per s: which deployment serves',
      series: [
        { name: 'flaky (primary)', colour: COLOURS[0], values: timesPerSecond(run.fakes.flaky.answeredAt) },
        { name: 'steady (backup)', colour: COLOURS[3], values: timesPerSecond(run.fakes.steady.answeredAt) },
      ],
    },
    {
      title: 'Errors and aborts by kind (per s)',
      series: [
        { name: 'lost (any reason)', colour: '#000000', values: perSecond((r) => r.outcome.kind === 'lost') },
        { name: '429 rate_limit_exceeded', colour: COLOURS[3], values: perSecond((r) => code(r) === 'rate_limit_exceeded') },
        { name: 'stream cut: SSE error event', colour: COLOURS[4], values: perSecond((r) => code(r) === 'upstream_stream_truncated') },
        {
          name: 'other clean errors',
          colour: COLOURS[1],
          values: perSecond((r) => r.outcome.kind === 'error' && !['rate_limit_exceeded', 'upstream_stream_truncated'].includes(code(r))),
        },
        { name: 'client aborts (on purpose)', colour: COLOURS[6], values: perSecond((r) => r.outcome.kind === 'aborted') },
      ],
    },
    {
      title: 'p99 latency of successes (ms, whole response)',
      series: [
        { name: 'non-streamed', colour: COLOURS[0], values: p99((r) => isOk(r) && !r.stream && r.kind !== 'slow-body') },
        { name: 'streamed, to [DONE]', colour: COLOURS[3], values: p99((r) => isOk(r) && r.stream && r.kind !== 'drip') },
        { name: 'slow upload (1.2 s body)', colour: COLOURS[5], values: p99((r) => isOk(r) && r.kind === 'slow-body') },
        { name: 'slow stream (~2 s drip)', colour: COLOURS[4], values: p99((r) => isOk(r) && r.kind === 'drip') },
      ],
    },
    {
      title: 'RSS (MB) per gateway process; dashed: V8 heap in use',
      series: [...sampled('rssMb', ' RSS'), ...sampled('heapUsedMb', ' heap used')],
    },
    { title: 'Event-loop delay p99 (ms) per gateway process', series: sampled('eventLoopP99Ms') },
  ];

  const plotWidth = WIDTH - LEFT - RIGHT;
  const height = TOP + panels.length * (PANEL_HEIGHT + GAP) + 20;
  const x = (bucket: number) => LEFT + (bucket / Math.max(1, buckets - 1)) * plotWidth;
  const xMs = (ms: number) => LEFT + (ms / 1000 / bucketS / Math.max(1, buckets - 1)) * plotWidth;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="16" font-weight="bold">Soak run, ${run.durationS} s: 2 gateways, 1 Redis, ${run.rate} req/s + limited key; shaded: fault windows, red lines: SIGTERM</text>`,
  ];
  panels.forEach((panel, i) => {
    const top = TOP + i * (PANEL_HEIGHT + GAP) + 14;
    const all = panel.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
    const max = niceMax(Math.max(1, ...all));
    const y = (v: number) => top + PANEL_HEIGHT - (v / max) * PANEL_HEIGHT;
    out.push(`<text x="${LEFT}" y="${top - 6}" font-weight="bold">${panel.title}</text>`);
    for (const w of run.windows) {
      if (w.type === 'sigterm') {
        out.push(
          `<line x1="${xMs(w.start)}" x2="${xMs(w.start)}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#d62728" stroke-dasharray="4 3"/>`,
        );
        if (i === 0) out.push(`<text x="${xMs(w.start) + 3}" y="${top + 12}" font-size="10" fill="#d62728">${w.label}</text>`);
        continue;
      }
      out.push(
        `<rect x="${xMs(w.start)}" y="${top}" width="${Math.max(1, xMs(w.end) - xMs(w.start))}" height="${PANEL_HEIGHT}" fill="#999" fill-opacity="0.15"/>`,
      );
    }
    if (i === 0) {
      // Window labels once, above the first panel, staggered so neighbours do not overlap.
      const seen = new Set<string>();
      run.windows
        .filter((w) => w.type !== 'sigterm' && !seen.has(w.label) && seen.add(w.label))
        .forEach((w, j) =>
          out.push(
            `<text x="${xMs(w.start) + 2}" y="${top + PANEL_HEIGHT - 4 - (j % 3) * 12}" font-size="10" fill="#555">${w.label}</text>`,
          ),
        );
    }
    for (const tick of [0, 0.5, 1]) {
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(max * tick)}" y2="${y(max * tick)}" stroke="#ddd"/>`);
      out.push(`<text x="${LEFT - 6}" y="${y(max * tick) + 4}" text-anchor="end">${round(max * tick)}</text>`);
    }
    const tickS = niceMax(run.durationS / 10);
    for (let s = 0; s <= run.loadEnded / 1000; s += tickS) {
      out.push(`<text x="${xMs(s * 1000)}" y="${top + PANEL_HEIGHT + 14}" text-anchor="middle" font-size="10">${s}s</text>`);
    }
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#444"/>`);
    panel.series.forEach((series, j) => {
      const dash = series.dashed ? ' stroke-dasharray="5 3"' : '';
      out.push(`<path d="${path(series.values, x, y)}" fill="none" stroke="${series.colour}" stroke-width="1.5"${dash}/>`);
      const ly = top + 12 + j * 16;
      out.push(
        `<line x1="${LEFT + plotWidth + 12}" x2="${LEFT + plotWidth + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.colour}" stroke-width="3"${dash}/>`,
      );
      out.push(`<text x="${LEFT + plotWidth + 38}" y="${ly}" font-size="11">${series.name}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

/** An SVG path through the finite points; a NaN (no sample) breaks the line. */
function path(values: number[], x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return void (pen = false);
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
    pen = true;
  });
  return d.trim() || 'M0,0';
}

function niceMax(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
  return 10 * step;
}

function round(v: number): string {
  return v >= 10 ? v.toFixed(0) : v.toFixed(1);
}
