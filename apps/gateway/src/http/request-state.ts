import type { FastifyRequest } from 'fastify';
import type { CompletionUsage } from '@gateway/providers';

/** What the handler learnt about a request, for the access log and metrics. */
export interface RequestState {
  /** Public model group (bounded), once resolved. */
  model?: string;
  provider?: string;
  deployment?: string;
  upstreamModel?: string;
  stream?: boolean;
  attempts?: number;
  /** `<deployment>=<reason>, …` for attempts that failed before the one that answered. */
  fallbacks?: string;
  /** `<virtual model>:<rule>` when a task rule picked the group. */
  route?: string;
  errorCode?: string;
  usage?: CompletionUsage;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Declared with decorateRequest at start-up so every request keeps one shape. */
    gatewayState: RequestState | null;
  }
}

export function requestState(request: FastifyRequest): RequestState {
  return (request.gatewayState ??= {});
}
