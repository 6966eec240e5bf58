import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { APIError as AnthropicError } from '@anthropic-ai/sdk';
import { ApiError as GeminiError } from '@google/genai';
import type { Dispatcher } from 'undici';
import { fromAnthropicError } from '../../libs/providers/src/anthropic/errors';
import { fromGeminiError } from '../../libs/providers/src/gemini/errors';
import { fromTransportError, fromUpstreamResponse, retryAfterSeconds } from '../../libs/providers/src/openai/errors';
import { usageOf as usageFromBody } from '../../libs/providers/src/openai/response';
import type { GatewayError } from '../../libs/providers/src/gateway-error';

function response(statusCode: number, body: string, headers: Record<string, string> = {}): Dispatcher.ResponseData {
  return { statusCode, headers, body: Readable.from([Buffer.from(body)]) } as unknown as Dispatcher.ResponseData;
}

const openaiError = (message: string, code: string | null = null, param: string | null = null) =>
  JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } });

describe('upstream error mapping (OpenAI format)', () => {
  const table: [number, number, string, string | null, boolean][] = [
    // upstream, client status, type, code, retryable
    [400, 400, 'invalid_request_error', null, false],
    [401, 502, 'upstream_error', 'upstream_auth_failed', false],
    [403, 502, 'upstream_error', 'upstream_permission_denied', false],
    [404, 502, 'upstream_error', 'upstream_not_found', false],
    [408, 504, 'timeout_error', 'upstream_timeout', true],
    [409, 502, 'upstream_error', 'upstream_conflict', true],
    [422, 422, 'invalid_request_error', null, false],
    [429, 429, 'rate_limit_error', 'rate_limit_exceeded', true],
    [500, 502, 'upstream_error', 'upstream_error', true],
    [503, 503, 'upstream_error', 'upstream_overloaded', true],
    [529, 503, 'upstream_error', 'upstream_overloaded', true],
    [418, 502, 'upstream_error', 'upstream_error', false],
    // A proxy's 2xx or 3xx (doubtful point G of an independent check): no answer, not the deployment's own trouble.
    [201, 502, 'upstream_error', 'upstream_invalid_response', true],
    [204, 502, 'upstream_error', 'upstream_invalid_response', true],
    [301, 502, 'upstream_error', 'upstream_invalid_response', true],
    [307, 502, 'upstream_error', 'upstream_invalid_response', true],
  ];
  for (const [upstream, status, type, code, retryable] of table) {
    it(`${upstream} -> ${status} ${type}`, async () => {
      const err = await fromUpstreamResponse('p', response(upstream, openaiError('vendor says no')));
      assert.equal(err.status, status);
      assert.equal(err.type, type);
      assert.equal(err.code, code);
      assert.equal(err.retryable, retryable);
      assert.match(err.message, /vendor says no/);
    });
  }

  // Found by an independent check (utf34 D3): a text body cut through an emoji left half of it, which strict UTF-8
  // readers (Python's json then print) fail on.
  it('a text error body is cut at 500 UTF-16 units, never between the halves of an emoji', async () => {
    const err = await fromUpstreamResponse('p', response(400, 'x'.repeat(499) + '😀'.repeat(10), { 'content-type': 'text/plain' }));
    assert.ok(err.message.endsWith('x'.repeat(20)), err.message.slice(-40));
    assert.equal(Buffer.from(err.message).toString(), err.message, 'no lone surrogate');
  });

  it('a 429 insufficient_quota is the provider account out of credit: a final 502 without Retry-After, not a rate limit', async () => {
    const body = JSON.stringify({
      error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' },
    });
    const err = await fromUpstreamResponse('p', response(429, body, { 'retry-after': '20' }));
    assert.deepEqual(
      [err.status, err.type, err.code, err.retryable, err.upstreamStatus],
      [502, 'upstream_error', 'upstream_quota_exceeded', false, 402],
    );
    assert.deepEqual(err.headers, {});
    assert.match(err.message, /^Provider p has no quota left for the gateway's account; .*You exceeded your current quota/);
  });

  it('keeps the vendor code and param of a client error', async () => {
    const err = await fromUpstreamResponse('p', response(400, openaiError('bad temp', 'invalid_value', 'temperature')));
    assert.equal(err.code, 'invalid_value');
    assert.equal(err.param, 'temperature');
  });

  it('sets Retry-After on a 429, defaulting to 1 s', async () => {
    assert.equal((await fromUpstreamResponse('p', response(429, '{}', { 'retry-after': '12' }))).headers['retry-after'], '12');
    assert.equal((await fromUpstreamResponse('p', response(429, '{}', { 'retry-after-ms': '1500' }))).headers['retry-after'], '2');
    assert.equal((await fromUpstreamResponse('p', response(429, '{}'))).headers['retry-after'], '1');
  });

  it('survives a non-JSON error body', async () => {
    const err = await fromUpstreamResponse('p', response(502, '<html>oops</html>'));
    assert.equal(err.status, 502);
    assert.match(err.message, /<html>oops/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    assert.equal(retryAfterSeconds({ 'retry-after': '3' }), 3);
    assert.equal(retryAfterSeconds({ 'retry-after': new Date(Date.now() + 5_000).toUTCString() })! >= 4, true);
    assert.equal(retryAfterSeconds({ 'retry-after': 'soon' }), undefined);
    assert.equal(retryAfterSeconds({}), undefined);
  });

  it('maps transport failures: timeouts 504, connection errors 502, aborts by reason', () => {
    const live = new AbortController().signal;
    assert.equal(fromTransportError('p', Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), live).status, 504);
    assert.equal(fromTransportError('p', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), live).status, 502);
    const ac = new AbortController();
    ac.abort();
    assert.equal(fromTransportError('p', new Error('aborted'), ac.signal).status, 499);
  });
});

