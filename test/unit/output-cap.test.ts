import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOverflow } from '../../libs/providers/src/context-overflow';
import { inAnthropicOutputWords, inOpenAiOutputWords, readOutputCap } from '../../libs/providers/src/output-cap';

/** Claude Code 2.1.332's test for an output-cap refusal: it lowers max_tokens to the figure and asks again only on a match. */
const CLAUDE_CODE = /^max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens for .+$/;

// Found by an independent check: Claude Code sends max_tokens 32000 (64000 for Opus names); an OpenAI or
// Gemini deployment with a smaller cap refused it in its own words, which reached Claude Code as they were,
// so it never lowered max_tokens and every request of its session failed. The vendors' texts here are as
// they were reported (GitHub issues and the servers' sources, cited beside each).
describe('output cap: the vendors` texts read, and worded as OpenAI and Anthropic word them', () => {
  // [the vendor's text, the figures read, in OpenAI's words (for max_tokens), in Anthropic's words (for `claude-x`)]
  const table: [string, object, string, string][] = [
    [
      // OpenAI, gpt-4o (enoch3712/ExtractThinker#346)
      'max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000.',
      { asked: 32000, cap: 16384 },
      'max_tokens is too large: 32000. This model supports at most 16384 completion tokens, whereas you provided 32000.',
      'max_tokens: 32000 > 16384, which is the maximum allowed number of output tokens for claude-x',
    ],
    [
      // OpenAI, for max_completion_tokens (the gateway sent it; the client sent max_tokens, which goes first)
      'max_completion_tokens is too large: 200000. This model supports at most 100000 completion tokens, whereas you provided 200000.',
      { asked: 200000, cap: 100000 },
      'max_tokens is too large: 200000. This model supports at most 100000 completion tokens, whereas you provided 200000. max_completion_tokens is too large: 200000. This model supports at most 100000 completion tokens, whereas you provided 200000.',
      'max_tokens: 200000 > 100000, which is the maximum allowed number of output tokens for claude-x',
    ],
    [
      // SGLang's OpenAI-compatible server (serving_chat.py: no space after the first full stop)
      'max_completion_tokens is too large: 999999.This model supports at most 262144 completion tokens.',
      { asked: 999999, cap: 262144 },
      'max_tokens is too large: 999999. This model supports at most 262144 completion tokens, whereas you provided 999999. max_completion_tokens is too large: 999999.This model supports at most 262144 completion tokens.',
      'max_tokens: 999999 > 262144, which is the maximum allowed number of output tokens for claude-x',
    ],
    [
      // OpenAI's range check (code integer_above_max_value)
      "Invalid 'max_tokens': integer above maximum value. Expected a value <= 16384, but got 50000 instead.",
      { asked: 50000, cap: 16384 },
      "Invalid 'max_tokens': integer above maximum value. Expected a value <= 16384, but got 50000 instead.",
      'max_tokens: 50000 > 16384, which is the maximum allowed number of output tokens for claude-x',
    ],
    [
      // Gemini (stackblitz-labs/bolt.diy#955): the range's end is exclusive
      'Unable to submit request because it has a maxOutputTokens value of 655360 but the supported range is from 1 (inclusive) to 8193 (exclusive). Update the value and try again.',
      { asked: 655360, cap: 8192 },
      'max_tokens is too large: 655360. This model supports at most 8192 completion tokens, whereas you provided 655360. Unable to submit request because it has a maxOutputTokens value of 655360 but the supported range is from 1 (inclusive) to 8193 (exclusive). Update the value and try again.',
      'max_tokens: 655360 > 8192, which is the maximum allowed number of output tokens for claude-x',
    ],
    [
      // Anthropic (SWE-agent/SWE-agent#1041): kept as it is on the Messages API, its own model named
      'max_tokens: 128000 > 64000, which is the maximum allowed number of output tokens for claude-3-7-sonnet-20250219',
      { asked: 128000, cap: 64000 },
      'max_tokens is too large: 128000. This model supports at most 64000 completion tokens, whereas you provided 128000. max_tokens: 128000 > 64000, which is the maximum allowed number of output tokens for claude-3-7-sonnet-20250219',
      'max_tokens: 128000 > 64000, which is the maximum allowed number of output tokens for claude-3-7-sonnet-20250219',
    ],
  ];
  for (const [text, figures, openai, anthropic] of table) {
    it(`"${text.slice(0, 50)}…"`, () => {
      assert.deepEqual(readOutputCap(text), figures);
      assert.equal(readOverflow(text), undefined, 'no context overflow');
      assert.equal(inOpenAiOutputWords(text, readOutputCap(text)!, 'max_tokens'), openai);
      const words = inAnthropicOutputWords(text, readOutputCap(text)!, 'claude-x');
      assert.equal(words, anthropic);
      assert.equal(CLAUDE_CODE.exec(words)?.[1], String((figures as { cap: number }).cap), 'Claude Code reads the cap');
    });
  }

  it('the parameter as the client`s API names it (the Responses API`s max_output_tokens)', () => {
    const gemini =
      'Unable to submit request because it has a maxOutputTokens value of 9000 but the supported range is from 1 (inclusive) to 8193 (exclusive).';
    assert.match(
      inOpenAiOutputWords(gemini, readOutputCap(gemini)!, 'max_output_tokens'),
      /^max_output_tokens is too large: 9000\. This model supports at most 8192 completion tokens, whereas you provided 9000\. Unable/,
    );
  });

  // Found: an OpenAI-format upstream's words name the parameter the gateway sent it (max_tokens to an
  // openai-compatible one), which a client that sent max_completion_tokens (or max_output_tokens) read as they were.
  it('OpenAI`s words are kept only when they name the client`s parameter; else the client`s go before them', () => {
    const sent = 'max_tokens is too large: 4000. This model supports at most 1000 completion tokens, whereas you provided 4000.';
    const invalid = "Invalid 'max_tokens': integer above maximum value. Expected a value <= 1000, but got 4000 instead.";
    for (const text of [sent, invalid]) {
      assert.equal(inOpenAiOutputWords(text, readOutputCap(text)!, 'max_tokens'), text);
      for (const param of ['max_completion_tokens', 'max_output_tokens'])
        assert.equal(
          inOpenAiOutputWords(text, readOutputCap(text)!, param),
          `${param} is too large: 4000. This model supports at most 1000 completion tokens, whereas you provided 4000. ${text}`,
        );
    }
  });

  it('other refusals are no output cap: a prompt over the window, a max_tokens below the minimum, another field', () => {
    for (const text of [
      "This model's maximum context length is 128000 tokens. However, you requested 160000 tokens (128000 in the messages, 32000 in the completion).",
      'input length and `max_tokens` exceed context limit: 197779 + 21333 > 200000, decrease input length or `max_tokens` and try again',
      "'max_tokens' or 'max_completion_tokens' is too large: 64000. This model's maximum context length is 64001 tokens and your request has 24235 input tokens (64000 > 64001 - 24235).",
      "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
      "Invalid 'n': integer above maximum value. Expected a value <= 128, but got 200 instead.",
      'max_tokens: Field required',
    ])
      assert.equal(readOutputCap(text), undefined, text);
  });
});
