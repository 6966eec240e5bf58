import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import { toMessagesRequest } from '../../libs/providers/src/anthropic/request';
import { parseExactIntegers } from '../../libs/providers/src/exact-integers';
import { toGenerateRequest } from '../../libs/providers/src/gemini/request';
import type { ChatCompletionCreateParams } from '../../libs/providers/src/wire';
import { withExactToolInputs } from '../../apps/gateway/src/messages/exact-tool-inputs';

const ID = '1234567890123456789';
const ARGS = `{"user_id":${ID},"ids":[-${ID},9007199254740993,2.5,12]}`;
const deployment = Object.assign(new DeploymentConfig(), { provider: 'p', model: 'm' });

/**
 * Found by an independent check: integers beyond 2^53 in tool arguments came out rounded (1234567890123456789 as
 * ...800) wherever the gateway parsed and wrote them again.
 */
describe('integers beyond 2^53 in tool arguments', () => {
  it('parseExactIntegers writes them back as they were; other numbers, and texts without a long digit run, as JSON.parse', () => {
    assert.equal(JSON.stringify(parseExactIntegers(ARGS)), ARGS);
    assert.deepEqual(parseExactIntegers('{"a":[1,2.5,-3e2,9007199254740991]}'), { a: [1, 2.5, -300, 9007199254740991] });
    assert.deepEqual(parseExactIntegers(`[1e300,${ID}.5]`), [1e300, Number(`${ID}.5`)]);
    assert.throws(() => parseExactIntegers(`{"a":${ID}`), SyntaxError);
  });

  const history: ChatCompletionCreateParams = {
    model: 'm',
    messages: [
      { role: 'user', content: 'ban' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'ban', arguments: ARGS } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'done' },
    ],
  };

  it('chat history`s arguments, as the input Anthropic gets and the args Gemini gets, keep them', () => {
    assert.ok(JSON.stringify(toMessagesRequest(history, 'claude', deployment).messages).includes(`"input":${ARGS}`));
    assert.ok(JSON.stringify(toGenerateRequest(history, 'gemini', deployment).contents).includes(`"args":${ARGS}`));
  });

  it('a Messages body`s tool_use inputs are taken from an exact parse; the rest of the body is left as parsed', () => {
    const text = `{"max_tokens":9007199254740993,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"ban","input":${ARGS}}]}]}`;
    const body = withExactToolInputs(JSON.parse(text), text) as { max_tokens: unknown; messages: { content: { input: unknown }[] }[] };
    assert.equal(JSON.stringify(body.messages[0].content[0].input), ARGS);
    assert.equal(body.max_tokens, 9007199254740992);
    const plain = { messages: [{ role: 'user', content: 'hi' }] };
    assert.equal(withExactToolInputs(plain, `{"messages":[{"role":"user","content":"${ID}"}]}`), plain);
  });
});
