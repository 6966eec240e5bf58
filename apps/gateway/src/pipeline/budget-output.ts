import type { DeploymentConfig } from '@gateway/config';
import type { Deployment } from '@gateway/router';
import type { Reservation } from '@gateway/security';

/**
 * `d`'s settings for one request: with `maxOutputTokens` as the output its key's budget hold covers when the
 * request set no limit (Reservation.outputCaps), which every adapter sends upstream as the limit then, and
 * the request's usage is judged by (describe-run.ts usageLimits).
 */
export function deploymentFor(d: Deployment, reservation: Reservation | undefined): DeploymentConfig {
  const cap = reservation?.outputCaps?.get(d.id);
  return cap === undefined || cap === d.config.maxOutputTokens ? d.config : { ...d.config, maxOutputTokens: cap };
}

/** Whether `d` was sent an output limit its key's budget set (not the request's nor `d`'s own): an answer it cut is not the cache's to give others. */
export function limitedByBudget(d: Deployment, reservation: Reservation | undefined): boolean {
  return deploymentFor(d, reservation) !== d.config;
}
