import type { GatewayError } from '@gateway/providers';
import type { Deployment } from './model-catalog';

/**
 * The context window an upstream showed too small for a request by refusing it as over its window (its
 * vendor's words, context-overflow.ts, or OpenAI's `context_length_exceeded`): the deployment's configured
 * `contextWindow`, else the window the upstream named. Undefined when the error is no such refusal, or the
 * window is not known: then nothing says another deployment holds more.
 */
export function refusedWindow(error: GatewayError, deployment: Deployment): number | undefined {
  const status = error.upstreamStatus;
  if (!error.overflow || typeof status !== 'number' || status >= 500) return undefined;
  return deployment.config.contextWindow ?? error.overflow.window;
}

/**
 * Whether a deployment may still serve a request an upstream refused as over a window of `refused`
 * tokens (none refused: any may): its configured window is larger. One that declares none is not known to
 * hold more, and is not asked: the estimate that sent the request to the small one was already wrong once.
 */
export function holdsMore(deployment: Deployment, refused: number | undefined): boolean {
  return refused === undefined || (deployment.config.contextWindow ?? 0) > refused;
}
