import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientErrorCode, inAnthropicWords, inOpenAiWords, readOverflow } from '../../libs/providers/src/context-overflow';

// Clients recognise a prompt over the context window by its words (LangChain's ChatAnthropic and Claude
// Code: "prompt is too long"; LangChain's ChatOpenAI: "maximum context length"): each ingress words
// one as its vendor does, from the figures the vendor's text gave.
describe('context overflow: the vendors` texts read, and worded as OpenAI and Anthropic word them', () => {
  const OPENAI_OVER = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.";
  // [the vendor's text, the figures read, in OpenAI's words, in Anthropic's words]
  const table: [string, object, string, string][] = [
    [
      'prompt is too long: 208310 tokens > 200000 maximum',
      { prompt: 208310, window: 200000 },
      "This model's maximum context length is 200000 tokens. However, your messages resulted in 208310 tokens. Please reduce the length of the messages. prompt is too long: 208310 tokens > 200000 maximum",
      'prompt is too long: 208310 tokens > 200000 maximum',
    ],
    [
      'input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, decrease input length or `max_tokens` and try again',
      { prompt: 197779, completion: 21333, window: 200000 },
      "This model's maximum context length is 200000 tokens. However, you requested 219112 tokens (197779 in the messages, 21333 in the completion). Please reduce the length of the messages or completion. input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, decrease input length or `max_tokens` and try again",
      'input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, decrease input length or `max_tokens` and try again',
    ],
    [
      'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).',
      { prompt: 1200293, window: 1048576 },
      "This model's maximum context length is 1048576 tokens. However, your messages resulted in 1200293 tokens. Please reduce the length of the messages. The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
      'prompt is too long: 1200293 tokens > 1048576 maximum. The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).',
    ],
    [OPENAI_OVER, { prompt: 130000, window: 128000 }, OPENAI_OVER, `prompt is too long: 130000 tokens > 128000 maximum. ${OPENAI_OVER}`],
    [
      "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).",
      { prompt: 4000, completion: 1000, window: 4096 },
      "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).",
      "input length and `max_tokens` exceed context limit: 4000 + 1000 > 4096, decrease input length or `max_tokens` and try again. This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).",
    ],
    [
      // vLLM (claude-code-best/claude-code#272: Claude Code's 64000 on a 64k-token model)
      "'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235).",
      { prompt: 24235, completion: 64000, window: 64001 },
      "'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235).",
      "input length and `max_tokens` exceed context limit: 24235 + 64000 > 64001, decrease input length or `max_tokens` and try again. 'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235).",
    ],
  ];
  for (const [text, figures, openai, anthropic] of table) {
    it(`"${text.slice(0, 50)}…"`, () => {
      assert.deepEqual(readOverflow(text), figures);
      assert.deepEqual(clientErrorCode(null, text), { code: 'context_length_exceeded', overflow: figures });
      assert.equal(inOpenAiWords(text, figures), openai);
      assert.equal(inAnthropicWords(text, figures), anthropic);
    });
  }

  it('without figures: sentences that still say "maximum context length" and "prompt is too long"', () => {
    const text = 'Request too long for this server.';
    assert.deepEqual(clientErrorCode('context_length_exceeded', text), { code: 'context_length_exceeded', overflow: {} });
    assert.equal(inOpenAiWords(text, {}), "The request exceeds this model's maximum context length. Request too long for this server.");
    assert.equal(inAnthropicWords(text, {}), 'prompt is too long: Request too long for this server.');
  });

  it('other client errors keep their code and get no figures', () => {
    const output = 'max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5';
    assert.deepEqual(clientErrorCode(null, output), { code: null });
    assert.deepEqual(clientErrorCode('invalid_value', 'This model`s maximum context length is 128000 tokens.'), { code: 'invalid_value' });
  });
});
