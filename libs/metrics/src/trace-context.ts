import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a request belongs to,
 * so its spans join the caller's trace and each upstream attempt carries its own span's id.
 */
export interface TraceContext {
  traceId: string;
  /** The caller's span, when the request came with a valid `traceparent`. */
  parentSpanId?: string;
  /** The gateway's span for the request. */
  spanId: string;
  /** `01` sampled, `00` not (other bits cleared): the caller's decision, or ours (sampled) when the trace starts here. */
  flags: string;
  /** Vendors' own entries, passed on as they came. */
  tracestate?: string;
}

/** version-traceid-parentid-flags, lower-case hex; a later version may add fields after a dash. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZEROS = /^0+$/;

/** The caller's trace from its `traceparent` / `tracestate`, or undefined when there is none or it is invalid. */
export function incomingTrace(headers: IncomingHttpHeaders): Omit<TraceContext, 'spanId'> | undefined {
  const header = headers.traceparent;
  const m = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  // Version ff is forbidden; version 00 has exactly four fields; ids of zeros are invalid.
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] === '-') || ZEROS.test(m[2]) || ZEROS.test(m[3])) return undefined;
  const tracestate = headers.tracestate;
  return {
    traceId: m[2],
    parentSpanId: m[3],
    // Only the sampled bit is defined here (Level 1); a participant MUST zero the flags it does not know.
    flags: parseInt(m[4], 16) & 1 ? '01' : '00',
    ...(typeof tracestate === 'string' && tracestate ? { tracestate } : {}),
  };
}

/** The request's trace: the caller's, continued, or a new one. */
export function requestTrace(headers: IncomingHttpHeaders): TraceContext {
  return { ...(incomingTrace(headers) ?? { traceId: randomBytes(16).toString('hex'), flags: '01' }), spanId: newSpanId() };
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/** The headers that tell the next hop its parent is `spanId` of this trace. */
export function traceHeaders(trace: Omit<TraceContext, 'spanId'>, spanId: string): Record<string, string> {
  const traceparent = `00-${trace.traceId}-${spanId}-${trace.flags}`;
  return trace.tracestate ? { traceparent, tracestate: trace.tracestate } : { traceparent };
}
