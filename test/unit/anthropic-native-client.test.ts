import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProviderConfig } from '../../libs/config/src/gateway-config';
import { anthropicClient } from '../../libs/providers/src/anthropic/client';
import { fromAnthropicError } from '../../libs/providers/src/anthropic/errors';
import { NativeMessages } from '../../libs/providers/src/anthropic/native-client';
import type { GatewayError } from '../../libs/providers/src/gateway-error';
import { PooledFetch } from '../../libs/providers/src/translation/transport';

/** Failed answers as Anthropic and the proxies in front of it send them: status, headers, body. */
const FAILURES: [number, Record<string, string>, string][] = [
  [400, {}, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } })],
  [401, {}, JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } })],
  [403, {}, JSON.stringify({ type: 'error', error: { type: 'permission_error', message: 'no access' } })],
  [404, {}, JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'model: claude-x' } })],
  [413, {}, JSON.stringify({ type: 'error', error: { type: 'request_too_large', message: 'too large' } })],
  [429, { 'retry-after': '13' }, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } })],
  [429, { 'retry-after-ms': '2500' }, JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } })],
  [500, {}, JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'internal' } })],
  [502, { 'content-type': 'text/html' }, '<html><body>Bad gateway</body></html>'],
  [503, { 'retry-after': '4' }, ''],
  [529, {}, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })],
  [418, {}, JSON.stringify({ error: { message: 'an undocumented status' } })],
];

let server: Server;
let baseUrl = '';
/** What the server received, for the header comparison. */
const received: Record<string, string | string[] | undefined>[] = [];

before(async () => {
  server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => {
      const [status, headers, body] = FAILURES[Number(req.headers['x-case'])];
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => server.close());

/** The parts of a GatewayError a client and the router see. */
const seen = ({ status, type, code, param, message, headers, retryable, upstreamStatus }: GatewayError) => ({
  status,
  type,
  code,
  param,
  message,
  headers,
  retryable,
  upstreamStatus,
});

describe('NativeMessages: a Messages API body sent without the SDK per request', () => {
  const config = Object.assign(new ProviderConfig(), { name: 'ant', type: 'anthropic', baseUrl, headers: { 'x-team': 'gw' } });
  const signal = new AbortController().signal;

  it('a failed answer maps to the same client error as the SDK`s own call, for every status and body', async () => {
    config.baseUrl = baseUrl;
    const transport = new PooledFetch(config);
    const sdk = anthropicClient(config, 'sk-ant-test', transport.fetch);
    const native = new NativeMessages(config.name, sdk, transport.dispatcher, config.timeoutMs, config.maxResponseBytes);
    const body = { model: 'claude-x', max_tokens: 10, messages: [{ role: 'user' as const, content: 'hi' }] };
    try {
      for (const [i, [status]] of FAILURES.entries()) {
        const headers = { 'x-case': String(i) };
        const bySdk = await sdk.messages.create(body, { headers }).then(
          () => assert.fail('the SDK call succeeded'),
          (err: unknown) => seen(fromAnthropicError('ant', err, signal)),
        );
        const byNative = await native.message(body, headers, { signal }).then(
          () => assert.fail('the native call succeeded'),
          (err: unknown) => seen(fromAnthropicError('ant', err, signal)),
        );
        assert.deepEqual(byNative, bySdk, `HTTP ${status}`);
        // The two requests carried the same headers, but for the body's length.
        const [sdkHeaders, nativeHeaders] = received.slice(-2).map(({ 'content-length': _length, ...rest }) => rest);
        assert.deepEqual(nativeHeaders, sdkHeaders, `HTTP ${status}: headers`);
      }
    } finally {
      await transport.close();
    }
  });
});
