import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, expectedAnswer } from '../../bench/soak/outcome';

const PROMPT = 'Unique question 7: tell me one fact.';
const chunk = (content: string) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const words = expectedAnswer(PROMPT).split(/(?<= )/);
const fullStream = `${words.map(chunk).join('')}data: [DONE]\n\n`;
const sse = (body: string, cache = 'miss') =>
  classify({ status: 200, contentType: 'text/event-stream; charset=utf-8', body, cache }, true, PROMPT);
const json = (status: number, body: unknown, cache = 'miss') =>
  classify({ status, contentType: 'application/json', body: typeof body === 'string' ? body : JSON.stringify(body), cache }, false, PROMPT);
const completion = (content: string) => ({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] });
const openAiError = { error: { message: 'Rate limit reached', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } };

describe('soak outcome classification (bench/soak/outcome.ts)', () => {
  it('a complete answer with the expected text is a success, with its cache result', () => {
    assert.deepEqual(json(200, completion(expectedAnswer(PROMPT)), 'hit-exact'), { kind: 'ok', cache: 'hit-exact' });
    assert.deepEqual(sse(fullStream), { kind: 'ok', cache: 'miss' });
  });

  it('an answer to another prompt is lost (wrong_content), semantic cache hits included', () => {
    assert.deepEqual(json(200, completion(expectedAnswer('something else'))), { kind: 'lost', why: 'wrong_content' });
    assert.deepEqual(json(200, completion(expectedAnswer(PROMPT)), 'hit-semantic; similarity=1'), { kind: 'ok', cache: 'hit-semantic' });
    assert.deepEqual(json(200, completion(expectedAnswer('Unique question 8: tell me one fact.')), 'hit-semantic; similarity=0.97'), {
      kind: 'lost',
      why: 'wrong_content',
    });
  });

  it('an OpenAI-shaped HTTP error is clean; any other error body is lost', () => {
    assert.deepEqual(json(429, openAiError), { kind: 'error', code: 'rate_limit_exceeded', status: 429, inStream: false });
    // Fastify's own 503 during close: not OpenAI's shape.
    assert.deepEqual(json(503, { error: 'Service Unavailable', message: 'Service Unavailable', statusCode: 503 }), {
      kind: 'lost',
      why: 'malformed_error',
    });
    assert.deepEqual(json(502, '<html>Bad Gateway</html>'), { kind: 'lost', why: 'malformed_error' });
    const { param: _param, ...withoutParam } = openAiError.error;
    assert.deepEqual(json(500, { error: withoutParam }), { kind: 'lost', why: 'malformed_error' });
  });

  it('a stream that ends with an OpenAI error event is a clean error', () => {
    const cut = `${chunk('fake ')}data: ${JSON.stringify({ error: { message: 'cut', type: 'upstream_error', param: null, code: 'upstream_stream_truncated' } })}\n\n`;
    assert.deepEqual(sse(cut), { kind: 'error', code: 'upstream_stream_truncated', status: 200, inStream: true });
  });

  it('a stream without [DONE] or an error event, or cut inside an event, is truncated', () => {
    assert.deepEqual(sse(words.map(chunk).join('')), { kind: 'lost', why: 'truncated' });
    assert.deepEqual(sse(fullStream.slice(0, -3)), { kind: 'lost', why: 'truncated' });
    assert.deepEqual(sse(''), { kind: 'lost', why: 'truncated' });
  });

  it('malformed SSE is lost: bad JSON, a line that is not data, events after [DONE] or after an error', () => {
    assert.deepEqual(sse(`data: {"object":"chat.compl\n\n${fullStream}`), { kind: 'lost', why: 'malformed_sse' });
    assert.deepEqual(sse(`event: ping\n\n${fullStream}`), { kind: 'lost', why: 'malformed_sse' });
    assert.deepEqual(sse(`${fullStream}${chunk('more')}`), { kind: 'lost', why: 'malformed_sse' });
    assert.deepEqual(sse(`data: ${JSON.stringify(openAiError)}\n\n${fullStream}`), { kind: 'lost', why: 'malformed_sse' });
    assert.deepEqual(classify({ status: 200, contentType: 'application/json', body: fullStream }, true, PROMPT), {
      kind: 'lost',
      why: 'malformed_sse',
    });
  });
});
