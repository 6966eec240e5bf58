import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ShutdownState } from './shutdown-state';

/** Sweep interval for keep-alive sockets that went idle during the drain. */
const SWEEP_MS = 100;

export interface Drain {
  state: ShutdownState;
  /** Stops every listener and waits for in-flight requests (the Nest app's close). */
  close: () => Promise<void>;
  /** Every listener (public and ops), for closing idle and, after the grace, all connections. */
  servers: Server[];
  /** How long the gateway keeps accepting after SIGTERM while reporting not ready. */
  delayMs: number;
  /** How long in-flight requests and streams get once it stops accepting. */
  graceMs: number;
  log: Logger;
  /** Called once everything is closed. */
  exit: () => void;
}

/**
 * During a drain every response says `Connection: close`, so clients on keep-alive
 * connections reconnect, and reach another replica. Register before listening.
 */
export function closeConnectionsWhileDraining(fastify: FastifyInstance, state: ShutdownState): void {
  fastify.addHook('onRequest', async (_request, reply) => {
    if (state.draining) reply.header('connection', 'close');
  });
}

/**
 * Shutdown as Kubernetes expects it. On SIGTERM the replica reports not ready at
 * once (the endpoint goes away only once the kubelet sees that, or the pod is
 * deleted) but keeps accepting for `delayMs`, so no request routed here meanwhile
 * is refused; then it stops accepting and gives in-flight requests and streams
 * `graceMs`. SIGINT (a developer's Ctrl-C) skips the delay.
 */
export function drainOnSignals(drain: Drain): void {
  const { state, log } = drain;
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.draining) return;
    state.draining = true;
    const delayMs = signal === 'SIGTERM' ? drain.delayMs : 0;
    log.info({ signal, delayMs, graceMs: drain.graceMs }, 'draining: not ready, still serving until the delay is over');
    setTimeout(() => stopAccepting(drain), delayMs);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}

function stopAccepting({ close, servers, graceMs, log, exit }: Drain): void {
  log.info('draining: no new connections, finishing in-flight requests');
  // Keep-alive sockets that go idle once their response is done would otherwise
  // hold the drain open until the client's own idle timeout.
  const sweep = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), SWEEP_MS);
  const force = setTimeout(() => {
    log.warn('grace period over: closing remaining connections');
    servers.forEach((s) => s.closeAllConnections());
  }, graceMs);
  sweep.unref();
  force.unref();
  close()
    .catch((err) => log.error({ err }, 'error during shutdown'))
    .finally(exit);
}