// Found by an independent check (defect 5): what Gemini's SDK threw reading a 200 of `null` or a 3xx, and a
// TypeError reading an Anthropic stream's events, were "the SDK refused the request": the gateway's 500, no fallback.
describe('an SDK failing once the upstream answered is the upstream`s invalid answer, not its refusal', () => {
  const signal = new AbortController().signal;
  for (const [vendor, map] of [
    ['Anthropic', fromAnthropicError],
    ['Gemini', fromGeminiError],
  ] as const) {
    it(`${vendor}: a 502 upstream_invalid_response when answered, counted as a 502; a 500 internal_error before`, () => {
      const thrown = new TypeError("Cannot read properties of null (reading 'type')");
      const read = map('p', thrown, signal, true);
      assert.deepEqual([read.status, read.code, read.retryable, read.upstreamStatus], [502, 'upstream_invalid_response', true, 502]);
      assert.match(read.message, /^Provider p sent an answer that could not be read \(Cannot read properties of null/);
      const refused = map('p', thrown, signal);
      assert.deepEqual([refused.status, refused.code], [500, 'internal_error']);
      // A transport failure stays one, answered or not.
      const reset = map('p', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), signal, true);
      assert.notEqual(reset.code, 'upstream_invalid_response');
    });
  }
});

describe('reading usage from an OpenAI-format answer without parsing it whole', () => {
  const usageOf = (text: string) => usageFromBody(Buffer.from(text));
  it('finds the last usage object, nested details included', () => {
    assert.deepEqual(
      usageOf(
        '{"object":"chat.completion","choices":[{"message":{"content":"say \\"usage\\": {x}"}}],"usage":{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}',
      ),
      {
        prompt_tokens: 3,
        completion_tokens: 2,
        prompt_tokens_details: { cached_tokens: 1 },
      },
    );
  });
  it('is undefined when there is none, or it is null or broken', () => {
    assert.equal(usageOf('{"object":"chat.completion","choices":[]}'), undefined);
    assert.equal(usageOf('{"object":"chat.completion","usage":null}'), undefined);
    assert.equal(usageOf('{"object":"chat.completion","usage":{"prompt_tokens":'), undefined);
  });
});

// Found by an independent check: OpenAI says `context_length_exceeded` for a prompt over the context
// window, and clients act on it (Codex compacts its conversation); the vendors' own 400s said nothing.
describe('a vendor`s context-window error is context_length_exceeded, as OpenAI reports it', () => {
  const signal = new AbortController().signal;
  const anthropic = (message: string) =>
    fromAnthropicError(
      'ant',
      new AnthropicError(400, { type: 'error', error: { type: 'invalid_request_error', message } }, undefined, new Headers()),
      signal,
    );
  const gemini = (message: string) =>
    fromGeminiError(
      'gem',
      new GeminiError({ status: 400, message: JSON.stringify({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } }) }),
      signal,
    );
  // [vendor, the vendor's message, the code the client gets]
  const table: [typeof anthropic, string, string | null][] = [
    [anthropic, 'prompt is too long: 208310 tokens > 200000 maximum', 'context_length_exceeded'],
    [
      anthropic,
      'input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, decrease input length or `max_tokens` and try again',
      'context_length_exceeded',
    ],
    [gemini, 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).', 'context_length_exceeded'],
    [gemini, 'The input token count (81881) exceeds the maximum number of tokens allowed (65536).', 'context_length_exceeded'],
    // The output limit, not the prompt: no code, as before.
    [anthropic, 'max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5', null],
    [gemini, 'Please use a valid role: user, model.', null],
  ];
  for (const [vendor, message, code] of table) {
    it(`${vendor === anthropic ? 'Anthropic' : 'Gemini'}: "${message.slice(0, 40)}…" -> 400 invalid_request_error, code ${code}`, () => {
      const err = vendor(message);
      assert.deepEqual([err.status, err.type, err.code, err.message], [400, 'invalid_request_error', code, message]);
    });
  }
});

