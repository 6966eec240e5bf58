import type { Fault, FaultKind } from './chaos-upstream';

/** What happens in a window of the run. */
export type Action =
  | { type: 'fault'; fault: Fault }
  /** Several faults in turn, `everyS` seconds each. */
  | { type: 'mixed'; faults: Fault[]; everyS: number }
  | { type: 'provider-down' }
  | { type: 'redis-down' }
  /** Redis stopped with SIGSTOP: its connections stay open and commands get no answer. */
  | { type: 'redis-frozen' }
  /** SIGTERM to one gateway while long streams are in flight, then a restart. */
  | { type: 'sigterm'; target: string }
  /** Faults on both upstreams at once: the primary (`flaky`) and the backup (`steady`). */
  | { type: 'storm'; primary: Fault; backup: Fault }
  /** 5xx until the primary's breakers open, then the half-open probe ends in a 400 or in the client leaving. */
  | { type: 'probe'; ending: '400' | 'abort' };

export type Scenario = 'mixed' | 'storm';

export interface Window {
  label: string;
  /** Seconds from the start of the run. */
  start: number;
  end: number;
  action: Action;
}

/** The 10-minute schedule; shorter runs scale every time by duration / 600. */
const REFERENCE_S = 600;

const fault = (kind: FaultKind, probability: number): Action => ({ type: 'fault', fault: { kind, probability } });

const REFERENCE: Window[] = [
  { label: '5xx burst', start: 40, end: 44, action: fault('5xx', 1) },
  { label: '5xx burst', start: 52, end: 56, action: fault('5xx', 1) },
  { label: '5xx burst', start: 64, end: 68, action: fault('5xx', 1) },
  { label: '429 + Retry-After', start: 75, end: 100, action: fault('429', 0.5) },
  { label: 'latency spikes', start: 105, end: 135, action: fault('latency', 0.3) },
  { label: 'connection resets', start: 140, end: 165, action: fault('reset', 0.3) },
  { label: 'streams cut', start: 170, end: 195, action: fault('cut', 0.3) },
  { label: 'provider down', start: 200, end: 260, action: { type: 'provider-down' } },
  { label: 'Redis down', start: 270, end: 300, action: { type: 'redis-down' } },
  { label: 'SIGTERM a', start: 330, end: 330, action: { type: 'sigterm', target: 'a' } },
  {
    label: 'mixed faults',
    start: 360,
    end: 420,
    action: {
      type: 'mixed',
      everyS: 5,
      faults: (['5xx', 'reset', 'cut', 'latency', '429'] as FaultKind[]).map((kind) => ({ kind, probability: 0.2 })),
    },
  },
  { label: 'SIGTERM b', start: 440, end: 440, action: { type: 'sigterm', target: 'b' } },
  { label: 'Redis frozen', start: 470, end: 490, action: { type: 'redis-frozen' } },
];

/**
 * The rate-limit scenario of issue #12, in fixed seconds (Retry-After and breaker
 * cool-downs do not scale): a 429 storm on the primary with a 70%-healthy backup,
 * then healthy upstreams; then two half-open probes that end badly, each followed
 * by a healthy phase in which the primary must be in use again.
 */
const STORM: Window[] = [
  {
    label: '429 storm',
    start: 10,
    end: 25,
    action: {
      type: 'storm',
      primary: { kind: '429', probability: 0.9, retryAfterS: 1 },
      backup: { kind: '429', probability: 0.3, retryAfterS: 1 },
    },
  },
  { label: 'probe ends in 400', start: 45, end: 57, action: { type: 'probe', ending: '400' } },
  { label: 'probe ends in client abort', start: 70, end: 85, action: { type: 'probe', ending: 'abort' } },
];
/** The storm scenario's length; `--duration` does not apply to it. */
export const STORM_DURATION_S = 105;

/** The schedule for a run of `durationS` seconds: the mixed one scaled, or the storm scenario as is. */
export function schedule(durationS: number, scenario: Scenario = 'mixed'): Window[] {
  if (scenario === 'storm') return STORM;
  const k = durationS / REFERENCE_S;
  return REFERENCE.map((w) => ({
    ...w,
    start: w.start * k,
    end: w.end * k,
    action: w.action.type === 'mixed' ? { ...w.action, everyS: Math.max(1, w.action.everyS * k) } : w.action,
  }));
}

/** The quiet start of the run, before any fault: the baseline for resource figures. */
export function warmUpEnd(durationS: number, scenario: Scenario = 'mixed'): number {
  return scenario === 'storm' ? STORM[0].start : (40 * durationS) / REFERENCE_S;
}
