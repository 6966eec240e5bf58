import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'fuzz-master-key-0123456789';
const VALID = { model: 'mock', messages: [{ role: 'user', content: 'hello' }] };

/** Seeded PRNG (mulberry32) so a failing case can be reproduced. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values each field must refuse, by the OpenAI schema. */
const WRONG: Record<string, unknown[]> = {
  model: [null, 42, true, [], {}, ''],
  messages: [
    null,
    'hi',
    42,
    {},
    [],
    [null],
    ['text'],
    [{}],
    [{ role: 'robot', content: 'x' }],
    [{ role: 7 }],
    [{ role: 'user', content: 42 }],
    [{ role: 'tool', content: 'x' }],
  ],
  temperature: ['hot', -1, 2.5, [], {}, true],
  top_p: ['1', 1.5, -0.1, {}],
  n: [0, -3, 1.5, 'two', 1000],
  max_tokens: [0, -1, 'many', 1.5, {}],
  stream: ['yes', 1, {}, []],
  stop: [42, { a: 1 }, ['a', 'b', 'c', 'd', 'e'], [1, 2]],
  tools: ['all', 42, {}, [42], [{}], [{ type: 'function', function: {} }], [{ type: 'function', function: { name: 'has spaces!' } }]],
  tool_choice: [42, 'sometimes', [], {}],
  response_format: ['json', 42, {}, { type: 'yaml' }],
  presence_penalty: [3, -3, 'x'],
  seed: ['x', 1.5],
  stream_options: ['x', 42, { include_usage: 'yes' }],
};

type Case = { name: string; body: string | Buffer; headers?: Record<string, string>; path?: string; method?: string };

function generateCases(count: number): Case[] {
  const random = prng(20261126);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const valid = JSON.stringify(VALID);
  const generators: (() => Case)[] = [
    () => ({ name: 'truncated JSON', body: valid.slice(0, 1 + Math.floor(random() * (valid.length - 2))) }),
    () => ({
      name: 'random bytes',
      body: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))),
    }),
    () => ({
      name: 'invalid UTF-8 in a key',
      body: Buffer.concat([
        Buffer.from('{"mo'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from(`del":"mock","messages":${JSON.stringify(VALID.messages)}}`),
      ]),
    }),
    () => ({
      name: 'JSON with comments / trailing comma',
      body: pick(['{"model":"mock",}', '{/*x*/"model":"mock"}', '{"model":NaN}', "{'model':'mock'}"]),
    }),
    () => {
      const field = pick(Object.keys(WRONG));
      return { name: `wrong ${field}`, body: JSON.stringify({ ...VALID, [field]: pick(WRONG[field]) }) };
    },
    () => {
      const depth = 65 + Math.floor(random() * 5000);
      return {
        name: `nesting ${depth}`,
        body: `{"model":"mock","messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      };
    },
    () => ({
      name: 'over the body limit',
      body: JSON.stringify({ ...VALID, messages: [{ role: 'user', content: 'x'.repeat(300_000 + Math.floor(random() * 1000)) }] }),
    }),
    () => ({
      name: 'too many messages',
      body: JSON.stringify({ model: 'mock', messages: Array.from({ length: 10_001 }, () => ({ role: 'user' })) }),
    }),
    () => ({
      name: 'prototype pollution',
      body: pick(['{"__proto__":{"admin":true},"model":"mock","messages":[]}', '{"constructor":{"prototype":{"x":1}},"model":"mock"}']),
    }),
    () => ({
      name: 'wrong content type',
      body: valid,
      headers: {
        'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']),
      },
    }),
    () => ({
      name: 'bad Authorization',
      body: valid,
      headers: {
        'content-type': 'application/json',
        authorization: pick([
          'Bearer ',
          'Bearer x',
          `Bearer ${'a'.repeat(5000)}`,
          'Basic Zm9vOmJhcg==',
          'bearer lowercase',
          'Bearer \u00e9\u00e8',
        ]),
      },
    }),
    () => ({ name: 'unknown model', body: JSON.stringify({ ...VALID, model: `gpt-${Math.floor(random() * 1e6)}` }) }),
    () => ({
      name: 'unknown route',
      body: valid,
      path: pick(['/v1/chat', '/v2/chat/completions', '/v1/chat/completions/../../etc/passwd', '/v1/%00', '/admin']),
    }),
    () => ({ name: 'wrong method', body: '', method: pick(['PUT', 'DELETE', 'PATCH']), headers: {} }),
    () => ({
      name: 'embeddings with bad input',
      path: '/v1/embeddings',
      body: JSON.stringify({ model: 'mock-embedding', input: pick([null, 42, [], [null], {}, [[1.5]]]) }),
    }),
  ];
  return Array.from({ length: count }, (_, i) => {
    const c = generators[i % generators.length]();
    return { ...c, name: `#${i} ${c.name}` };
  });
}

