import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import { AnswerTooLarge, bufferedRequest, streamedRequest } from '../../libs/providers/src/openai/dispatch';
import { eventually } from '../support/eventually';

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const CHUNKS = 300; // ~19 MB: far more than loopback socket buffers hold
/** What a whole answer may hold in the tests that are not about that cap. */
const MAX_BYTES = 1024 * 1024;

/** Writes CHUNKS chunks, honouring backpressure; records whether it got to the end. */
function writeMany(res: ServerResponse, state: { finished: boolean; closedEarly: boolean }): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  let i = 0;
  const next = () => {
    while (i < CHUNKS) {
      i++;
      if (!res.write(CHUNK)) return void res.once('drain', next);
    }
    res.end(() => (state.finished = true));
  };
  res.on('close', () => (state.closedEarly = !state.finished));
  next();
}

/** DRIPS chunks, one every DRIP_MS: longer in all than the timeout the test gives, never idle that long. */
const DRIPS = 12;
const DRIP_MS = 150;
function drip(res: ServerResponse): void {
  res.writeHead(200);
  let sent = 0;
  const timer = setInterval(() => {
    res.write(`${sent},`);
    if (++sent === DRIPS) {
      clearInterval(timer);
      res.end('end');
    }
  }, DRIP_MS);
}