// Found by an independent check: Gemini answers a bad, revoked or deleted API key with a 400 INVALID_ARGUMENT
// whose ErrorInfo reason is API_KEY_INVALID; mapped by status alone, the client got a 400 blaming its own
// request, and the router neither fell back nor cooled the deployment down.
describe("Gemini's refusals of the gateway's credential, named by ErrorInfo reason", () => {
  const signal = new AbortController().signal;
  const refusal = (httpStatus: number, status: string, reason: string, domain = 'googleapis.com') =>
    fromGeminiError(
      'gem',
      new GeminiError({
        status: httpStatus,
        message: JSON.stringify({
          error: {
            code: httpStatus,
            message: 'API key not valid. Please pass a valid API key.',
            status,
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason,
                domain,
                metadata: { service: 'generativelanguage.googleapis.com' },
              },
              { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid.' },
            ],
          },
        }),
      }),
      signal,
    );
  // [HTTP status, Google status, reason, code the client gets, upstream status the router judges]
  const table: [number, string, string, string, number][] = [
    [400, 'INVALID_ARGUMENT', 'API_KEY_INVALID', 'upstream_auth_failed', 401],
    [401, 'UNAUTHENTICATED', 'ACCESS_TOKEN_EXPIRED', 'upstream_auth_failed', 401],
    [403, 'PERMISSION_DENIED', 'API_KEY_SERVICE_BLOCKED', 'upstream_permission_denied', 403],
    [403, 'PERMISSION_DENIED', 'API_KEY_IP_ADDRESS_BLOCKED', 'upstream_permission_denied', 403],
    [400, 'INVALID_ARGUMENT', 'API_KEY_HTTP_REFERRER_BLOCKED', 'upstream_permission_denied', 403],
    [403, 'PERMISSION_DENIED', 'SERVICE_DISABLED', 'upstream_permission_denied', 403],
    [400, 'FAILED_PRECONDITION', 'BILLING_DISABLED', 'upstream_permission_denied', 403],
  ];
  for (const [httpStatus, status, reason, code, outcome] of table) {
    it(`${httpStatus} ${status} with ${reason} -> 502 ${code}, judged as an upstream ${outcome}`, () => {
      const err = refusal(httpStatus, status, reason);
      assert.deepEqual([err.status, err.type, err.code, err.retryable, err.upstreamStatus], [502, 'upstream_error', code, false, outcome]);
      assert.match(err.message, /Provider gem .*check the key/);
    });
  }

  it('a reason of another domain, or one about the request, leaves the 400 to the client', () => {
    for (const err of [
      refusal(400, 'INVALID_ARGUMENT', 'API_KEY_INVALID', 'example.com'),
      refusal(400, 'INVALID_ARGUMENT', 'RATE_LIMIT_EXCEEDED'),
    ])
      assert.deepEqual([err.status, err.type, err.code], [400, 'invalid_request_error', null]);
  });
});

// Found by an independent check: read by their status (a 403, a 400 FAILED_PRECONDITION, a 402), these errors cooled
// the deployment down for every tenant, whose requests were then refused with the words of one client's request.
describe('upstream errors about the request alone are the client`s, judged as a 400: no cool-down for everyone', () => {
  const gemini = (httpStatus: number, status: string, message: string) =>
    fromGeminiError(
      'gem',
      new GeminiError({ status: httpStatus, message: JSON.stringify({ error: { code: httpStatus, message, status } }) }),
      new AbortController().signal,
    );
  const cases: [string, () => Promise<GatewayError>][] = [
    [
      'Gemini 400 FAILED_PRECONDITION: a file not ready',
      async () => gemini(400, 'FAILED_PRECONDITION', 'The File abc123 is not in an ACTIVE state and usage is not allowed.'),
    ],
    [
      'OpenRouter 402: this request costs more than the credit left, smaller ones do not',
      () =>
        fromUpstreamResponse(
          'or',
          response(
            402,
            JSON.stringify({
              error: {
                message:
                  'This request requires more credits, or fewer max_tokens. You requested up to 65536 tokens, but can only afford 3919.',
                code: 402,
              },
            }),
          ),
        ),
    ],
  ];
  for (const [what, read] of cases) {
    it(what, async () => {
      const err = await read();
      assert.deepEqual([err.status, err.type, err.upstreamStatus], [400, 'invalid_request_error', 400]);
      assert.match(err.message, /abc123|fewer max_tokens/, "the upstream's words, for the client that sent the request");
    });
  }

  it('the same statuses without those words stay the deployment`s trouble', async () => {
    const denied = gemini(403, 'PERMISSION_DENIED', 'Permission denied on resource project x.');
    assert.deepEqual([denied.status, denied.code, denied.upstreamStatus], [502, 'upstream_permission_denied', 403]);
    const credit = await fromUpstreamResponse(
      'or',
      response(402, JSON.stringify({ error: { message: 'Insufficient credits', code: 402 } })),
    );
    assert.deepEqual([credit.status, credit.code, credit.upstreamStatus], [502, 'upstream_quota_exceeded', 402]);
  });
});

