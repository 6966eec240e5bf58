import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dataFramedAsJson } from '../../libs/providers/src/openai/data-framing';

/**
 * The pass-through's check of each event's data (libs/providers/src/openai/data-framing.ts) against a model
 * written on strings, the way an OpenAI client reads the stream: events split on blank lines, each event's
 * `data` lines joined with LF (one space after the colon dropped, a line `data` alone an empty one), and
 * the data, without JSON whitespace around it, `[DONE]` or `{` … `}` with a key's quote after the opening brace and a
 * value's last byte before the closing one (unless a line ends there). Events without data dispatch nothing.
 */
function modelFramed(text: string): boolean {
  return text.split(/\r?\n\r?\n/).every((event) => {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line === 'data' || line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (!data.length) return true;
    const value = data.join('\n').replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (value === '[DONE]') return true;
    if (!(value.startsWith('{') && value.endsWith('}') && value.length >= 2)) return false;
    // Inside the braces, on the same line: a key's quote after the opening one, a value's end before the closing one.
    const inside = value.slice(1, -1).replace(/^[ \t]+|[ \t]+$/g, '');
    return inside === '' || (/^["\n]/.test(inside) && /["}\]0-9el\n]$/.test(inside));
  });
}

/** Data values as upstreams (and the proxies in front of them) send them: chunks, JSON cut short, pages and words. */
const dataValue = fc.oneof(
  fc.constantFrom(
    '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"}}]}',
    '{"choices":[]}',
    '{}',
    '[DONE]',
    ' [DONE] ',
    '{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hel',
    '<html><body><h1>502 Bad Gateway</h1></body></html>',
    'upstream connect error or disconnect/reset before headers',
    'oops',
    '',
    ' ',
    'null',
    '[]',
    '{',
    '}',
    '{"a":1} ',
    ' {"a":1}',
    '{"a":1}\t',
    '[DONE]x',
    '{not json {"a":1}}',
    '{"a":1,}',
    '{"a":tru}',
    '{ "a": null }',
    '{"a":[1,2]}',
    '{"a":-1e5}',
  ),
  fc.string({ unit: fc.constantFrom('{', '}', '[', ']', 'D', 'O', 'N', 'E', '"', ' ', '\t', 'a', ':') }),
  fc.json(),
);

/** An SSE line: data (with or without its space), another field, a comment. */
const line = fc.oneof(
  { weight: 6, arbitrary: dataValue.map((value) => `data: ${value}`) },
  { weight: 2, arbitrary: dataValue.map((value) => `data:${value}`) },
  { weight: 1, arbitrary: fc.constant('data') },
  { weight: 1, arbitrary: fc.constantFrom('event: message', 'event: error', 'id: 7', 'retry: 1000', ': ping', ':', 'dat: x') },
);
/** An event: its lines, each ended by LF or CRLF, then the blank line. */
const event = fc
  .tuple(fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n')), { minLength: 1, maxLength: 4 }), fc.constantFrom('\n', '\r\n'))
  .map(([lines, blank]) => lines.map(([text, end]) => text + end).join('') + blank);

describe('the pass-through`s check that each event`s data is framed as a JSON object', () => {
  it('agrees with a client`s reading of the events, whatever their lines and line ends (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), fc.boolean(), (events, cut) => {
        // `cut`: the bytes after the last blank line (an event the stream ended without finishing) are checked too.
        const text = cut ? events.join('').replace(/\r?\n$/, '') : events.join('');
        assert.equal(dataFramedAsJson(Buffer.from(text)), modelFramed(text), JSON.stringify(text));
      }),
      { numRuns: 2_000 },
    );
  });

  it('passes the bench`s stream of chunks and [DONE]; fails a proxy`s page, a chunk cut short, a bare word and text in braces after it', () => {
    const chunk = 'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
    assert.equal(dataFramedAsJson(Buffer.from(chunk + chunk + 'data: [DONE]\n\n')), true);
    assert.equal(dataFramedAsJson(Buffer.from(': keep-alive\n\n' + chunk)), true);
    for (const bad of ['<html><body>502</body></html>', '{"id":"chatcmpl-1","choices":[{"ind', 'oops', '', "{not json {'model':'m'}}"])
      assert.equal(dataFramedAsJson(Buffer.from(`${chunk}data: ${bad}\n\n${chunk}`)), false, bad);
  });
});