describe('upstream requests read from undici dispatch callbacks', () => {
  let server: Server;
  let pool: Pool;
  const state = { finished: false, closedEarly: false };
  const hangsClosed: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/many') return writeMany(res, state);
      if (req.url === '/error') return void res.writeHead(429, { 'retry-after': '7' }).end('{"error":{"message":"slow down"}}');
      if (req.url === '/hang') return void res.on('close', () => hangsClosed.push('headers'));
      if (req.url === '/stall') return void res.writeHead(200).write('{"partial":', () => res.on('close', () => hangsClosed.push('body')));
      if (req.url === '/drip') return drip(res);
      if (req.url === '/interim') {
        res.writeProcessing();
        res.writeEarlyHints({ link: '</a.css>; rel=preload; as=style' });
        return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: {"ok":true}\n\n');
      }
      if (req.url === '/sized') return void res.writeHead(200, { 'content-length': 2 * MAX_BYTES }).write('{"a":"');
      res.end('{"ok":true}');
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    // undici's own timers far beyond any test: only bufferedRequest's timeout can end a hung answer.
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { headersTimeout: 600_000, bodyTimeout: 600_000 });
  });
  after(async () => {
    await pool.close();
    server.close();
  });

  it('stops reading the socket while the reader falls behind, and then delivers every byte in order', async () => {
    Object.assign(state, { finished: false, closedEarly: false });
    const res = await streamedRequest(pool, { method: 'GET', path: '/many' }, new AbortController().signal, 60_000);
    assert.equal(res.statusCode, 200);
    const iterator = res.body[Symbol.asyncIterator]();
    const hash = createHash('sha256');
    let bytes = 0;
    const first = await iterator.next();
    hash.update(first.value as Buffer);
    bytes += (first.value as Buffer).length;
    // Without a pause the whole body would be read into memory within this wait on loopback.
    await sleep(300);
    assert.equal(state.finished, false, 'the upstream could write everything: the reader was not holding it back');
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      hash.update(r.value);
      bytes += r.value.length;
    }
    assert.equal(bytes, CHUNK.length * CHUNKS);
    const expected = createHash('sha256');
    for (let i = 0; i < CHUNKS; i++) expected.update(CHUNK);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
  });

  it('an abort mid-body ends the iteration with the abort reason and closes the upstream request', async () => {
    Object.assign(state, { finished: false, closedEarly: false });
    const controller = new AbortController();
    const res = await streamedRequest(pool, { method: 'GET', path: '/many' }, controller.signal, 60_000);
    const reason = new Error('deadline');
    await assert.rejects(
      (async () => {
        for await (const chunk of res.body) {
          assert.ok(chunk.length > 0);
          controller.abort(reason);
        }
      })(),
      (err) => err === reason,
    );
    assert.ok(await eventually(async () => state.closedEarly), 'the upstream saw its request closed early');
  });

  it('destroy() releases the upstream request when the reader stops early', async () => {
    Object.assign(state, { finished: false, closedEarly: false });
    const res = await streamedRequest(pool, { method: 'GET', path: '/many' }, new AbortController().signal, 60_000);
    for await (const chunk of res.body) {
      assert.ok(chunk.length > 0);
      break;
    }
    res.body.destroy();
    assert.ok(await eventually(async () => state.closedEarly), 'the upstream saw its request closed early');
  });

  it('collects a whole answer, and gives an error answer its status, headers and body', async () => {
    const ok = await bufferedRequest(pool, { method: 'GET', path: '/' }, new AbortController().signal, 60_000, MAX_BYTES);
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body[0].toString(), '{"ok":true}');
    const limited = await bufferedRequest(pool, { method: 'GET', path: '/error' }, new AbortController().signal, 60_000, MAX_BYTES);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['retry-after'], '7');
    assert.match(limited.body[0].toString(), /slow down/);
  });

  it('an answer larger than maxBytes is aborted there, read no further: by its Content-Length, or as it grows', async () => {
    Object.assign(state, { finished: false, closedEarly: false });
    const tooLarge = (err: unknown) => err instanceof AnswerTooLarge && err.maxBytes === MAX_BYTES;
    // ~19 MB sent with backpressure, no Content-Length: aborted once past 1 MiB, and the upstream's request closed.
    await assert.rejects(
      bufferedRequest(pool, { method: 'GET', path: '/many' }, new AbortController().signal, 60_000, MAX_BYTES),
      tooLarge,
    );
    assert.ok(await eventually(async () => state.closedEarly), 'the upstream saw its request closed early');
    assert.equal(state.finished, false);
    // A declared length over the cap: refused before any of the body is read.
    await assert.rejects(
      bufferedRequest(pool, { method: 'GET', path: '/sized' }, new AbortController().signal, 60_000, MAX_BYTES),
      tooLarge,
    );
    // Exactly the cap is an answer.
    const whole = await bufferedRequest(
      pool,
      { method: 'GET', path: '/many' },
      new AbortController().signal,
      60_000,
      CHUNK.length * CHUNKS,
    );
    assert.equal(whole.body[0].length, CHUNK.length * CHUNKS);
  });

  it('no headers within the timeout, then no body chunk within it: undici`s own timeout errors, and the upstream request is closed', async () => {
    hangsClosed.length = 0;
    const code = (expected: string) => (err: Error & { code?: string }) => (assert.equal(err.code, expected), true);
    const signal = new AbortController().signal;
    await assert.rejects(bufferedRequest(pool, { method: 'GET', path: '/hang' }, signal, 200, MAX_BYTES), code('UND_ERR_HEADERS_TIMEOUT'));
    await assert.rejects(bufferedRequest(pool, { method: 'GET', path: '/stall' }, signal, 200, MAX_BYTES), code('UND_ERR_BODY_TIMEOUT'));
    const stream = await streamedRequest(pool, { method: 'GET', path: '/stall' }, signal, 200);
    await assert.rejects(
      (async () => {
        for await (const chunk of stream.body) assert.ok(chunk.length > 0);
      })(),
      code('UND_ERR_BODY_TIMEOUT'),
    );
    assert.ok(await eventually(async () => hangsClosed.length >= 3), `closed: ${hangsClosed.join(', ')}`);
    assert.deepEqual(hangsClosed, ['headers', 'body', 'body']);
  });

  it('the timeout is the idle time between chunks, not the whole answer`s', async () => {
    const timeoutMs = 1_000; // the answer takes DRIPS * DRIP_MS = 1.8 s
    const whole = await bufferedRequest(pool, { method: 'GET', path: '/drip' }, new AbortController().signal, timeoutMs, MAX_BYTES);
    assert.match(whole.body[0].toString(), /^0,1,.*,11,end$/);
    const stream = await streamedRequest(pool, { method: 'GET', path: '/drip' }, new AbortController().signal, timeoutMs);
    let text = '';
    for await (const chunk of stream.body) text += chunk.toString();
    assert.equal(text, whole.body[0].toString());
  });

  it('a reader holding the body back longer than the timeout is not timed out: the wait restarts while paused, as undici`s', async () => {
    Object.assign(state, { finished: false, closedEarly: false });
    const res = await streamedRequest(pool, { method: 'GET', path: '/many' }, new AbortController().signal, 200);
    const iterator = res.body[Symbol.asyncIterator]();
    let bytes = ((await iterator.next()).value as Buffer).length;
    await sleep(700);
    assert.equal(state.finished, false, 'the upstream could write everything: the body was never paused');
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) bytes += r.value.length;
    assert.equal(bytes, CHUNK.length * CHUNKS);
  });

  it('an answer that arrived while the event loop was blocked past the timeout is read, not timed out', async () => {
    // The upstream runs in a worker, so it keeps writing while this thread is blocked.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const server = require('node:http').createServer((req, res) => {
         res.writeHead(200);
         res.write('a');
         setTimeout(() => res.write('b'), 50);
         setTimeout(() => res.end('c'), 100);
       }).listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true },
    );
    const [port] = (await once(worker, 'message')) as [number];
    const upstream = new Pool(`http://127.0.0.1:${port}`);
    try {
      const res = await streamedRequest(upstream, { method: 'GET', path: '/' }, new AbortController().signal, 300);
      const iterator = res.body[Symbol.asyncIterator]();
      let text = ((await iterator.next()).value as Buffer).toString();
      // Blocked past the timeout while the rest arrives: the idle timer comes due before the socket is read.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) text += r.value.toString();
      assert.equal(text, 'abc');
    } finally {
      await upstream.close();
      await worker.terminate();
    }
  });

  // Found by an independent check (http34 D1): a 102 or 103 before the answer was taken for the answer by a streamed
  // request (undici reports interim answers to onResponseStart too): every stream behind a CDN sending Early Hints failed.
  it('an interim answer (102 Processing, 103 Early Hints) before the answer is skipped, streamed or whole', async () => {
    const streamed = await streamedRequest(pool, { method: 'GET', path: '/interim' }, new AbortController().signal, 60_000);
    assert.equal(streamed.statusCode, 200);
    assert.equal(streamed.headers['content-type'], 'text/event-stream');
    const chunks: Buffer[] = [];
    for await (const chunk of streamed.body) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'data: {"ok":true}\n\n');
    const whole = await bufferedRequest(pool, { method: 'GET', path: '/interim' }, new AbortController().signal, 60_000, MAX_BYTES);
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.body.toString(), 'data: {"ok":true}\n\n');
  });

  it('refuses at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('client gone');
    controller.abort(reason);
    await assert.rejects(
      bufferedRequest(pool, { method: 'GET', path: '/' }, controller.signal, 60_000, MAX_BYTES),
      (err) => err === reason,
    );
    await assert.rejects(streamedRequest(pool, { method: 'GET', path: '/' }, controller.signal, 60_000), (err) => err === reason);
  });
});
