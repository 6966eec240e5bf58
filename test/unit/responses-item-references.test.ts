import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '@gateway/providers';
import { resolveReferences } from '../../apps/gateway/src/responses/item-references';
import type { ResponsesRequest } from '../../apps/gateway/src/responses/request';
import type { StoredResponse } from '../../apps/gateway/src/responses/store';

const HEX = '0123456789abcdef0123456789abcdef0123';
const RESPONSE = `resp_${HEX}`;
const message = (id: string, text: string) => ({ id, type: 'message', role: 'user', content: [{ type: 'input_text', text }] });
const ref = (id: string) => ({ type: 'item_reference', id });
const input = (items: object[]) => items as ResponsesRequest['input'];

/** A stored response whose items count how often they are read, element by element. */
function storedWith(count: number): { stored: StoredResponse; reads: () => number } {
  let reads = 0;
  const items = Array.from({ length: count }, (_, i) => message(`msg_${HEX}_in${i}`, `item ${i}`));
  const counted = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
      return Reflect.get(target, key, receiver);
    },
  });
  const output = [{ ...message(`msg_${HEX}_0`, 'answer'), role: 'assistant' }];
  return { stored: { response: { id: RESPONSE, output } as never, messages: [], items: counted as never }, reads: () => reads };
}

describe('item_reference resolution', () => {
  it("finds each reference's item, output before input items, and keeps other items in place", async () => {
    const { stored } = storedWith(3);
    const resolved = (await resolveReferences(
      input([ref(`msg_${HEX}_in2`), { role: 'user', content: 'next' }, ref(`msg_${HEX}_0`), ref(`msg_${HEX}_in2`)]),
      async (id) => (id === RESPONSE ? stored : undefined),
    )) as { content: unknown }[];
    assert.deepEqual(
      resolved.map((item) => JSON.stringify(item.content)),
      [
        JSON.stringify([{ type: 'input_text', text: 'item 2' }]),
        JSON.stringify('next'),
        JSON.stringify([{ type: 'input_text', text: 'answer' }]),
        JSON.stringify([{ type: 'input_text', text: 'item 2' }]),
      ],
    );
  });

  it('answers 404 naming the reference that names no stored item', async () => {
    const { stored } = storedWith(3);
    const failed = await resolveReferences(input([ref(`msg_${HEX}_in1`), ref(`msg_${HEX}_in9`)]), async () => stored).catch(
      (err: unknown) => err,
    );
    assert.ok(failed instanceof GatewayError);
    assert.equal(failed.status, 404);
    assert.equal(failed.param, 'input[1].id');
    const unknown = await resolveReferences(input([ref(`msg_${HEX}_in1`)]), async () => undefined).catch((err: unknown) => err);
    assert.ok(unknown instanceof GatewayError && unknown.status === 404);
  });

  // Found by an independent check: 10,000 references into a response of ~30,000 items searched its
  // items once per reference and held the event loop for 6 s; any key can send that.
  it("reads a stored response's items once, however many references name them", async () => {
    const { stored, reads } = storedWith(20_000);
    let loads = 0;
    const references = Array.from({ length: 1_000 }, (_, i) => ref(`msg_${HEX}_in${19_999 - (i % 10)}`));
    const resolved = (await resolveReferences(input(references), async () => (loads++, stored))) as { id: string }[];
    assert.equal(resolved.length, 1_000);
    assert.equal(resolved[999].id, `msg_${HEX}_in19990`);
    assert.equal(loads, 1, 'the response is loaded once');
    assert.ok(reads() <= 20_000, `${reads()} reads of 20,000 items for 1,000 references`);
  });
});
