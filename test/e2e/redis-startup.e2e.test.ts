import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL && `${process.env.TEST_REDIS_URL.replace(/\/\d*$/, '')}/11`;
const MASTER = 'redis-startup-master-key-0123';
/**
 * A connection's first answers (its handshake: SELECT, the INFO of the ready check) come this much later:
 * the first connection is ready only after the gateway would have opened its port, and no command
 * outlasts the 500 ms command timeout. Answers after those are not held: every answer held this long
 * left a busy host's late timers too little of that timeout, and the admin call got 503 redis_unavailable.
 */
const REPLY_DELAY_MS = 350;

/** A TCP proxy to Redis that holds what Redis answers in a connection's first REPLY_DELAY_MS until then: a Redis slow to connect. */
async function slowProxy(target: URL): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream);
    const connected = new Promise((r) => setTimeout(r, REPLY_DELAY_MS));
    // Handed on in order: what came in the first REPLY_DELAY_MS waits for its end, what comes after goes at once.
    let handedOn = connected;
    upstream.on('data', (data: Buffer) => (handedOn = handedOn.then(() => client.writable && client.write(data))));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}${target.pathname}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// Seen in CI: on a loaded machine a gateway opened its port before its Redis connection was up and
// answered its first requests 503 redis_unavailable. Start-up now waits for the first connection.
describe('start-up with a Redis slow to connect', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let proxy: Awaited<ReturnType<typeof slowProxy>>;
  let gateway: GatewayProcess;
  before(async () => {
    proxy = await slowProxy(new URL(REDIS_URL!));
  });
  after(async () => {
    await gateway?.stop();
    proxy?.close();
  });

  it('serves its first requests once listening: the port opens after Redis answered', async () => {
    gateway = await GatewayProcess.start(configWith({}), { env: { REDIS_URL: proxy.url, GATEWAY_MASTER_KEY: MASTER } });
    const { status, body } = await gateway.adminKeys(MASTER, 'POST', '', { name: 'first-request' });
    assert.equal(status, 201, JSON.stringify(body));
    const key = (body as { key: string }).key;
    const answer = await gateway
      .client({ apiKey: key })
      .chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(answer.object, 'chat.completion');
  });
});
