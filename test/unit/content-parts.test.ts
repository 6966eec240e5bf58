import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseChunkEvent } from '../../libs/providers/src/translation/errors';
import { passThroughStream } from '../../libs/providers/src/openai/stream';
import { withTextContent } from '../../libs/providers/src/translation/chunk-shape';
import { toMessage } from '../../apps/gateway/src/messages/response';

/**
 * Mistral's reasoning models (Magistral) stream `delta.content` as a list of `thinking` and `text` parts.
 * The session's chunk type checks refused it as "of the wrong type": a chat stream whose first chunk held
 * such a list failed (it was carried as it came before), and the Messages and Responses codecs ended it.
 */
describe('a delta whose content is a list of parts (Mistral reasoning models)', () => {
  const chunk = {
    id: 'c',
    choices: [
      {
        index: 0,
        delta: {
          role: 'assistant',
          content: [
            {
              type: 'thinking',
              thinking: [
                { type: 'text', text: 'Let me ' },
                { type: 'text', text: 'think.' },
              ],
            },
            { type: 'text', text: 'The answer' },
            { type: 'text', text: ' is 4.' },
          ],
        },
      },
    ],
  };

  it('is read by the codecs as its text and, as reasoning, its thinking', () => {
    const read = parseChunkEvent<{ choices: { delta: { content: unknown; reasoning_content?: unknown } }[] }>('p', JSON.stringify(chunk));
    assert.equal(read.choices[0]!.delta.content, 'The answer is 4.');
    assert.equal(read.choices[0]!.delta.reasoning_content, 'Let me think.');
  });

  it('thinking alone leaves no content; a thinking part given as a string is read too', () => {
    const thinking = { choices: [{ index: 0, delta: { content: [{ type: 'thinking', thinking: 'Hmm.' }] } }] };
    const read = parseChunkEvent<{ choices: { delta: { content: unknown; reasoning_content?: unknown } }[] }>(
      'p',
      JSON.stringify(thinking),
    );
    assert.equal(read.choices[0]!.delta.content, null);
    assert.equal(read.choices[0]!.delta.reasoning_content, 'Hmm.');
  });

  it('a list holding something other than parts is still of the wrong type', () => {
    const odd = { choices: [{ index: 0, delta: { content: ['text'] } }] };
    assert.throws(() => parseChunkEvent('p', JSON.stringify(odd)), /`choices\[0\]\.delta\.content` is of the wrong type/);
  });

  it('opens a chat completions stream, carried as it came', async () => {
    const body = `data: ${JSON.stringify(chunk)}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`;
    const out: Buffer[] = [];
    for await (const piece of passThroughStream('p', { body: Readable.from([Buffer.from(body)]) }, new AbortController().signal, false))
      out.push(piece as Buffer);
    assert.equal(Buffer.concat(out).toString(), body);
  });

  // Found by a check: streamed parts were read, a non-streamed answer's went out as a raw array in the text block.
  it('in a non-streamed answer, read as its text and thinking (Messages: a thinking block, then the text)', () => {
    const message = { role: 'assistant', content: chunk.choices[0]!.delta.content, refusal: null };
    assert.deepEqual(withTextContent(message), { ...message, content: 'The answer is 4.', reasoning_content: 'Let me think.' });
    assert.equal(withTextContent({ role: 'assistant', content: 'plain' }).content, 'plain');
    const completion = {
      id: 'c',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message }],
    };
    const blocks = toMessage(completion as never, true).content;
    assert.deepEqual(
      blocks.map((b) => [b.type, (b as { text?: string; thinking?: string }).text ?? (b as { thinking?: string }).thinking]),
      [
        ['thinking', 'Let me think.'],
        ['text', 'The answer is 4.'],
      ],
    );
  });
});
