import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { ProviderConfig } from '../../libs/config/src/gateway-config';
import { PooledFetch, webBody } from '../../libs/providers/src/translation/transport';

const CHUNK = Buffer.alloc(64 * 1024, 'a');

let server: Server;
let baseUrl = '';

/** `/redirect`: a proxy's 301 with a page; `/big/N`: N chunks of 64 KiB, a few at a time. */
before(async () => {
  server = createServer((req, res) => {
    req.resume();
    if (req.url === '/redirect') {
      res.writeHead(301, { 'content-type': 'text/html', location: 'http://127.0.0.1:9/elsewhere' });
      return void res.end('<html>moved</html>');
    }
    let left = Number(req.url!.split('/')[2]);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const write = () => (--left < 0 ? res.end() : res.write(CHUNK) ? setImmediate(write) : res.once('drain', write));
    write();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

/**
 * What an SDK (or the gateway) may do with the body of an answer the PooledFetch gave it: cancel it at once, cancel
 * it after a read, leave a `for await` over it, read it whole. Node's Readable.toWeb() enqueued a chunk undici had
 * already buffered after its web stream was cancelled (its 'data' listener does not look at the cancel: Node 24.21
 * lib/internal/webstreams/adapters.js, nodejs/node#54205), and that throw, in a nextTick, ended the process.
 */
describe('PooledFetch: an answer`s body left early never throws outside the reader', () => {
  const config = () => Object.assign(new ProviderConfig(), { name: 'p', type: 'gemini', baseUrl, maxResponseBytes: 1024 * 1024 });
  const ways: Record<string, (body: ReadableStream<Uint8Array>) => Promise<unknown>> = {
    'cancelled in the tick it came': (body) => body.cancel(),
    'cancelled after one read': async (body) => {
      const reader = body.getReader();
      await reader.read();
      return reader.cancel();
    },
    'left in a for await': async (body) => {
      for await (const _chunk of body) break;
    },
    'read whole': (body) => new Response(body).arrayBuffer().catch(() => undefined),
  };

  for (const [way, leave] of Object.entries(ways))
    it(`${way}: nothing uncaught, for a 301 with a page and for bodies under and over maxResponseBytes`, async () => {
      const transport = new PooledFetch(config());
      const uncaught: unknown[] = [];
      const onUncaught = (err: unknown) => uncaught.push(err);
      process.prependListener('uncaughtException', onUncaught);
      try {
        for (const path of ['/redirect', '/big/4', '/big/40'])
          for (let i = 0; i < 5; i++) {
            const res = await transport.fetch(`${baseUrl}${path}`);
            await leave(res.body!);
            await turn();
          }
        await turn();
        assert.deepEqual(uncaught, []);
      } finally {
        process.removeListener('uncaughtException', onUncaught);
        await transport.close();
      }
    });

  it('a body past maxResponseBytes fails its reader with AnswerTooLarge; one within is read whole', async () => {
    const transport = new PooledFetch(config());
    try {
      const whole = await (await transport.fetch(`${baseUrl}/big/4`)).arrayBuffer();
      assert.equal(whole.byteLength, 4 * CHUNK.length);
      await assert.rejects((await transport.fetch(`${baseUrl}/big/40`)).arrayBuffer(), { code: 'GW_ANSWER_TOO_LARGE' });
    } finally {
      await transport.close();
    }
  });

  it('a body destroyed with neither an end nor an error fails its reader rather than leaving it waiting', async () => {
    const source = new PassThrough();
    const reading = new Response(webBody(source, 1024)).arrayBuffer();
    source.write('partial');
    await turn();
    source.destroy();
    await assert.rejects(reading, /closed before it ended/);
  });
});
