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
  | { type: 'sigterm'; target: string };

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

/** The schedule for a run of `durationS` seconds: the reference one, scaled. */
export function schedule(durationS: number): Window[] {
  const k = durationS / REFERENCE_S;
  return REFERENCE.map((w) => ({
    ...w,
    start: w.start * k,
    end: w.end * k,
    action: w.action.type === 'mixed' ? { ...w.action, everyS: Math.max(1, w.action.everyS * k) } : w.action,
  }));
}

/** The quiet start of the run, before any fault: the baseline for resource figures. */
export function warmUpEnd(durationS: number): number {
  return (40 * durationS) / REFERENCE_S;
}
