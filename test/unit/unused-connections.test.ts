import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { UnusedConnections } from '../../apps/gateway/src/health/unused-connections';
import { eventually } from '../support/eventually';

describe('UnusedConnections (what the drain closes besides idle keep-alive connections)', () => {
  it('closes the connections that sent nothing at once, and, past the headers timeout, one whose request is half sent; one waiting for its answer stays', async () => {
    const server = createServer(() => {
      // Never answered: a request in flight.
    });
    const accepted: Socket[] = [];
    server.on('connection', (socket: Socket) => accepted.push(socket));
    const unused = new UnusedConnections(server, 10_000);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const open = async (bytes: string) => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      if (bytes) socket.write(bytes);
      return socket.resume();
    };
    try {
      const silent = await open('');
      await open('POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n');
      await open('GET / HTTP/1.1\r\nHost: gw\r\n\r\n');
      // The server has read what each sent (three accepted, two of them with bytes in).
      const read = async () => accepted.length >= 3 && accepted.filter((s) => s.bytesRead > 0).length >= 2;
      assert.ok(await eventually(read), `accepted ${accepted.length}, with bytes read ${accepted.filter((s) => s.bytesRead > 0).length}`);
      const silentClosed = once(silent, 'close');

      unused.close(9_999);
      assert.deepEqual(
        accepted.map((s) => s.destroyed),
        [true, false, false],
      );
      await silentClosed;

      // Found by an independent check: a half-sent request held the drain for its whole grace, as
      // server.close() stops Node's headers-timeout check (outside a drain it gets a 408 at 10 s).
      unused.close(10_000);
      assert.deepEqual(
        accepted.map((s) => s.destroyed),
        [true, true, false],
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
