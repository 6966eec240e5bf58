import type { FastifyRequest } from 'fastify';

/** What the handler learnt about a request, for the access log and metrics. */
export interface RequestState {
  /** Public model group (bounded), once resolved. */
  model?: string;
  provider?: string;
  deployment?: string;
  upstreamModel?: string;
  stream?: boolean;
  /** Cache result: hit-exact, hit-semantic, miss or bypass (absent when the cache is off). */
  cache?: string;
  attempts?: number;
  errorCode?: string;
  promptTokens?: number;
  completionTokens?: number;
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
