import type { ServerResponse } from 'node:http';

/** How often a stream is checked for silence: a keep-alive goes out after 10 to 20 s without output, then every 10 s. */
export const KEEP_ALIVE_MS = 10_000;

/**
 * Keep-alive events written between a stream's own while its upstream is silent (ChatStream.keepAlive):
 * Anthropic sends `ping` events while an answer is on its way, and a proxy or load balancer in front of
 * the gateway (30 to 60 s idle timeouts are common) would otherwise cut a stream whose upstream thinks
 * without streaming. One interval timer a stream: output since the last check only sets a flag
 * (`wrote`), so a stream whose events flow pays nothing more. The writer's events are whole, and
 * the timer runs only while the writer waits, so a keep-alive never lands inside an event.
 */
export class KeepAlive {
  /** Output went out since the last check. */
  private heard = true;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly event: string,
    everyMs = KEEP_ALIVE_MS,
  ) {
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  /** The stream wrote an event: no keep-alive is due until a whole period passes without one. */
  wrote(): void {
    this.heard = true;
  }

  /** The stream ended, failed or was cut: nothing may follow its last event. */
  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.heard) {
      this.heard = false;
      return;
    }
    // A client not reading (backpressure) has the connection busy anyway.
    if (this.res.destroyed || this.res.writableEnded || this.res.writableNeedDrain) return;
    this.res.write(this.event);
  }
}
