import type { FastifyInstance, onRequestHookHandler } from 'fastify';

/**
 * Puts `hook` first among the onRequest hooks of every route whose path `covers`: it runs before the
 * route's body is read, parsed and checked (a Nest guard runs after all three), and before `100 Continue`
 * invites that body (client-error.ts). Installed before the routes are (Nest adds them at init).
 */
export function firstOnRequest(fastify: FastifyInstance, covers: (url: string) => boolean, hook: onRequestHookHandler): void {
  fastify.addHook('onRoute', (route) => {
    if (!covers(route.url)) return;
    const own = route.onRequest;
    route.onRequest = [hook, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
}
