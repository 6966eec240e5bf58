import type { ResponseInputItem } from 'openai/resources/responses/responses';

/** An assistant message of two parts, a text and a refusal, as the gateway's output lists it. */
const TEXT_AND_REFUSAL: ResponseInputItem = {
  type: 'message',
  role: 'assistant',
  id: 'msg_1',
  status: 'completed',
  content: [
    { type: 'output_text', text: 'Second sentence.', annotations: [] },
    { type: 'refusal', refusal: 'Not that.' },
  ],
};

/**
 * A conversation with assistant messages in a row, as clients send them back: each of
 * ASSISTANT_TEXTS must reach the vendor as a text of its own (an independent check found them
 * run together, "First sentence.Second sentence.").
 */
export const ASSISTANT_MESSAGES_IN_A_ROW: ResponseInputItem[] = [
  { role: 'user', content: 'Q' },
  { role: 'assistant', content: 'First sentence.' },
  TEXT_AND_REFUSAL,
];

export const ASSISTANT_TEXTS = ['First sentence.', 'Second sentence.', 'Not that.'];
