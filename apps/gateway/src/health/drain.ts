import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { finalScrape } from './final-scrape';
import type { ShutdownState } from './shutdown-state';
import type { UnusedConnections } from './unused-connections';

/** Sweep interval for keep-alive sockets that went idle during the drain. */
const SWEEP_MS = 100;
/** How long the streams the grace cuts get to write their error event before their connections close. */
const CUT_EVENT_MS = 1_000;

export interface Drain {
  state: ShutdownState;
  /**
   * Runs once no request is in flight any more (the Nest app's close): its shutdown hooks give
   * leased limits back to Redis, so a request still running then would leave its hold behind.
   */
  close: () => Promise<void>;
  /** The public listener: closed, then its idle and, after the grace, all connections. */
  server: Server;
  /**
   * The ops listener (`/metrics`, `/admin/*`, probes): serves on through the drain, so what the drain counts can
   * be scraped, and closes last, after the final scrape window.
   */
  ops: Server;
  /** The public listener's connections: those that carry no request yet closed with the idle ones; all awaited before `close`. */
  unused: UnusedConnections;
  /** How long the gateway keeps accepting after SIGTERM while reporting not ready. */
  delayMs: number;
  /** How long in-flight requests and streams get once it stops accepting. */
  graceMs: number;
  /** After the drain (SIGTERM only), how long the ops listener waits for one more `/metrics` scrape before it closes. */
  scrapeMs: number;
  log: Logger;
  /** Told when the drain begins, with the time its grace ends (Date.now's clock): requests waiting past it are refused then. */
  stopAt: (at: number) => void;
  /** Called once everything is closed. */
  exit: () => void;
}

/**
 * During a drain every response says `Connection: close`, so clients on keep-alive
 * connections reconnect, and reach another replica. Register before listening.
 */
export function closeConnectionsWhileDraining(fastify: FastifyInstance, state: ShutdownState): void {
  // A callback, not an async function: Fastify waits for an async hook's promise, a tick on every request.
  fastify.addHook('onRequest', (_request, reply, done) => {
    if (state.draining) reply.header('connection', 'close');
    done();
  });
}

/**
 * Shutdown as Kubernetes expects it. On SIGTERM the replica reports not ready at
 * once (the endpoint goes away only once the kubelet sees that, or the pod is
 * deleted) but keeps accepting for `delayMs`, so no request routed here meanwhile
 * is refused; then it stops accepting and gives in-flight requests and streams
 * `graceMs`, then waits up to `scrapeMs` for a last scrape of what the drain counted. SIGINT (a developer's
 * Ctrl-C) skips the delay and that wait. A signal during the drain changes
 * nothing (a repeated SIGTERM must not cut the streams the drain waits for): the grace bounds it.
 */
export function drainOnSignals(drain: Drain): void {
  const { state, log } = drain;
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.draining) return log.info({ signal }, 'already draining: the signal changes nothing');
    state.draining = true;
    const delayMs = signal === 'SIGTERM' ? drain.delayMs : 0;
    drain.stopAt(Date.now() + delayMs + drain.graceMs);
    log.info({ signal, delayMs, graceMs: drain.graceMs }, 'draining: not ready, still serving until the delay is over');
    const scrapeMs = signal === 'SIGTERM' ? drain.scrapeMs : 0;
    setTimeout(() => stopAccepting({ ...drain, scrapeMs }), delayMs);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

function stopAccepting({ state, close, server, ops, unused, graceMs, scrapeMs, log, exit }: Drain): void {
  log.info('draining: no new connections, finishing in-flight requests');
  // Keep-alive sockets that go idle once their response is done, and connections never used,
  // would otherwise hold the drain open until the client's own idle timeout.
  const started = Date.now();
  const sweep = setInterval(() => {
    server.closeIdleConnections();
    unused.close(Date.now() - started);
  }, SWEEP_MS);
  const force = setTimeout(() => {
    log.warn('grace period over: closing remaining connections');
    state.endGrace();
    void state.cutStreams(CUT_EVENT_MS).then(() => server.closeAllConnections());
  }, graceMs);
  sweep.unref();
  force.unref();
  closed(server)
    .then(() => unused.allClosed())
    .then(close)
    .then(() => {
      // Each cut request has its own warn line (request-hooks.ts); this is the rollout's tally.
      if (state.cut) log.warn({ cut: state.cut }, `${state.cut} requests cut: still in flight when the grace ran out`);
      if (scrapeMs) log.info({ scrapeMs }, 'drained: metrics port open for a last scrape');
      return finalScrape(ops, scrapeMs);
    })
    .then(() => closeOps(ops))
    .catch((err) => log.error({ err }, 'error during shutdown'))
    .finally(exit);
}

/** Closes the ops listener: a scrape or admin call under way gets the cut streams' bound to finish. */
function closeOps(ops: Server): Promise<void> {
  const bound = setTimeout(() => ops.closeAllConnections(), CUT_EVENT_MS);
  ops.closeIdleConnections();
  return closed(ops).finally(() => clearTimeout(bound));
}

/** Stops `server` accepting; resolves once its last connection has ended, every request on it answered. */
function closed(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
