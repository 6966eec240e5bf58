import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamTranscript } from '../../apps/gateway/src/http/stream-transcript';

/** The frames written, as one text. */
const frames = (events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';

const fed = (text: string, cut: (bytes: Buffer) => Buffer[]) => {
  const transcript = new StreamTranscript();
  for (const part of cut(Buffer.from(text))) transcript.add(part);
  return transcript.text;
};

/** Each byte on its own: every line and every multi-byte character split. */
const byteByByte = (bytes: Buffer) => [...bytes].map((b) => Buffer.from([b]));

describe('StreamTranscript (LOG_BODIES: a streamed answer as its text)', () => {
  const protocols: [string, unknown[]][] = [
    [
      'chat completions',
      [
        { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
        { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Grüß ' } }] },
        { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'dich 👋' } }] },
        { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1 } },
      ],
    ],
    [
      'messages',
      [
        { type: 'message_start', message: { id: 'm', content: [] } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Grüß ' } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'dich 👋' } },
        { type: 'message_stop' },
      ],
    ],
    [
      'responses',
      [
        { type: 'response.created', response: { id: 'r' } },
        { type: 'response.output_text.delta', delta: 'Grüß ' },
        { type: 'response.function_call_arguments.delta', delta: '{"a"' },
        { type: 'response.output_text.delta', delta: 'dich 👋' },
        { type: 'response.output_text.done', text: 'Grüß dich 👋' },
      ],
    ],
  ];
  it('keeps at most its bound, saying it cut the rest', () => {
    const transcript = new StreamTranscript(8);
    transcript.add(frames(protocols[0][1]));
    assert.equal(transcript.text, 'Grüß dic[truncated at 8 characters]');
  });

  for (const [protocol, events] of protocols) {
    it(`assembles the text deltas of ${protocol} frames, whole or split at any byte`, () => {
      assert.equal(
        fed(frames(events), (b) => [b]),
        'Grüß dich 👋',
      );
      assert.equal(fed(frames(events), byteByByte), 'Grüß dich 👋');
    });
  }
});
