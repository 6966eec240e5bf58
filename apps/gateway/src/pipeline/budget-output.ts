import type { DeploymentConfig } from '@gateway/config';
import type { Deployment } from '@gateway/router';
import type { Reservation } from '@gateway/security';

/**
 * Room kept in a context window beyond the prompt's estimate (about 4 characters a token) before an output limit
 * the gateway adds on its own: a tokenizer denser than the estimate must not make prompt + limit pass the window.
 */
const ESTIMATE_SLACK = 1.1;
const SLACK_TOKENS = 64;

/**
 * `d`'s settings for one request whose prompt is estimated at `promptTokens`: `maxOutputTokens` is the output limit
 * the gateway adds when the request set none (every adapter sends it upstream then, and the request's usage is judged
 * by it: describe-run.ts usageLimits): the output its key's budget hold and TPM reservation cover (Reservation.outputCaps), else the
 * deployment's own; at most what the context window leaves after the prompt. Servers that check prompt + limit
 * against the window (vLLM, OpenAI, Azure) refuse more with a 400 that does not fail over, where the request without
 * a limit was answered (recheck30b D1). No room left by the estimate: the deployment's own limit is not sent (the
 * upstream decides, as eligibility lets a prompt that alone fits through); one of the key's limits is, as they bound it.
 */
export function deploymentFor(d: Deployment, reservation: Reservation | undefined, promptTokens: number): DeploymentConfig {
  const budgeted = reservation?.outputCaps?.get(d.id);
  const limit = budgeted ?? d.config.maxOutputTokens;
  const window = d.config.contextWindow;
  if (limit === undefined || window === undefined) return budgeted === undefined ? d.config : { ...d.config, maxOutputTokens: budgeted };
  const room = Math.floor(window - promptTokens * ESTIMATE_SLACK - SLACK_TOKENS);
  const sent = room > 0 ? Math.min(limit, room) : budgeted;
  return sent === d.config.maxOutputTokens ? d.config : { ...d.config, maxOutputTokens: sent };
}

/** Whether `d` was sent an output limit below its own (a budget's, or the window's room): an answer it cut is not the cache's to give others. */
export function limitedByGateway(d: Deployment, reservation: Reservation | undefined, promptTokens: number): boolean {
  return deploymentFor(d, reservation, promptTokens) !== d.config;
}
