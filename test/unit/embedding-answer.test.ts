import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkedEmbeddingsAnswer } from '../../libs/providers/src/embedding-answer';
import { GatewayError } from '../../libs/providers/src/gateway-error';

const request = { model: 'm', input: ['a', 'b'] };
const check = (body: string, usage = { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 }) =>
  checkedEmbeddingsAnswer('p', { body: Buffer.from(body), usage }, request);
const text = async (body: string) => Buffer.from((await check(body)).body).toString('utf8');
const refused = (body: string) =>
  assert.rejects(check(body), (err: unknown) => err instanceof GatewayError && err.code === 'upstream_invalid_response');

// The OpenAI-format answer is read in its bytes (embedding-answer.ts, dataItems), not parsed whole:
// what JSON could put around or inside the items must not move where they are found.
describe('checkedEmbeddingsAnswer reads `data` from the bytes as JSON.parse would', () => {
  it('strings with brackets, quotes and escapes, a nested `data`, spaces and fields of any shape around the items', async () => {
    const body = `{ "object" : "list", "note": "\\"data\\": [ ]\\\\",
      "data" : [ {"extra": [[1, 2], {"a": "[{"}], "index": 1, "embedding": [3, 4]} ,
                 {"embedding": "AACAPwAAAEA=", "index": 0, "tag": "\\u005d\\""} ],
      "meta": {"data": [[1], {"x": "]"}]}, "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2} }`;
    const answer = JSON.parse(await text(body)) as { data: { index: number; embedding: unknown }[]; meta: unknown; note: string };
    assert.deepEqual(
      answer.data.map((item) => [item.index, item.embedding]),
      [
        [0, 'AACAPwAAAEA='],
        [1, [3, 4]],
      ],
    );
    assert.deepEqual(answer.meta, { data: [[1], { x: ']' }] });
    assert.equal(answer.note, '"data": [ ]\\');
  });

  it('an answer in order with usage goes on as its bytes came; one without usage gets the estimate', async () => {
    const body =
      '{"object":"list","data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[3,4]}],"model":"m","usage":{"prompt_tokens":2,"total_tokens":2}}';
    assert.equal(await text(body), body);
    const bare = '{"object":"list","data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[3,4]}],"model":"m"}';
    const result = await checkedEmbeddingsAnswer('p', { body: Buffer.from(bare) }, request);
    assert.deepEqual(JSON.parse(Buffer.from(result.body).toString('utf8')).usage, { prompt_tokens: 2, total_tokens: 2 });
  });

  it('refuses what is no answer to two inputs', async () => {
    await refused('{"object":"list","data":[{"embedding":[1,2]}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},{"embedding":[1,2]},{"embedding":[1,2]}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},{"embedding":[1]}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},{"embedding":[1,"2"]}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},{"embedding":"AAA*AAA="}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},7]}');
    await refused('{"object":"list","data":[{"index":1,"embedding":[1,2]},{"index":1,"embedding":[1,2]}]}');
    await refused('{"object":"list","data":[{"embedding":[1,2]},{"embedding":[1,2}]}');
    await refused('{"object":"list","meta":{"data":[{"embedding":[1,2]},{"embedding":[1,2]}]}}');
  });
});
