import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import type { ResponseItemList } from 'openai/resources/responses/input-items';
import type { ResponseFunctionToolCall, ResponseInputItem, ResponseItem } from 'openai/resources/responses/responses';
import { responseIdOfItem } from '../../apps/gateway/src/responses/ids';
import { apiError, PNG_DATA_URL } from '../support/chat';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const KEYS = { TEAM_A_KEY: 'team-a-secret-key-value', TEAM_B_KEY: 'team-b-secret-key-value' };
const PDF_DATA = 'data:application/pdf;base64,JVBERi0xLjQK';

const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

const on = (model: string, name: string) => ({
  name,
  deployments: [{ provider: 'oai', model, capabilities: ['tools', 'json', 'vision', 'reasoning'] }],
});

/** Every item of a response's input items list, asc, through the SDK's auto-paging iterator. */
async function listAll(client: OpenAI, id: string, params: OpenAI.Responses.InputItemListParams = {}): Promise<ResponseItem[]> {
  const items: ResponseItem[] = [];
  for await (const item of client.responses.inputItems.list(id, params)) items.push(item);
  return items;
}

const idOf = (item: ResponseItem) => (item as { id: string }).id;

/** The list object as sent: the SDK's page keeps `data` and `has_more` only. */
const rawList = (client: OpenAI, id: string, query: object = {}) => client.get<ResponseItemList>(`/responses/${id}/input_items`, { query });

/**
 * GET /v1/responses/{id}/input_items through the official client, for a store (`env` picks it:
 * REDIS_URL or none), with two gateway keys.
 */
