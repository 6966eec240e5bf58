// The Node floor for bench/run.sh's `node-floor` target: the least a Node gateway can do per
// request, a bare Fastify + undici forwarder (the reference issue #17 measured against). It parses
// the JSON body, picks the upstream path by `stream`, forwards it on a keep-alive pool and sends
// the answer back: no auth, routing, metrics or logs. It runs on the gateway's Node, flags,
// environment and core, with bench/probe.cjs preloaded like every Node target.
//   PORT, HOST        where to listen
//   UPSTREAM          the fake upstream's origin, e.g. http://127.0.0.1:18080
'use strict';
const fastify = require('fastify')({ logger: false });
const { Pool } = require('undici');

const upstream = new Pool(process.env.UPSTREAM, { connections: 128 });

fastify.get('/health', async () => ({ status: 'ok' }));
fastify.post('/v1/chat/completions', async (req, reply) => {
  const stream = req.body.stream === true;
  const path = stream ? '/stream/v1/chat/completions' : '/v1/chat/completions';
  const res = await upstream.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req.body),
  });
  reply.code(res.statusCode).header('content-type', res.headers['content-type']);
  // JSON read whole, then sent in one write (lighter than piping it: fewer tails in an A/B);
  // SSE piped as it comes.
  return reply.send(stream ? res.body : Buffer.from(await res.body.arrayBuffer()));
});

fastify.listen({ port: Number(process.env.PORT), host: process.env.HOST }).catch((err) => {
  console.error(err);
  process.exit(1);
});
