import type { ContextOverflow } from './context-overflow';
import type { OutputCap } from './output-cap';

/** OpenAI's error `type` values, plus the gateway's own for upstream trouble. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

/** What the upstream did, for the router's fallback rules: its HTTP status, or no answer. */
export type UpstreamOutcome = number | 'timeout' | 'connection';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/**
 * The one error the gateway throws on purpose. It renders as OpenAI's error JSON
 * and tells the router whether another deployment may succeed where this failed.
 */
export class GatewayError extends Error {
  override name = 'GatewayError';
  /** Set when the error came from an upstream; the router's `fallbackOn` list matches it. */
  upstreamStatus?: UpstreamOutcome;
  /**
   * Set on a prompt over the context window (code `context_length_exceeded`): the figures each
   * ingress words it with, as its vendor does (context-overflow.ts).
   */
  overflow?: ContextOverflow;
  /**
   * Set on a completion budget over the model's output cap: the figures each ingress words it with, as
   * its vendor does (output-cap.ts), the model the client asked for, which Anthropic's words name, and the
   * parameter a chat client named its budget by (`max_completion_tokens` or `max_tokens`), which OpenAI's
   * words and `param` name: not the one the gateway sent upstream, nor the one its own refusal assumed.
   */
  outputCap?: OutputCap & { model?: string; param?: string };
  /**
   * The upstream's Retry-After to the millisecond, where it said one (`retry-after-ms`, `Retry-After: 0.3`,
   * Gemini's `retryDelay`): the router waits that long; the `retry-after` header the client gets is whole seconds.
   */
  retryAfterMs?: number;

  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    /** True when trying again (here or elsewhere) may succeed. */
    readonly retryable = false,
  ) {
    super(message);
  }

  /** Marks the error as the upstream's doing (see `upstreamStatus`). */
  from(outcome: UpstreamOutcome): this {
    this.upstreamStatus = outcome;
    return this;
  }

  toJSON(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static badRequest(message: string, param: string | null = null, code: string | null = null): GatewayError {
    return new GatewayError(400, message, 'invalid_request_error', code, param);
  }

  /** A prompt over every deployment's context window, by the gateway's estimate (`figures`). */
  static contextOverflow(message: string, param: string, figures: ContextOverflow): GatewayError {
    return Object.assign(GatewayError.badRequest(message, param, 'context_length_exceeded'), { overflow: figures });
  }

  /** A completion budget over every deployment's output cap, by the config's `maxOutputTokens` (`figures`). */
  static overOutputCap(message: string, figures: OutputCap): GatewayError {
    return Object.assign(GatewayError.badRequest(message, 'max_tokens', 'invalid_value'), { outputCap: figures });
  }

  /** The client went away; nothing is sent, but logs and metrics still record it. */
  static clientClosed(): GatewayError {
    return new GatewayError(499, 'The client closed the request.', 'invalid_request_error', 'client_closed_request');
  }

  /** A 200 whose body is not the answer it should be: retryable, so the router tries another deployment. */
  static invalidResponse(message: string): GatewayError {
    return new GatewayError(502, message, 'upstream_error', 'upstream_invalid_response', null, {}, true).from(502);
  }

  static modelNotFound(model: string, why = 'does not exist'): GatewayError {
    return new GatewayError(404, `The model \`${model}\` ${why}.`, 'invalid_request_error', 'model_not_found', 'model');
  }
}
