import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { assertUsageFields } from '../support/chat';
import { configWith, GatewayProcess } from '../support/gateway';

describe('API surface with the offline mock model', () => {
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        server: { bodyLimitBytes: 64 * 1024 },
        providers: [
          { name: 'flaky', type: 'mock', mock: { failRate: 1, failStatus: 503 } },
          { name: 'cutter', type: 'mock', mock: { cutAfterChunks: 3 } },
          { name: 'needs-key', type: 'openai', apiKeyEnv: 'SURELY_UNSET_KEY_FOR_TEST' },
        ],
        models: [
          { name: 'mock-flaky', deployments: [{ provider: 'flaky', model: 'm' }] },
          {
            name: 'mock-then-ok',
            deployments: [
              { provider: 'flaky', model: 'm' },
              { provider: 'mock', model: 'backup' },
            ],
          },
          { name: 'mock-cut', deployments: [{ provider: 'cutter', model: 'm' }] },
          { name: 'keyless', deployments: [{ provider: 'needs-key', model: 'gpt-4o' }] },
        ],
        virtualModels: [{ name: 'auto-keyless', default: 'keyless', rules: [{ name: 'r', match: { task: 'x' }, model: 'keyless' }] }],
      }),
    );
    client = gateway.client();
  });
  after(() => gateway?.stop());

  it('answers deterministically from the prompt and labels itself as mock', async () => {
    const a = await client.chat.completions.create({
      model: 'mock',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    const b = await client.chat.completions.create({
      model: 'mock-1',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
    });
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.match(a.choices[0].message.content ?? '', /^\[mock\].*What is the capital of France\?/);
    assert.equal(a.system_fingerprint, 'fp_gateway_mock');
    assert.ok(a.usage!.prompt_tokens > 0 && a.usage!.completion_tokens > 0);
    assert.equal(a.usage!.total_tokens, a.usage!.prompt_tokens + a.usage!.completion_tokens);
  });

  it('honours max_tokens, stop and n', async () => {
    const cut = await client.chat.completions.create({
      model: 'mock',
      max_tokens: 3,
      n: 2,
      messages: [{ role: 'user', content: 'tell me a long story' }],
    });
    assert.equal(cut.choices.length, 2);
    assert.equal(cut.choices[1].index, 1);
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(cut.choices[0].message.content, '[mock] This is ');
    const stopped = await client.chat.completions.create({ model: 'mock', stop: ['offline'], messages: [{ role: 'user', content: 'x' }] });
    assert.equal(stopped.choices[0].message.content, "[mock] This is the gateway's ");
  });

  it('streams with a role delta first, a finish chunk, usage and [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hello stream' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(
      chunks.every((c) => c.id === chunks[0].id),
      'one id across the stream',
    );
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    const whole = await client.chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'hello stream' }] });
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(chunks[chunks.length - 2].choices[0].finish_reason, 'stop');
    assert.deepEqual(chunks[chunks.length - 1].choices, []);
    assert.deepEqual(chunks[chunks.length - 1].usage, whole.usage);
    assertUsageFields(chunks, true);
    const unasked = await client.chat.completions.create({
      model: 'mock',
      stream: true,
      messages: [{ role: 'user', content: 'hello stream' }],
    });
    const plain: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of unasked) plain.push(chunk);
    assertUsageFields(plain, false);
  });

  it('calls a tool, then answers from the tool result', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'lookup',
          parameters: {
            type: 'object',
            properties: { query: { type: 'string' }, limit: { type: 'integer' } },
            required: ['query', 'limit'],
          },
        },
      },
    ];
    const first = await client.chat.completions.create({ model: 'mock', tools, messages: [{ role: 'user', content: 'find cats' }] });
    const call = first.choices[0].message.tool_calls![0];
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    assert.ok(call.type === 'function');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'find cats', limit: 1 });
    const second = await client.chat.completions.create({
      model: 'mock',
      tools,
      messages: [
        { role: 'user', content: 'find cats' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call.id, content: '3 cats' },
      ],
    });
    assert.match(second.choices[0].message.content ?? '', /The tool returned: 3 cats/);
  });

  it('returns JSON in JSON mode', async () => {
    const res = await client.chat.completions.create({
      model: 'mock',
      response_format: { type: 'json_object' },
      messages: [{ role: 'user', content: 'json please' }],
    });
    assert.deepEqual(JSON.parse(res.choices[0].message.content!), { mock: true, echo: 'json please' });
  });

  it('embeds deterministically in float and base64, with dimensions', async () => {
    const floats = await client.embeddings.create({
      model: 'mock-embedding',
      input: ['the cat sat', 'the cat sat', 'stock prices fell'],
      encoding_format: 'float',
    });
    assert.deepEqual(floats.data[0].embedding, floats.data[1].embedding);
    assert.equal(floats.data[0].embedding.length, 256);
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
    assert.ok(Math.abs(dot(floats.data[0].embedding, floats.data[0].embedding) - 1) < 1e-5, 'unit length');
    assert.ok(dot(floats.data[0].embedding, floats.data[2].embedding) < 0.5);
    const decoded = await client.embeddings.create({ model: 'mock-embedding', input: 'the cat sat' });
    assert.deepEqual(
      decoded.data[0].embedding.map((x) => Math.fround(x)),
      floats.data[0].embedding.map((x) => Math.fround(x)),
    );
    const small = await client.embeddings.create({ model: 'mock-embedding', input: 'x', dimensions: 16, encoding_format: 'float' });
    assert.equal(small.data[0].embedding.length, 16);
  });

  it('lists models that can serve, and reads one by name or alias', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(ids.includes('mock-1') && ids.includes('mock-flaky'));
    assert.ok(!ids.includes('keyless'), 'a model whose provider has no key is not listed');
    const one = await client.models.retrieve('mock');
    assert.equal(one.id, 'mock');
    assert.equal(one.object, 'model');
  });

  // Found by an independent check: a virtual model routing only to unservable models was listed, and
  // retrieved with a 200, while every request to it was a 404.
  it('a virtual model none of whose models can serve is neither listed nor retrievable, as its requests are 404', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert.ok(!ids.includes('auto-keyless'), ids.join(', '));
    const retrieved = await client.models.retrieve('auto-keyless').catch((e: unknown) => e);
    assert.ok(retrieved instanceof OpenAI.NotFoundError);
    assert.equal(retrieved.code, 'model_not_found');
    assert.match(retrieved.message, /`auto-keyless` is configured but none of the models it routes to can serve \(keyless\)/);
    const chat = await client.chat.completions
      .create({ model: 'auto-keyless', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(chat instanceof OpenAI.NotFoundError);
    assert.equal(chat.code, 'model_not_found');
  });

  it('falls back to the next deployment when the first fails', async () => {
    const res = await client.chat.completions.create({ model: 'mock-then-ok', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    assert.equal(res.response.headers.get('x-gateway-upstream-model'), 'backup');
    // Two attempts on the failing deployment (one retry), then the backup.
    assert.equal(res.response.headers.get('x-gateway-attempts'), '3');
    assert.equal(res.response.headers.get('x-gateway-fallbacks'), 'mock-then-ok/0=upstream_overloaded, mock-then-ok/0=upstream_overloaded');
  });

  it('an injected mid-stream cut ends the stream with an error event', async () => {
    const stream = await client.chat.completions.create({
      model: 'mock-cut',
      stream: true,
      messages: [{ role: 'user', content: 'a b c d e f' }],
    });
    let contentChunks = 0;
    const err = await (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) contentChunks++;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(contentChunks, 3);
    assert.ok(err instanceof OpenAI.APIError);
    assert.match(err.message, /cut the stream/);
  });

  describe('bad input gets an OpenAI-shaped error', () => {
    const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/v1/chat/completions') =>
      fetch(gateway.url + path, { method: 'POST', headers, body });
    const cases: [string, string, Record<string, string> | undefined, number, string | null, string | null][] = [
      ['malformed JSON', '{"model":', undefined, 400, 'invalid_json', null],
      ['an empty body', '', undefined, 400, 'invalid_json', null],
      ['a JSON array', '[]', undefined, 400, 'invalid_value', null],
      ['a missing model', '{"messages":[{"role":"user","content":"x"}]}', undefined, 400, 'missing_required_parameter', 'model'],
      ['empty messages', '{"model":"mock","messages":[]}', undefined, 400, 'invalid_value', 'messages'],
      ['a bad role', '{"model":"mock","messages":[{"role":"robot","content":"x"}]}', undefined, 400, 'invalid_value', 'messages[0].role'],
      [
        'a string temperature',
        '{"model":"mock","messages":[{"role":"user","content":"x"}],"temperature":"hot"}',
        undefined,
        400,
        'invalid_value',
        'temperature',
      ],
      [
        'temperature out of range',
        '{"model":"mock","messages":[{"role":"user","content":"x"}],"temperature":3}',
        undefined,
        400,
        'invalid_value',
        'temperature',
      ],
      [
        'a tool message without tool_call_id',
        '{"model":"mock","messages":[{"role":"tool","content":"x"}]}',
        undefined,
        400,
        'missing_required_parameter',
        'messages[0].tool_call_id',
      ],
      [
        'prototype poisoning',
        '{"model":"mock","__proto__":{"x":1},"messages":[{"role":"user","content":"x"}]}',
        undefined,
        400,
        'forbidden_key',
        '__proto__',
      ],
      ['an unknown model', '{"model":"gpt-99","messages":[{"role":"user","content":"x"}]}', undefined, 404, 'model_not_found', 'model'],
      [
        'a model without an enabled provider',
        '{"model":"keyless","messages":[{"role":"user","content":"x"}]}',
        undefined,
        404,
        'model_not_found',
        'model',
      ],
      ['a text/plain body', 'hello', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type', null],
      ['a form body', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type', null],
    ];
    for (const [name, body, headers, status, code, param] of cases) {
      it(`${name} -> ${status}`, async () => {
        const res = await post(body, headers);
        assert.equal(res.status, status);
        const json = (await res.json()) as { error: Record<string, unknown> };
        assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
        assert.equal(json.error.code, code);
        assert.equal(json.error.param, param);
        assert.equal(typeof json.error.message, 'string');
      });
    }

    it('says which provider key is missing for a keyless model', async () => {
      const res = await post('{"model":"keyless","messages":[{"role":"user","content":"x"}]}');
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /SURELY_UNSET_KEY_FOR_TEST/);
    });

    // Found by an independent check: a request that failed after several attempts said nothing of them.
    it('an injected upstream 503 -> 503 upstream_overloaded with the OpenAI error shape, saying how the run went', async () => {
      for (const stream of [false, true]) {
        const err = await client.chat.completions
          .create({ model: 'mock-flaky', stream, messages: [{ role: 'user', content: 'x' }] })
          .catch((e: unknown) => e);
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.status, 503);
        assert.equal(err.code, 'upstream_overloaded');
        assert.equal(err.headers?.get('x-gateway-model-group'), 'mock-flaky');
        assert.equal(err.headers?.get('x-gateway-attempts'), '2');
        assert.equal(err.headers?.get('x-gateway-fallbacks'), 'mock-flaky/0=upstream_overloaded, mock-flaky/0=upstream_overloaded');
      }
    });

    it('an unknown route -> 404 JSON', async () => {
      const res = await fetch(`${gateway.url}/v1/nothing-here`);
      assert.equal(res.status, 404);
      // OpenAI's type on OpenAI's paths (Anthropic's not_found_error is for /v1/messages).
      assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    });

    it('an over-limit body -> 413, read and answered rather than reset', async () => {
      const big = JSON.stringify({ model: 'mock', messages: [{ role: 'user', content: 'x'.repeat(200 * 1024) }] });
      const res = await post(big);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'request_too_large');
    });

    it('an over-limit chunked body (no Content-Length) -> 413', async () => {
      const answer = await rawRequest(
        gateway.url,
        ['POST /v1/chat/completions HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked', '', ''].join(
          '\r\n',
        ),
        300 * 1024,
      );
      assert.match(answer, /^HTTP\/1\.1 413/);
      assert.match(answer, /request_too_large/);
    });

    it('the gateway still serves after all that', async () => {
      const res = await client.chat.completions.create({ model: 'mock', messages: [{ role: 'user', content: 'still alive?' }] });
      assert.match(res.choices[0].message.content ?? '', /still alive/);
    });
  });
});

/** Sends a chunked body of `bytes` in 16 KiB chunks and returns whatever the server answered. */
function rawRequest(url: string, head: string, bytes: number): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', (err) => (answer ? resolve(answer) : reject(err)));
    socket.write(head);
    const chunk = 'a'.repeat(16 * 1024);
    for (let sent = 0; sent < bytes; sent += chunk.length) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    socket.write('0\r\n\r\n');
    setTimeout(() => socket.end(), 2_000);
  });
}
