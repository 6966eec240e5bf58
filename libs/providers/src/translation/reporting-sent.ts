import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

type Controller = Dispatcher.DispatchController;

/** Dispatch options that name what to call once the request was written whole (CallContext.sent). */
export interface SentReported {
  sent?: () => void;
}

/**
 * An interceptor that calls a request's `sent` (its dispatch options') from undici's onRequestSent, for requests
 * whose handler is undici's own (`request()`, which the vendor SDKs' fetch uses: PooledFetch); a request without
 * `sent` is dispatched as it is.
 */
export const reportingSent: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
  const { sent } = options as SentReported;
  return dispatch(options, sent ? new SentReporting(handler, sent) : handler);
};

/** `handler`, with its request's being written whole reported to `sent` first; the rest goes to it as it is. */
class SentReporting implements Dispatcher.DispatchHandler {
  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    private readonly sent: () => void,
  ) {}

  onRequestStart(controller: Controller, context: unknown): void {
    this.handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onBodySent(chunk: Buffer): void {
    this.handler.onBodySent?.(chunk);
  }

  onRequestSent(): void {
    this.sent();
    this.handler.onRequestSent?.();
  }

  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.handler.onResponseError?.(controller, error);
  }
}
