import { type AttemptTiming, genAiProviderName, newSpanId } from '@gateway/metrics';
import type { GatewayError } from '@gateway/providers';
import type { Deployment } from './model-catalog';

/** An attempt on `d` starts: its timing joins the request's timeline (traces), its span id made now for its traceparent. */
export function startAttempt(timeline: AttemptTiming[], d: Deployment, now: number): AttemptTiming {
  const timing = {
    spanId: newSpanId(),
    deployment: d.id,
    provider: genAiProviderName(d.provider),
    upstreamModel: d.upstreamModel,
    startedAt: now,
  };
  timeline.push(timing);
  return timing;
}

export function endAttempt(timing: AttemptTiming, now: number, error?: GatewayError): void {
  timing.endedAt = now;
  if (error) timing.error = error.code ?? error.type;
}
