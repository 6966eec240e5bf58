import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';
import { invitedExchange, RawConnection } from '../support/raw-connection';

/**
 * The findings of the hostile-input probe (issue #18), one test each: a request
 * that killed the process, one that froze it, and answers the caller could not
 * parse. Each failed on the code before the fix.
 */
const MASTER = 'regress-master-key-0123456789';

/** One request written on a raw socket; the whole answer (status line, headers, body). */
/** `keepOpen`: the request is written without closing the sending side (Node aborts the requests of a connection the client ended). */
function raw(url: string, text: string, { timeoutMs = 5_000, keepOpen = false } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    socket.setTimeout(timeoutMs, () => socket.destroy());
    if (keepOpen) socket.write(text);
    else socket.end(text);
  });
}

/** Status and parsed JSON body of a raw answer (undefined body when it is not JSON). */
function parseRaw(answer: string): { status: number; body: Record<string, unknown> | undefined; text: string } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const text = rest.join('\r\n\r\n');
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body, text };
}

type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };
const errorJson = async (res: Response) => (await res.json()) as ErrorJson;

function assertOpenAIError(body: unknown, code?: string): void {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  assert.ok(error, `an OpenAI error body: ${JSON.stringify(body)}`);
  assert.equal(typeof error.message, 'string');
  assert.equal(typeof error.type, 'string');
  assert.ok('param' in error && 'code' in error);
  if (code) assert.equal(error.code, code);
}

