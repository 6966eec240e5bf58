import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Waits for the last scrape: resolves once a `/metrics` response has been sent on `ops` after this call, or after
 * `ms`. What the drain counted (streams that ended in it, the `shutdown_cut` ones) exists only in this process:
 * a Prometheus that scrapes every interval sees it only if one more scrape comes before the exit.
 */
export function finalScrape(ops: Server, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function onRequest(req: IncomingMessage, res: ServerResponse): void {
      if (req.url?.split('?')[0] === '/metrics') res.once('finish', done);
    }
    function done(): void {
      clearTimeout(timer);
      ops.off('request', onRequest);
      resolve();
    }
    ops.on('request', onRequest);
  });
}