// Found by independent checks (recheck27, route28): a file the request named that the upstream does not find (or that
// is another account's) was read by its status, a 404 or 403: the deployment's model id unknown or its key refused. Any
// key could cool a deployment down for every tenant with a made-up file id, and was told "does not know this model".
describe('a file the request named, not found upstream: the client`s 404 in the upstream`s words, judged as a 400', () => {
  const anthropic = (status: number, type: string, message: string) =>
    fromAnthropicError(
      'ant',
      AnthropicError.generate(status, { type: 'error', error: { type, message } }, undefined, new Headers()),
      new AbortController().signal,
    );
  const gemini = (httpStatus: number, status: string, message: string) =>
    fromGeminiError(
      'gem',
      new GeminiError({ status: httpStatus, message: JSON.stringify({ error: { code: httpStatus, message, status } }) }),
      new AbortController().signal,
    );
  const openai = (status: number, message: string) =>
    fromUpstreamResponse(
      'oa',
      response(status, JSON.stringify({ error: { message, type: 'invalid_request_error', param: 'id', code: null } })),
    );
  const cases: [string, () => Promise<GatewayError> | GatewayError][] = [
    ['Anthropic 404 not_found_error', () => anthropic(404, 'not_found_error', 'File not found: file_011CNha8iCJcU1wXNR6q4V8w')],
    // As Anthropic's Files API guide shows the body.
    ['Anthropic 404 invalid_request_error', () => anthropic(404, 'invalid_request_error', 'File not found: file_011CNha8iCJcU1wXNR6q4V8w')],
    ['OpenAI 404', () => openai(404, 'No such File object: file-FZ3UiIdfjYFzAsooLLUtu01F')],
    [
      'Gemini 403 PERMISSION_DENIED',
      () => gemini(403, 'PERMISSION_DENIED', 'You do not have permission to access the File abc123 or it may not exist.'),
    ],
    ['Gemini 404 NOT_FOUND', () => gemini(404, 'NOT_FOUND', 'File files/abc123 not found.')],
  ];
  for (const [what, read] of cases) {
    it(what, async () => {
      const err = await read();
      assert.deepEqual(
        [err.status, err.type, err.code, err.retryable, err.upstreamStatus],
        [404, 'invalid_request_error', 'file_not_found', false, 400],
      );
      assert.match(
        err.message,
        /^(File not found: file_|No such File object: file-|You do not have permission to access the File abc123|File files\/abc123)/,
      );
    });
  }

  it('the same statuses without those words stay the deployment`s trouble (an unknown model id, a refused key)', async () => {
    const errors = [
      anthropic(404, 'not_found_error', 'model: claude-nonexistent'),
      await openai(404, 'The model `gpt-nonexistent` does not exist or you do not have access to it.'),
      gemini(404, 'NOT_FOUND', 'models/gemini-nonexistent is not found for API version v1beta, or is not supported for generateContent.'),
      gemini(404, 'NOT_FOUND', 'Requested entity was not found.'),
      gemini(403, 'PERMISSION_DENIED', 'Permission denied on resource project x.'),
    ];
    assert.deepEqual(
      errors.map((err) => [err.status, err.code, err.upstreamStatus]),
      [
        [502, 'upstream_not_found', 404],
        [502, 'upstream_not_found', 404],
        [502, 'upstream_not_found', 404],
        [502, 'upstream_not_found', 404],
        [502, 'upstream_permission_denied', 403],
      ],
    );
  });

  it('a rate limit or a failure whose body names a file is still read by its status', async () => {
    const limited = await openai(429, 'No such File object: file-abc');
    const failed = anthropic(500, 'api_error', 'File not found: file_abc');
    assert.deepEqual([limited.status, limited.upstreamStatus, failed.status, failed.upstreamStatus], [429, 429, 502, 500]);
  });
});