/** Raw HTTP that fetch refuses to send: oversized headers, broken request lines, lying lengths. */
const RAW: [string, string][] = [
  ['oversized header', `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ['broken request line', 'GARBAGE\r\n\r\n'],
  ['bad header syntax', 'POST /v1/chat/completions HTTP/1.1\r\nHost x\r\n\r\n'],
  [
    'content-length lies (short)',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"model":"mock"}',
  ],
  ['two content-lengths', 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}'],
  [
    'invalid chunk size',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
  ],
];

function raw(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    socket.setTimeout(3_000, () => socket.destroy());
    socket.end(request);
  });
}

describe('hostile input: 1,000+ generated malformed requests', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(configWith({ server: { bodyLimitBytes: 256 * 1024 }, security: { ipFailuresPerMinute: 0 } }), {
      env: { GATEWAY_MASTER_KEY: MASTER },
    });
  });
  after(() => gateway?.stop());

  it('answers every one with a 4xx OpenAI-shaped JSON error, never a 5xx, and keeps serving', async () => {
    const cases = generateCases(1_050);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          const res = await fetch(gateway.url + (c.path ?? '/v1/chat/completions'), {
            method: c.method ?? 'POST',
            headers: c.headers ?? { 'content-type': 'application/json', authorization: `Bearer ${MASTER}` },
            body: c.method && c.method !== 'POST' && !c.body ? undefined : c.body,
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const text = await res.text();
          let error: Record<string, unknown> | undefined;
          try {
            error = JSON.parse(text).error;
          } catch {
            // reported below
          }
          if (res.status < 400 || res.status >= 500) failures.push(`${c.name}: status ${res.status}`);
          else if (
            !error ||
            typeof error.message !== 'string' ||
            typeof error.type !== 'string' ||
            !('param' in error) ||
            !('code' in error)
          ) {
            failures.push(`${c.name}: not an OpenAI error body: ${text.slice(0, 120)}`);
          }
        } catch (err) {
          failures.push(`${c.name}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    for (const [name, request] of RAW) {
      const answer = await raw(gateway.url, request);
      const status = Number(answer.slice(9, 12));
      if (!(status >= 400 && status < 500)) failures.push(`raw ${name}: ${answer.slice(0, 60) || 'no answer'}`);
      else if (!/"error":\{"message"/.test(answer)) failures.push(`raw ${name}: not JSON: ${answer.slice(0, 80)}`);
    }
    assert.deepEqual(failures, [], `${failures.length} bad answers; statuses ${JSON.stringify([...statuses])}`);
    assert.ok(cases.length + RAW.length >= 1_000);

    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    const good = await gateway.client({ apiKey: MASTER }).chat.completions.create(VALID as never);
    assert.match((good as { choices: { message: { content: string } }[] }).choices[0].message.content, /hello/);
    assert.equal(gateway.exitCode, null, 'the process is still running');
    assert.ok(!gateway.rawOutput.some((l) => /unhandled|uncaught|FATAL/i.test(l)), 'no crash or unhandled rejection logged');
  });
});
