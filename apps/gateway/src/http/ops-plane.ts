import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { clientErrorHandler, guardServer } from './client-error';
import { sendError } from './send-error';
import { TIMEOUT_CHECK_MS } from './fastify-setup';

/** Routes only the ops listener serves: scrapes (per-key spend) and key management. */
function isOpsRoute(route: string): boolean {
  return route === '/metrics' || route === '/admin' || route.startsWith('/admin/');
}

/** Routes both listeners serve: probes, so the kubelet may use either port. */
const PROBES = new Set(['/health', '/ready']);

/** Connections to the ops listener. */
const OPS_SOCKETS = new WeakSet<Socket>();

/** True when `request` came in on the ops listener (METRICS_PORT), not the public port. */
export function onOpsListener(request: FastifyRequest): boolean {
  return OPS_SOCKETS.has(request.raw.socket);
}

/**
 * True when the listener `request` came in on serves `route`: a route's path, or a request's
 * decoded path (the ops routes are a path and a prefix, so both classify alike).
 */
export function servedOnListener(request: FastifyRequest, route: string): boolean {
  return onOpsListener(request) ? isOpsRoute(route) || PROBES.has(route) : !isOpsRoute(route);
}

/**
 * The second listener (METRICS_PORT) for what must not share the public port:
 * `/metrics` and `/admin/*`. Both listeners feed the same Fastify instance; a hook
 * tells them apart by the socket a request came in on and answers 404 for a route
 * of the other plane, as if it did not exist there.
 */
export class OpsPlane {
  readonly server: Server;

  constructor(fastify: FastifyInstance, timeouts: { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number }) {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => fastify.routing(req, res));
    Object.assign(this.server, timeouts, { connectionsCheckingInterval: TIMEOUT_CHECK_MS });
    this.server.on('connection', (socket: Socket) => OPS_SOCKETS.add(socket));
    this.server.on('clientError', clientErrorHandler.bind(fastify));
    guardServer(this.server, fastify);
    fastify.addHook('onRequest', (request, reply, done) => {
      const route = request.routeOptions.url;
      // Unmatched: the not-found path answers (error.filter.ts), naming only this listener's routes.
      if (route === undefined || servedOnListener(request, route)) return done();
      sendError(reply, new GatewayError(404, 'Unknown route.', 'not_found_error', 'not_found'));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }
}