// Found by an independent check: a malformed request pipelined behind a streamed answer had its
// 400 written into the middle of that answer's chunked body.
describe('a malformed request pipelined behind a stream', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'slow', type: 'mock', mock: { tokensPerSecond: 20 } }],
        models: [{ name: 'slow-1', deployments: [{ provider: 'slow', model: 'slow-1' }] }],
      }),
    );
  });
  after(() => gateway?.stop());

  it('answers it after the streamed answer, whole, and closes the connection', async () => {
    const body = '{"model":"slow-1","stream":true,"messages":[{"role":"user","content":"Tell me a story"}]}';
    const connection = new RawConnection(gateway.url);
    connection.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    // Once the stream has begun, a request Node's parser refuses.
    await connection.until(/data: /);
    connection.write('THIS IS NOT HTTP\r\n\r\n');
    const answer = await connection.untilClosed();
    assert.deepEqual(connection.statuses(), [200, 400], answer.slice(0, 300));
    // Until a later check the connection was cut mid-stream; the 400 now follows the stream's last chunk.
    const streamEnd = answer.indexOf('data: [DONE]');
    assert.ok(streamEnd > 0, 'the stream ran to its end');
    assert.ok(answer.indexOf('\r\n0\r\n\r\n', streamEnd) < answer.indexOf('HTTP/1.1 400'), 'the 400 after the last chunk');
    assert.match(answer, /"code":"malformed_http_request"\}\}$/);
  });

  // Found by the same check: 40 connections that pipelined 30 embeddings requests each and never
  // read took the process from 143 MB to ~1 GB: every request parsed from one read ran at once.
  it('runs the requests of one connection one after the other; past 16 waiting, a 429 closes it', async () => {
    const request = (model: string) => {
      const body = `{"model":"${model}","messages":[{"role":"user","content":"Tell me a story"}]}`;
      return `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    // The slow first answer keeps the other 17 waiting behind it.
    const answer = await raw(gateway.url, request('slow-1') + request('mock-1').repeat(17), { timeoutMs: 30_000, keepOpen: true });
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses.slice(0, 17), [...Array(16).fill(200), 429], answer.slice(0, 300));
    assert.match(answer, /"code":"too_many_pipelined_requests"/);
    // A new connection is served as usual.
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"mock-1","messages":[{"role":"user","content":"Tell me a story"}]}',
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
});

// Found by an independent check with raw sockets (fast-check and pipelined packets).
describe('one connection, answers in order: a malformed request, Expect and an oversized body', () => {
  const LIMIT = 64 * 1024;
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith({ server: { bodyLimitBytes: LIMIT } }));
  });
  after(() => gateway?.stop());

  const chat = '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}';
  const chatRequest = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${chat.length}\r\n\r\n${chat}`;
  const head = (length: number, expect = '') =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${expect}Content-Length: ${length}\r\n\r\n`;

  it('a malformed request pipelined behind a valid one in the same packet is answered after it, not in its place', async () => {
    const connection = new RawConnection(gateway.url);
    connection.write(chatRequest + 'GARBAGE\r\n\r\n');
    const answer = await connection.untilClosed();
    // Before the fix only the 400 went out: the chat answer was lost, though the upstream had served it.
    assert.deepEqual(connection.statuses(), [200, 400], answer.slice(0, 300));
    assert.match(answer, /"object":"chat\.completion"/);
    assert.match(answer, /"code":"malformed_http_request"\}\}$/);
  });

  it('a bad chunk inside a request body is that request’s 400, at once', async () => {
    const connection = new RawConnection(gateway.url);
    connection.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n',
    );
    const answer = await connection.untilClosed();
    assert.deepEqual(connection.statuses(), [400], answer.slice(0, 300));
    assert.match(answer, /"code":"malformed_http_request"/);
  });

  it('Expect: 100-continue over the body limit gets its 413 at once, without inviting the upload', async () => {
    const connection = new RawConnection(gateway.url);
    connection.write(head(LIMIT + 1, 'Expect: 100-continue\r\n'));
    const answer = await connection.untilClosed();
    // Before the fix: 100 Continue, then the 413 once the drain had waited for a body that never came.
    assert.deepEqual(connection.statuses(), [413], answer.slice(0, 300));
    assert.match(answer, /"code":"request_too_large"/);
  });

  it('Expect: 100-continue within the limit is invited and served', async () => {
    const served = /"object":"chat\.completion"[^]*\}$/;
    assert.deepEqual(await invitedExchange(gateway.url, head(chat.length, 'Expect: 100-continue\r\n'), chat, served), [100, 200]);
  });

  it('a Content-Length over the limit is a 413 before the body is sent; the body is read and the connection serves on', async () => {
    const connection = new RawConnection(gateway.url);
    connection.write(head(2 * LIMIT));
    // Before the fix the 413 waited for the body (or 5 s), then closed the connection.
    await connection.until(/"code":"request_too_large"[^]*\}$/);
    connection.write(Buffer.alloc(2 * LIMIT, 'x'));
    connection.write(chatRequest);
    await connection.until(/"object":"chat\.completion"[^]*\}$/);
    assert.deepEqual(connection.statuses(), [413, 200]);
    connection.close();
  });
});

describe('hostile-input findings (issue #18)', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith({ security: { ipFailuresPerMinute: 0 } }), { env: { GATEWAY_MASTER_KEY: MASTER } });
  });
  after(() => gateway?.stop());

  const post = (path: string, body: unknown) =>
    fetch(gateway.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` },
      body: JSON.stringify(body),
    });

  it('1. an embeddings `dimensions` no model has is a 400 naming it, and the process lives', async () => {
    for (const dimensions of [1_000_000_000, 4_294_967_296, 1_000_000, 10_000_000, 2 ** 53]) {
      const res = await post('/v1/embeddings', { model: 'mock-embedding', input: 'hello', dimensions });
      assert.equal(res.status, 400, `dimensions ${dimensions}`);
      const body = await errorJson(res);
      assertOpenAIError(body);
      assert.equal(body.error.param, 'dimensions');
    }
    // Within the edge's range but wider than this model's vectors: refused by the model, not allocated.
    const wide = await post('/v1/embeddings', { model: 'mock-embedding', input: 'hello', dimensions: 8192 });
    assert.equal(wide.status, 400);
    assert.equal((await errorJson(wide)).error.param, 'dimensions');
    assert.equal(gateway.exitCode, null, 'the process is still running');
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
  });

  it('2. a 3 MB embeddings input is refused, and the largest accepted one never holds /health', async () => {
    const huge = await post('/v1/embeddings', { model: 'mock-embedding', input: 'word '.repeat(600_000) });
    assert.equal(huge.status, 400);
    assert.equal((await errorJson(huge)).error.param, 'input');

    // Just under the caps: 9 inputs of 120,000 characters (about 270,000 tokens).
    const body = JSON.stringify({ model: 'mock-embedding', input: Array.from({ length: 9 }, (_, i) => `w${i}x `.repeat(24_000)) });
    let answeredDuring = 0;
    let done = false;
    const embedding = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${gateway.url}/v1/embeddings`,
        { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` } },
        (res) => {
          res.resume();
          res.on('end', () => {
            done = true;
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      // Probe /health from the moment the whole body is on its way, until the answer comes.
      req.on('finish', async () => {
        while (!done) {
          const health = await fetch(`${gateway.url}/health`, { signal: AbortSignal.timeout(60_000) });
          await health.arrayBuffer();
          if (!done && health.status === 200) answeredDuring++;
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      req.end(body);
    });
    assert.equal(await embedding, 200);
    // Before the fix the work ran in one piece on the event loop: /health waited for all of it.
    assert.ok(answeredDuring >= 3, `/health answered ${answeredDuring} times while the embeddings were computed`);
  });

  it('4a. errors Node and Fastify raise before any route are JSON in the caller’s protocol, never echoing input', async () => {
    const badUrl = await fetch(`${gateway.opsUrl}/admin/keys/%ff`, { headers: { authorization: `Bearer ${MASTER}` } });
    const badUrlText = await badUrl.text();
    assert.equal(badUrl.status, 400);
    assertOpenAIError(JSON.parse(badUrlText), 'invalid_url');
    assert.doesNotMatch(badUrlText, /%ff|FST_ERR/);

    const cases: [string, string, number][] = [
      ['Expect: bogus', 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Length: 2\r\n\r\n{}', 417],
      ['no Host', 'GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
      ['two Hosts', 'GET /v1/models HTTP/1.1\r\nHost: x\r\nhost: example.com\r\nConnection: close\r\n\r\n', 400],
      ['long path parameter', `GET /v1/models/${'m'.repeat(500)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414],
      ['long URL', `GET /v1/models?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
      ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
      // RFC 9110 suggests 501; a 5xx would count hostile input as the gateway's failure (fuzz.e2e).
      ['unknown method', 'BREW /v1/models HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ];
    for (const [name, text, status] of cases) {
      for (const url of [gateway.url, gateway.opsUrl]) {
        const answer = parseRaw(await raw(url, text));
        assert.equal(answer.status, status, `${name} on ${url}`);
        assertOpenAIError(answer.body);
        assert.doesNotMatch(answer.text, /mmmmm|qqqqq|example\.com/, `${name}: no echo`);
      }
    }

    const wrongMethod = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    assertOpenAIError(await wrongMethod.json(), 'method_not_allowed');
    // A route's own 404 (an unknown model) stays a 404.
    const unknown = await fetch(`${gateway.url}/v1/models/nope`, { headers: { authorization: `Bearer ${MASTER}` } });
    assert.equal(unknown.status, 404);
  });

  it('4b. /v1/messages errors come in Anthropic’s shape', async () => {
    const res = await fetch(`${gateway.url}/v1/messages/%ff`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(typeof body.error.message, 'string');
  });

  // Found by an independent check: errors Node's parser raises came in OpenAI's shape on
  // /v1/messages; a DELETE with a JSON content type and no body (openai-python sends that header
  // on every call) was refused as invalid JSON.
  it('4d. errors Node raises before any route are Anthropic-shaped on /v1/messages (or with anthropic-version)', async () => {
    const cases: [string, string][] = [
      ['long URL', `POST /v1/messages?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ['big header', `POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`],
      ['two framings', 'POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}'],
      [
        'anthropic-version, bad framing',
        'POST /v1/x HTTP/1.1\r\nHost: x\r\nanthropic-version: 2023-06-01\r\nContent-Length: 2, 3\r\n\r\n{}',
      ],
    ];
    for (const [name, text] of cases) {
      const answer = parseRaw(await raw(gateway.url, text));
      assert.ok(answer.status >= 400 && answer.status < 500, `${name}: ${answer.status}`);
      const body = answer.body as { type?: string; error?: { type?: string; message?: string } } | undefined;
      assert.equal(body?.type, 'error', `${name}: ${answer.text}`);
      assert.equal(typeof body?.error?.type, 'string');
      assert.doesNotMatch(answer.text, /qqqqq|hhhhh/, `${name}: no echo`);
    }
    // The same on an OpenAI route stays OpenAI-shaped.
    assertOpenAIError(parseRaw(await raw(gateway.url, `GET /v1/models?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).body);
  });

  // Found by an independent check: these errors carry no packet (or only the body's last), so their
  // shape fell back to OpenAI's on /v1/messages; Node's 408s for a body too slow take the same path.
  it('4h. a /v1/messages request the client cut short is answered in Anthropic`s shape', async () => {
    const body = JSON.stringify({ model: 'mock-1', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const head = (length: number) =>
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const assertAnthropic = (name: string, answer: ReturnType<typeof parseRaw>) => {
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      const json = answer.body as { type?: string; error?: { type?: string; message?: string } } | undefined;
      assert.equal(json?.type, 'error', `${name}: ${answer.text}`);
      assert.equal(json?.error?.type, 'invalid_request_error');
    };
    // The client ends the connection (half-close) with the body short of its Content-Length, or mid-chunk.
    assertAnthropic('EOF mid-body', parseRaw(await raw(gateway.url, head(body.length + 10) + body)));
    const chunked = head(0).replace('Content-Length: 0', 'Transfer-Encoding: chunked');
    assertAnthropic('EOF mid-chunk', parseRaw(await raw(gateway.url, `${chunked}${body.length.toString(16)}\r\n${body.slice(0, 10)}`)));
  });

  // Found by an independent check: with two, Node used the first; a proxy in front that authorised by the last would disagree.
  it('4i. two Authorization or two x-api-key headers are a 400 in the caller`s shape, as two Hosts are, even when the first key is valid', async () => {
    const body = JSON.stringify({ model: 'mock-1', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    const twice = (name: string) =>
      `${name}: ${name === 'Authorization' ? 'Bearer ' : ''}${MASTER}\r\n${name}: other-key-0123456789abcdef\r\n`;
    for (const [name, code] of [
      ['Authorization', 'duplicate_authorization_header'],
      ['x-api-key', 'duplicate_api_key_header'],
    ]) {
      const models = parseRaw(await raw(gateway.url, `GET /v1/models HTTP/1.1\r\nHost: x\r\n${twice(name)}Connection: close\r\n\r\n`));
      assert.equal(models.status, 400, `${name} on /v1/models: ${models.text}`);
      assertOpenAIError(models.body, code);
      const messages = parseRaw(
        await raw(
          gateway.url,
          `POST /v1/messages HTTP/1.1\r\nHost: x\r\n${twice(name)}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        ),
      );
      assert.equal(messages.status, 400, `${name} on /v1/messages: ${messages.text}`);
      const json = messages.body as { type?: string; error?: { type?: string; message?: string } } | undefined;
      assert.equal(json?.type, 'error', messages.text);
      assert.match(json?.error?.message ?? '', new RegExp(`at most one ${name} header`));
    }
  });

  it('4f. a compressed request body is a 415 saying so, not a JSON error (or, mislabelled, accepted)', async () => {
    for (const coding of ['gzip', 'br', 'deflate']) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json', 'content-encoding': coding },
        body: JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(res.status, 415, coding);
      assertOpenAIError(await res.json(), 'unsupported_content_encoding');
    }
  });

  it('4g. /v1/messages max_tokens has the documented ceiling (1,048,576), refused in Anthropic`s shape', async () => {
    const res = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'mock', max_tokens: 1_048_577, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.match(body.error.message, /max_tokens/);
  });

  it('4e. a DELETE with a JSON content type and an empty body is a DELETE without one', async () => {
    const res = await fetch(`${gateway.url}/v1/responses/resp_${'0'.repeat(48)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
    });
    assert.equal(res.status, 404, 'the route ran (an unknown id), not a 400 for the empty body');
    assertOpenAIError(await res.json());
  });

  // Found by a second re-check: the SDKs and `curl -H 'content-type: application/json'` send that header with no body.
  it('4k. a key rotation (a POST that reads no body) with a JSON content type and an empty body is one without; other POSTs still refuse it', async () => {
    const send = (path: string) =>
      fetch(`${gateway.opsUrl}/admin/keys${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      });
    const rotated = await send('/no-such-key/rotate');
    const error = ((await rotated.json()) as { error: { code: string } }).error;
    // The route ran (keys are stored in Redis, which this gateway has none of), not a 400 for the empty body.
    assert.deepEqual([rotated.status, error.code], [503, 'redis_required']);
    const created = await send('');
    assert.deepEqual([created.status, ((await created.json()) as { error: { code: string } }).error.code], [400, 'invalid_json']);
  });

  it('4c. a 10,000-item stop array is refused for its size, not its type', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'mock',
      messages: [{ role: 'user', content: 'x' }],
      stop: Array(10_000).fill('a'),
    });
    assert.equal(res.status, 400);
    const { error } = await errorJson(res);
    assert.equal(error.param, 'stop');
    assert.match(error.message, /more than 4 items/);
  });

  // Found by an independent check: int64's largest seed went upstream as 9223372036854776000 (outside int64).
  it('a seed beyond what a JSON number holds exactly is refused naming it, not sent changed', async () => {
    const ask = (seed: string) =>
      fetch(gateway.url + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` },
        body: `{"model":"mock","seed":${seed},"messages":[{"role":"user","content":"x"}]}`,
      });
    const res = await ask('9223372036854775807');
    assert.equal(res.status, 400);
    assert.equal((await errorJson(res)).error.param, 'seed');
    assert.equal((await ask(String(Number.MAX_SAFE_INTEGER))).status, 200);
  });

  // Found by an independent check: 2,048 inputs over the token total were all validated (~250 ms of blocked loop) before the 400.
  it('embeddings over the input count or the token total are refused for that before any input is validated', async () => {
    // The last input alone breaks the schema (an empty token-id list; a number in a list of texts): the caps answer first.
    const cases: [unknown[], RegExp][] = [
      [[...Array(3_000).fill([1]), []], /at most 2048 inputs per request, got 3001/],
      [[...Array.from({ length: 2_000 }, () => 'word '.repeat(200)), 'x'.repeat(131_073)], /tokens in total; at most 300000/],
      // Found by the re-check: an item of no input's form (null, an object, a number among texts) skipped the early caps.
      [[...Array(3_000).fill('a'), null], /at most 2048 inputs per request, got 3001/],
      [[...Array.from({ length: 2_000 }, () => 'word '.repeat(200)), {}], /tokens in total; at most 300000/],
      [[7, ...Array(3_000).fill('a')], /at most 2048 inputs per request, got 3001/],
    ];
    for (const [input, message] of cases) {
      const res = await post('/v1/embeddings', { model: 'mock-embedding', input });
      assert.equal(res.status, 400);
      const json = await errorJson(res);
      assertOpenAIError(json);
      assert.deepEqual([json.error.param, json.error.code], ['input', 'invalid_value']);
      assert.match(json.error.message, message);
    }
  });

  it('every numeric parameter has a range and every list a cap, refused with the parameter named', async () => {
    const chat = { model: 'mock', messages: [{ role: 'user', content: 'x' }] };
    const refused: [string, Record<string, unknown>, string][] = [
      ['/v1/chat/completions', { ...chat, max_tokens: 1e12 }, 'max_tokens'],
      ['/v1/chat/completions', { ...chat, max_completion_tokens: 2 ** 40 }, 'max_completion_tokens'],
      ['/v1/chat/completions', { ...chat, n: 129 }, 'n'],
      ['/v1/chat/completions', { ...chat, top_logprobs: 21 }, 'top_logprobs'],
      [
        '/v1/chat/completions',
        { ...chat, logit_bias: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [String(i), 1])) },
        'logit_bias',
      ],
      ['/v1/chat/completions', { ...chat, logit_bias: { 50256: 101 } }, 'logit_bias[50256]'],
      ['/v1/chat/completions', { ...chat, seed: 1e20 }, 'seed'],
      // Past 2^53 a JSON number is already rounded when parsed: it could only go upstream changed.
      ['/v1/chat/completions', { ...chat, seed: 2 ** 53 }, 'seed'],
      ['/v1/chat/completions', { ...chat, seed: -(2 ** 53) }, 'seed'],
      ['/v1/embeddings', { model: 'mock-embedding', input: Array(3_000).fill('a') }, 'input'],
      ['/v1/embeddings', { model: 'mock-embedding', input: Array.from({ length: 2_000 }, () => 'word '.repeat(200)) }, 'input'],
      ['/v1/embeddings', { model: 'mock-embedding', input: Array(40_000).fill(1) }, 'input'],
      ['/v1/embeddings', { model: 'mock-embedding', input: ['a', 1] }, 'input'],
      ['/v1/embeddings', { model: 'mock-embedding', input: [-1] }, 'input[0]'],
    ];
    for (const [path, body, param] of refused) {
      const res = await post(path, body);
      assert.equal(res.status, 400, `${param}: ${res.status}`);
      const json = await errorJson(res);
      assertOpenAIError(json);
      assert.equal(json.error.param, param);
    }
  });
});

// Found by an independent check: with auth on, `Expect: 100-continue` without a valid key got
// `100 Continue` before its 401, inviting a body the gateway was about to refuse.
// Found by a resource-bounds check: a malformed or too-slow request's answer only half-closed the socket (end()), so a
// client that never reads nor closes kept it, and the gateway's file descriptor, for good: 300 such clients held 300
// descriptors past 2 minutes, on the way to the open-files limit.
describe('a refused connection whose client never reads is closed, not half-open', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith());
  });
  after(() => gateway?.stop());

  const descriptors = () => readdirSync(`/proc/${gateway.pid}/fd`).length;

  it('40 malformed requests from clients that never read leave no descriptor behind', async () => {
    const base = descriptors();
    const port = Number(new URL(gateway.url).port);
    const sockets = Array.from({ length: 40 }, () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.pause();
      socket.write('NOT-HTTP garbage\r\n\r\n');
      return socket;
    });
    try {
      const refused = async () => (await gateway.logged('request', { where: (l) => l.error === 'malformed_http_request' })).length;
      assert.ok(await eventually(async () => (await refused()) >= 40), 'each was answered its 400');
      assert.ok(await eventually(async () => descriptors() <= base + 2), `descriptors: ${descriptors()} against ${base} before`);
      assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('Expect: 100-continue with auth on', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith({ security: { ipFailuresPerMinute: 0 } }), { env: { GATEWAY_MASTER_KEY: MASTER } });
  });
  after(() => gateway?.stop());

  const chat = '{"model":"mock-1","messages":[{"role":"user","content":"hi"}]}';
  const head = (auth: string) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${auth}Expect: 100-continue\r\nContent-Length: ${chat.length}\r\n\r\n`;

  for (const [name, auth, code] of [
    ['no key', '', 'missing_api_key'],
    ['a wrong key', 'Authorization: Bearer not-a-key-0123456789\r\n', 'invalid_api_key'],
    ['a wrong x-api-key', 'x-api-key: not-a-key-0123456789\r\n', 'invalid_api_key'],
  ]) {
    it(`${name}: the 401, without inviting the body`, async () => {
      const connection = new RawConnection(gateway.url);
      connection.write(head(auth));
      const answer = await connection.until(/"code":"[a-z_]+"\}\}$/);
      assert.deepEqual(connection.statuses(), [401], answer.slice(0, 300));
      assert.match(answer, new RegExp(`"code":"${code}"`));
      connection.close();
    });
  }

  // Found by an independent re-check: these two were invited before their refusal.
  for (const [name, request, status, code] of [
    [
      'a valid key with a body that is not JSON: the 415',
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nAuthorization: Bearer ${MASTER}\r\nExpect: 100-continue\r\nContent-Length: ${chat.length}\r\n\r\n`,
      415,
      'unsupported_media_type',
    ],
    [
      'an unknown route: the 404',
      `POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${chat.length}\r\n\r\n`,
      404,
      'not_found',
    ],
  ] as const) {
    it(`${name}, without inviting the body`, async () => {
      const connection = new RawConnection(gateway.url);
      connection.write(request);
      const answer = await connection.until(/"code":"[a-z_]+"\}\}$/);
      assert.deepEqual(connection.statuses(), [status], answer.slice(0, 300));
      assert.match(answer, new RegExp(`"code":"${code}"`));
      connection.close();
    });
  }

  it('a valid key: invited, then served', async () => {
    const served = /"object":"chat\.completion"[^]*\}$/;
    assert.deepEqual(await invitedExchange(gateway.url, head(`Authorization: Bearer ${MASTER}\r\n`), chat, served), [100, 200]);
  });
});

// On a Redis Cluster the client fails commands with messages of its own ("Cluster isn't ready ...")
// while no node answers: a gateway started while its seed node was down answered the admin API 500.
for (const cluster of [false, true])
  describe(`found by the fuzz: the admin API with Redis not answering${cluster ? ' (REDIS_CLUSTER=true)' : ''}`, () => {
    let gateway: GatewayProcess;
    before(async () => {
      // Nothing listens on port 1: every Redis command fails at once, as while Redis is down or slow.
      const env = { GATEWAY_MASTER_KEY: MASTER, REDIS_URL: 'redis://127.0.0.1:1', ...(cluster && { REDIS_CLUSTER: 'true' }) };
      gateway = await GatewayProcess.start(configWith(), { env });
    });
    after(() => gateway?.stop());

    it('answers a retryable 503 redis_unavailable, not a bare 500', async () => {
      for (const [method, path] of [
        ['GET', '/admin/keys'],
        ['DELETE', '/admin/keys/some-id'],
        ['GET', '/admin/keys/some-id/usage'],
      ]) {
        const res = await fetch(gateway.opsUrl + path, { method, headers: { authorization: `Bearer ${MASTER}` } });
        assert.equal(res.status, 503, `${method} ${path}`);
        assert.equal(res.headers.get('retry-after'), '1');
        assertOpenAIError(await res.json(), 'redis_unavailable');
      }
    });
  });