function inputItemsContract(store: string, env: () => Record<string, string>, probe?: () => Redis) {
  describe(`GET /v1/responses/{id}/input_items, ${store} store`, () => {
    const upstream = new FakeOpenAI();
    let gateway: GatewayProcess;
    let a: OpenAI;
    let b: OpenAI;

    before(async () => {
      const baseUrl = await upstream.start();
      const config = configWith({
        providers: [{ name: 'oai', type: 'openai', baseUrl, apiKeyEnv: 'FAKE_OPENAI_KEY' }],
        models: [on('ok', 'oai-echo'), on('tool', 'oai-tool')],
        security: {
          keys: [
            { id: 'team-a', keyEnv: 'TEAM_A_KEY' },
            { id: 'team-b', keyEnv: 'TEAM_B_KEY' },
          ],
        },
      });
      gateway = await GatewayProcess.start(config, {
        env: { FAKE_OPENAI_KEY: 'sk-fake-openai', GATEWAY_MASTER_KEY: 'test-master-key-0123456789', ...KEYS, ...env() },
      });
      a = gateway.client({ apiKey: KEYS.TEAM_A_KEY });
      b = gateway.client({ apiKey: KEYS.TEAM_B_KEY });
    });

    after(async () => {
      await gateway?.stop();
      await upstream.stop();
    });

    it('lists the input as item objects with ids: messages with input_text, input_image and input_file parts', async () => {
      const res = await a.responses.create({
        model: 'oai-echo',
        instructions: 'Be brief.',
        input: [
          { role: 'developer', content: 'Answer in English.' },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'What is in these?' },
              { type: 'input_image', image_url: PNG_DATA_URL, detail: 'auto' },
              { type: 'input_file', filename: 'a.pdf', file_data: PDF_DATA },
            ],
          },
        ],
      });
      const page = await rawList(a, res.id, { order: 'asc' });
      assert.equal(page.object, 'list');
      assert.equal(page.has_more, false);
      assert.deepEqual(
        page.data.map(({ id, ...item }) => item),
        [
          { type: 'message', role: 'developer', status: 'completed', content: [{ type: 'input_text', text: 'Answer in English.' }] },
          {
            type: 'message',
            role: 'user',
            status: 'completed',
            content: [
              { type: 'input_text', text: 'What is in these?' },
              { type: 'input_image', image_url: PNG_DATA_URL, detail: 'auto' },
              { type: 'input_file', filename: 'a.pdf', file_data: PDF_DATA },
            ],
          },
        ],
        'the instructions are not an input item',
      );
      const ids = page.data.map(idOf);
      assert.ok(ids.every((id) => /^msg_\w+$/.test(id)) && new Set(ids).size === 2, ids.join());
      assert.equal(page.first_id, ids[0]);
      assert.equal(page.last_id, ids[1]);
      // Stable: the ids are stored, not made up per read.
      assert.deepEqual((await a.responses.inputItems.list(res.id, { order: 'asc' })).data.map(idOf), ids);
    });

    it('a chain through previous_response_id (a streamed tool turn included) lists the whole context, newest first by default', async () => {
      const first = await a.responses.create({ model: 'oai-tool', input: 'Weather in Paris?', tools: [WEATHER] });
      const call = first.output.find((o): o is ResponseFunctionToolCall => o.type === 'function_call')!;
      const second = await a.responses
        .stream({
          model: 'oai-tool',
          previous_response_id: first.id,
          input: [{ type: 'function_call_output', call_id: call.call_id, output: 'sunny-42' }],
          tools: [WEATHER],
        })
        .finalResponse();
      const asc = await listAll(a, second.id, { order: 'asc' });
      assert.deepEqual(
        asc.map((i) => i.type),
        ['message', 'function_call', 'function_call_output'],
      );
      assert.deepEqual((asc[0] as { content: unknown }).content, [{ type: 'input_text', text: 'Weather in Paris?' }]);
      assert.deepEqual({ ...asc[1], id: undefined }, { ...call, id: undefined }, "the earlier response's output, as it was answered");
      assert.deepEqual(
        asc.map((item) => responseIdOfItem(idOf(item))),
        [second.id, second.id, second.id],
        'ids naming the listed response',
      );
      assert.deepEqual(
        { ...asc[2], id: undefined },
        { id: undefined, type: 'function_call_output', call_id: call.call_id, output: 'sunny-42' },
      );
      assert.match(idOf(asc[2]), /^fco_/);
      assert.deepEqual((await a.responses.inputItems.list(second.id)).data.map(idOf), asc.map(idOf).reverse(), 'desc by default');
      assert.equal((await listAll(a, first.id)).length, 1, 'the earlier response lists its own context only');
    });

    it('replayed items keep their ids and shapes: reasoning, assistant text, function calls; repeated ids are made unique', async () => {
      const input: ResponseInputItem[] = [
        { role: 'user', content: 'question' },
        { type: 'reasoning', id: 'rs_client_1', summary: [{ type: 'summary_text', text: 'I thought.' }] },
        { role: 'assistant', content: 'answer' },
        { type: 'function_call', id: 'fc_client_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'rain' }] },
        { type: 'message', id: 'msg_client_1', role: 'user', content: [{ type: 'input_text', text: 'and then?' }] } as ResponseInputItem,
        { type: 'message', id: 'msg_client_1', role: 'user', content: 'once more' } as ResponseInputItem,
      ];
      const res = await a.responses.create({ model: 'oai-echo', input });
      const items = await listAll(a, res.id, { order: 'asc' });
      assert.deepEqual(items[1], { type: 'reasoning', id: 'rs_client_1', summary: [{ type: 'summary_text', text: 'I thought.' }] });
      assert.deepEqual((items[2] as { role: string; content: unknown }).content, [
        { type: 'output_text', text: 'answer', annotations: [] },
      ]);
      assert.equal((items[2] as { role: string }).role, 'assistant');
      assert.equal(idOf(items[3]), 'fc_client_1');
      assert.deepEqual((items[4] as { output: unknown }).output, [{ type: 'input_text', text: 'rain' }]);
      assert.equal(idOf(items[5]), 'msg_client_1');
      assert.notEqual(idOf(items[6]), 'msg_client_1', 'a repeated id would make paging by `after` loop');
      assert.equal(new Set(items.map(idOf)).size, input.length);
    });

    // Found by an independent check: only output item ids resolved, so ids this list shows were a 404.
    it('an item_reference to an input item the list shows resolves to it, for the same key; a client-given id stays a 404', async () => {
      const output = [{ type: 'input_text' as const, text: 'rain' }];
      const first = await a.responses.create({
        model: 'oai-echo',
        input: [
          { role: 'user', content: 'first question' },
          { type: 'message', id: 'msg_client_2', role: 'user', content: 'own id' } as ResponseInputItem,
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
          { type: 'function_call_output', call_id: 'call_1', output },
        ],
      });
      const [question, own, , toolOutput] = await listAll(a, first.id, { order: 'asc' });
      const refs: ResponseInputItem[] = [idOf(question), idOf(toolOutput)].map((id) => ({ type: 'item_reference', id }));
      const next = await a.responses.create({ model: 'oai-echo', input: [...refs, { role: 'user', content: 'and again' }] });
      assert.deepEqual(upstream.last().body.messages, [
        { role: 'user', content: [{ type: 'text', text: 'first question' }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'rain' },
        { role: 'user', content: 'and again' },
      ]);
      const listed = await listAll(a, next.id, { order: 'asc' });
      const withoutId = (item: ResponseItem) => ({ ...item, id: undefined });
      assert.deepEqual(listed.slice(0, 2).map(withoutId), [question, toolOutput].map(withoutId), 'listed as the items they name');

      const foreign = await apiError(b.responses.create({ model: 'oai-echo', input: [refs[0]] }));
      assert.equal(foreign.status, 404, 'another gateway key');
      const clientGiven = await apiError(a.responses.create({ model: 'oai-echo', input: [{ type: 'item_reference', id: idOf(own) }] }));
      assert.equal(clientGiven.status, 404);
      assert.equal(clientGiven.message, `404 Item with id 'msg_client_2' not found.`);
      assert.equal(clientGiven.param, 'input[0].id');
    });

    // Found by an independent check: the list showed the continued response's ids, which were a 404
    // once that response was deleted (or expired: the same lookup).
    it('every id a chained response lists resolves while it is stored, the response it continued deleted', async () => {
      const first = await a.responses.create({ model: 'oai-echo', input: 'first question' });
      const second = await a.responses.create({ model: 'oai-echo', previous_response_id: first.id, input: 'second' });
      await a.responses.delete(first.id);
      const listed = await listAll(a, second.id, { order: 'asc' });
      const refs: ResponseInputItem[] = listed.map((item) => ({ type: 'item_reference', id: idOf(item) }));
      await a.responses.create({ model: 'oai-echo', input: refs });
      assert.deepEqual(upstream.last().body.messages, [
        { role: 'user', content: [{ type: 'text', text: 'first question' }] },
        { role: 'assistant', content: 'fake answer to: first question' },
        { role: 'user', content: [{ type: 'text', text: 'second' }] },
      ]);
    });

    it('pages by limit and after, both orders, as the auto-paging iterator walks them', async () => {
      const input = Array.from({ length: 25 }, (_, i) => ({ role: 'user' as const, content: `line ${i}` }));
      const res = await a.responses.create({ model: 'oai-echo', input });
      const asc = await listAll(a, res.id, { order: 'asc', limit: 4 });
      assert.deepEqual(
        asc.map((i) => (i as { content: { text: string }[] }).content[0].text),
        input.map((m) => m.content),
      );
      const desc = await listAll(a, res.id, { limit: 7 });
      assert.deepEqual(desc.map(idOf), asc.map(idOf).reverse());

      const raw = await rawList(a, res.id);
      assert.equal(raw.data.length, 20, 'limit defaults to 20');
      assert.equal(raw.has_more, true);
      assert.equal(raw.first_id, idOf(asc[24]));
      assert.equal(raw.last_id, idOf(asc[5]));
      const first = await a.responses.inputItems.list(res.id);
      const next = await first.getNextPage();
      assert.deepEqual(next.data.map(idOf), asc.slice(0, 5).map(idOf).reverse());
      assert.equal(next.has_more, false);
      assert.equal(next.hasNextPage(), false);
      const paged = await a.responses.inputItems.list(res.id, { order: 'asc', after: idOf(asc[22]), limit: 100 });
      assert.deepEqual(paged.data.map(idOf), asc.slice(23).map(idOf));
    });

    it('errors in OpenAI shape: unknown or foreign id 404, bad limit, order or after 400 naming it', async () => {
      const res = await a.responses.create({ model: 'oai-echo', input: 'mine' });
      for (const id of ['resp_0123456789abcdef0123456789abcdef0123', 'not-an-id']) {
        const err = await apiError(a.responses.inputItems.list(id));
        assert.equal(err.status, 404);
        assert.equal(err.message, `404 Response with id '${id}' not found.`);
      }
      assert.equal((await apiError(b.responses.inputItems.list(res.id))).status, 404, 'another gateway key');
      const bad: [OpenAI.Responses.InputItemListParams, string][] = [
        [{ limit: 0 }, 'limit'],
        [{ limit: 101 }, 'limit'],
        [{ limit: 2.5 }, 'limit'],
        [{ order: 'sideways' as 'asc' }, 'order'],
        [{ after: 'msg_nope' }, 'after'],
      ];
      for (const [params, param] of bad) {
        const err = await apiError(a.responses.inputItems.list(res.id, params));
        assert.equal(err.status, 400, JSON.stringify(params));
        assert.equal(err.param, param);
        assert.equal(err.type, 'invalid_request_error');
      }
      // README: a query parameter the gateway does not know is ignored, not refused.
      const extra = await a.responses.inputItems.list(res.id, {}, { query: { foo: '1' } });
      assert.equal(extra.data.length, 1);
    });

    it('DELETE /v1/responses/{id} takes its input items with it; store: false keeps none', async () => {
      const res = await a.responses.create({ model: 'oai-echo', input: 'to be deleted' });
      assert.equal((await listAll(a, res.id)).length, 1);
      await a.responses.delete(res.id);
      assert.equal((await apiError(a.responses.inputItems.list(res.id))).status, 404);
      if (probe) assert.deepEqual(await probe().keys(`*${res.id}*`), [], 'nothing of it is left in Redis');
      const unstored = await a.responses.create({ model: 'oai-echo', input: 'not kept', store: false });
      assert.equal((await apiError(a.responses.inputItems.list(unstored.id))).status, 404);
    });
  });
}

inputItemsContract('in-process', () => ({}));

describe('with Redis', { skip: !SERVER && 'TEST_REDIS_SERVER unset (run npm test)' }, () => {
  let redis: RedisServer;
  let probe: Redis;
  before(async () => {
    redis = await RedisServer.start(SERVER!);
    probe = new Redis(redis.url);
  });
  after(async () => {
    probe?.disconnect();
    await redis?.stop();
  });
  inputItemsContract(
    'Redis',
    () => ({ REDIS_URL: redis.url }),
    () => probe,
  );
});
