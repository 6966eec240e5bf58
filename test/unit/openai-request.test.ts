import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ProviderConfig } from '../../libs/config/src/gateway-config';
import { chatDialect, toUpstreamChat } from '../../libs/providers/src/openai/request';
import type { ChatCompletionCreateParams } from '../../libs/providers/src/wire';

const dialect = chatDialect(
  Object.assign(new ProviderConfig(), { name: 'oai', type: 'openai', baseUrl: 'http://x.test', streamOptions: true }),
);
const upstream = (request: Partial<ChatCompletionCreateParams>) =>
  JSON.parse(toUpstreamChat({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...request }, 'gpt', dialect)) as Record<
    string,
    any
  >;

// Claude Code's metadata.user_id, as the real CLI sends it (150 characters).
const CLAUDE_CODE_USER = JSON.stringify({
  device_id: 'a'.repeat(64),
  account_uuid: '',
  session_id: '0b6f1c52-8d1e-4c3a-9f7e-2d5b8a6c4e10',
});

describe('chat request -> OpenAI-format upstream: identifiers OpenAI bounds', () => {
  it('a user or safety_identifier over 64 characters goes as its SHA-256 hex: the same for the same input, distinct otherwise', () => {
    assert.ok(CLAUDE_CODE_USER.length > 64);
    const sent = upstream({ user: CLAUDE_CODE_USER, safety_identifier: CLAUDE_CODE_USER });
    const digest = createHash('sha256').update(CLAUDE_CODE_USER).digest('hex');
    assert.equal(sent.user, digest);
    assert.equal(sent.safety_identifier, digest);
    assert.equal(sent.user.length, 64);
    // Another session of the same device differs only after the 64th character: a prefix would merge them.
    const other = CLAUDE_CODE_USER.replace('0b6f', 'ffff');
    assert.notEqual(upstream({ user: other }).user, sent.user);
    assert.equal(upstream({ user: CLAUDE_CODE_USER }).user, sent.user);
  });

  it('one of 64 characters or fewer goes as it is', () => {
    const user = 'u'.repeat(64);
    assert.deepEqual([upstream({ user }).user, upstream({ safety_identifier: 'alice' }).safety_identifier], [user, 'alice']);
  });

  it('tool-call ids over 40 characters go as one short digest, the same in the call and its result; short ones as they are', () => {
    const long = `chatcmpl-tool-${'9'.repeat(32)}`;
    const sent = upstream({
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: long, type: 'function', function: { name: 'a', arguments: '{}' } },
            { id: 'call_1', type: 'function', function: { name: 'b', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: long, content: 'A' },
        { role: 'tool', tool_call_id: 'call_1', content: 'B' },
      ],
    });
    const [first, second] = sent.messages[1].tool_calls.map((call: { id: string }) => call.id);
    assert.ok(first.length <= 40 && first !== long, first);
    assert.equal(second, 'call_1');
    assert.deepEqual(
      sent.messages.slice(2).map((m: { tool_call_id: string }) => m.tool_call_id),
      [first, 'call_1'],
    );
  });
});
